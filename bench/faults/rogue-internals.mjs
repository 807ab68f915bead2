// Rogue NATS publishers and direct worker calls against a local cluster with API tokens on
// (issue 16): `hessctl cluster up` (NATS users per role, cluster secret), one job run
// undisturbed, then the same job under a sustained attack from everything a neighbour on the
// network could try. Prints what was tried, what held, and the two jobs' times and numbers.
//   node bench/faults/rogue-internals.mjs [--seconds-between-attacks 0.05]
// Needs the build (npx tsc -b) and nats-server. Writes bench/results/faults-rogue-internals.json.
import * as grpc from '@grpc/grpc-js';
import { CoordinatorConnection } from '@hessian/client';
import { CHANNEL_OPTIONS, loadProtos, SUBJECTS } from '@hessian/wire';
import { connect } from 'nats';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = path.join(ROOT, 'packages/client/dist/src/cli.js');
const TOKEN = 'bench-rogue-token';
const pause = Number(process.argv[process.argv.indexOf('--seconds-between-attacks') + 1] || 0.05) * 1000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const SPEC = { model: 'zoo:tiny-mlp', data: 'synthetic:512', topK: null, trace: { probes: 400, chunk: 50, method: 'hutchinson' }, exactMax: 0, density: null, similarity: false, seed: 21 };

const dir = mkdtempSync(path.join(os.tmpdir(), 'hessian-rogue-'));
const env = { ...process.env, HESSIAN_API_TOKENS: TOKEN, HESSIAN_TOKEN: TOKEN, HESSIAN_SERVER: '' };
const hessctl = (...args) => execFileSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8' });

async function runJob(conn) {
  const t0 = performance.now();
  const job = await conn.submitAnalysis(SPEC);
  for (;;) {
    const j = await conn.getJob(job.id, { includeReport: true });
    if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(j.state)) return { id: job.id, state: j.state, error: j.error, seconds: (performance.now() - t0) / 1000, report: j.reportJson ? JSON.parse(j.reportJson) : null };
    await sleep(100);
  }
}

const traces = (r) => r?.scopes.map((s) => s.operators.map((o) => [s.name, o.operator, o.trace?.mean])).flat();

let rec;
const tried = { anonymousConnects: 0, anonymousRefused: 0, trainerCancels: 0, trainerHeartbeats: 0, workerCredCancels: 0, forgedAddressHeartbeats: 0, directWorkerCalls: 0, directWorkerRefused: 0 };
try {
  rec = JSON.parse(hessctl('cluster', 'up', '--workers', '2', '--dir', dir, '--port', '0', '--nats-port', '0', '--metrics-port', '-1', '--backend', 'cpu', '--format', 'json'));
  const auth = path.join(dir, 'auth');
  const pw = (role) => readFileSync(path.join(auth, `${role}.password`), 'utf8').trim();
  const conn = await CoordinatorConnection.connect(rec.server, { token: TOKEN });
  const workers = rec.processes.filter((p) => p.role === 'worker');

  const baseline = await runJob(conn);
  console.log(`undisturbed job: ${baseline.state} in ${baseline.seconds.toFixed(1)} s`);

  // The same job, attacked from start to end.
  let stop = false;
  const trainer = await connect({ servers: rec.natsUrl, user: 'trainer', pass: pw('trainer') });
  const stolen = await connect({ servers: rec.natsUrl, user: 'worker', pass: pw('worker') });
  trainer.closed().catch(() => undefined);
  stolen.closed().catch(() => undefined);
  const { worker } = loadProtos();
  const direct = workers.map((w) => new worker.hessian.v1.Worker(`127.0.0.1:${w.grpcPort}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS));
  const attack = (async () => {
    const hb = { backend: 'cpu', device: 'x', capacity: 64, running: 0, memory: 0, cached: [], draining: false, started: 1 };
    for (let i = 0; !stop; i++) {
      tried.anonymousConnects++;
      await connect({ servers: rec.natsUrl, timeout: 2000, maxReconnectAttempts: 0 }).then(
        (nc) => nc.close(),
        () => tried.anonymousRefused++,
      );
      const jobs = await conn.listJobs(5);
      for (const j of jobs) {
        trainer.publish(SUBJECTS.cancel(j.id), '');
        tried.trainerCancels++;
        stolen.publish(SUBJECTS.cancel(j.id), '');
        tried.workerCredCancels++;
      }
      trainer.publish(SUBJECTS.heartbeat, JSON.stringify({ ...hb, id: `rogue-${i}`, address: '127.0.0.1:1' }));
      tried.trainerHeartbeats++;
      stolen.publish(SUBJECTS.heartbeat, JSON.stringify({ ...hb, id: `forged-${i % 8}`, address: i % 2 ? '127.0.0.1:1' : `127.0.0.1:${workers[0].grpcPort}` }));
      tried.forgedAddressHeartbeats++;
      for (const c of direct) {
        tried.directWorkerCalls++;
        const e = await new Promise((res) => c.Prepare({ jobId: 'forged', spec: { model: 'zoo:tiny-mlp', data: 'synthetic:100000' } }, { deadline: Date.now() + 3000 }, res));
        if (e?.code === grpc.status.UNAUTHENTICATED) tried.directWorkerRefused++;
      }
      await sleep(pause);
    }
  })();
  const attacked = await runJob(conn);
  stop = true;
  await attack;
  const listed = (await conn.listWorkers()).map((w) => w.id).sort();
  console.log(`attacked job:    ${attacked.state} in ${attacked.seconds.toFixed(1)} s`);
  for (const c of direct) c.close();
  await trainer.close().catch(() => undefined);
  await stolen.close().catch(() => undefined);
  conn.close();

  const natsLog = readFileSync(path.join(dir, 'logs', 'nats.log'), 'utf8');
  const coordLog = readFileSync(path.join(dir, 'logs', 'coordinator.log'), 'utf8');
  const workerLogs = workers.map((w) => readFileSync(w.log, 'utf8')).join('\n');
  const count = (text, re) => (text.match(re) ?? []).length;
  const held = {
    sameTraces: JSON.stringify(traces(baseline.report)) === JSON.stringify(traces(attacked.report)),
    workersListed: listed,
    natsAuthenticationErrors: count(natsLog, /authentication error/g),
    natsPublishViolations: count(natsLog, /Publish Violation/g),
    heartbeatsRefusedByCoordinator: count(coordLog, /heartbeat refused/g),
    workerCallsRefusedAndLogged: count(workerLogs, /unauthenticated worker call refused/g),
    cancelsReachingWorkers: count(workerLogs, /"msg":"job cancelled"/g),
    redispatches: count(coordLog, /task failed/g),
  };
  const out = { when: new Date().toISOString(), host: `${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}`, spec: SPEC, baselineSeconds: baseline.seconds, attackedSeconds: attacked.seconds, baselineState: baseline.state, attackedState: attacked.state, tried, held };
  console.log('tried:', JSON.stringify(tried));
  console.log('held: ', JSON.stringify(held));
  mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(path.join(ROOT, 'bench/results/faults-rogue-internals.json'), JSON.stringify(out, null, 2) + '\n');
} finally {
  try {
    hessctl('cluster', 'down', '--dir', dir, '--grace', '3');
  } catch (e) {
    console.error(String(e));
  }
  rmSync(dir, { recursive: true, force: true });
}
