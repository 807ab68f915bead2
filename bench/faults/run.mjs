// Fault and abuse bench (not a test; slow; run on demand after the build):
//   nice -n 19 node bench/faults/run.mjs [--upload-mb 250] [--uploads 4] [--out FILE]
// Starts its own nats-server, coordinator and 2 workers (the coordinator tests' harness, cpu
// backend, HESSIAN_WORKER_MEMORY=2G), then tries what issue #16 reports, one case at a time,
// sampling every process's RSS (/proc/PID/status VmRSS, every 100 ms) and polling ListWorkers:
//   1. uploads: N concurrent uploads of M MB each (model.json + two weight shards, through the
//      client library, as hessctl upload-model sends them), plus one more past
//      HESSIAN_UPLOAD_BYTES_IN_FLIGHT; one upload cancelled half-way (nothing may stay stored);
//      nats-server paused (SIGSTOP) for 12 s in the middle of a 100 MB upload;
//   1b. 30 small jobs with distinct engines at once: "not prepared" requeues and engine builds;
//   2. huge specs at submit: synthetic:300000 on zoo:mlp, 1e7 trace probes, density steps
//      100000, top-k 500 on a small layer, synthetic:9007199254740991;
//   3. cancel of a long job: seconds from CancelJob to both workers idle;
//   4. rogue NATS publishers and direct worker calls on a cluster with API tokens on, NATS users
//      per role and a cluster secret (rogue-internals.mjs, run as a child);
//   5. direct worker calls: a forged task of 1e9 probes, garbage bytes, three RunTasks at once
//      on a capacity-1 worker.
// Prints a table (case, what was tried, what held, numbers) and writes JSON
// (default bench/results/faults.json) with the machine's load. `--only churn --churn-jobs N`: that case alone.
/* global fetch */
import * as grpc from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { normalizeSpec, plan } from '@hessian/analysis';
import { CoordinatorConnection } from '@hessian/client';
import { CHANNEL_OPTIONS, encodeModelBundle, loadProtos, modelDigest, specToProto } from '@hessian/wire';
import { connect } from 'nats';
import { Cluster } from '../../services/coordinator/dist/test/harness.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const argv = process.argv.slice(2);
const arg = (name, dflt) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : dflt);
const UPLOAD_MB = Number(arg('--upload-mb', '250'));
const UPLOADS = Number(arg('--uploads', '4'));
const OUT = arg('--out', path.join(ROOT, 'bench/results/faults.json'));
// --only churn [--churn-jobs N]: that case alone
const ONLY = arg('--only', '');
const CHURN_JOBS = Number(arg('--churn-jobs', '30'));
const MB = 1024 * 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- measurement ---------------------------------------------------------------------------
function rssOf(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Samples every process's RSS and the coordinator's live workers until stop(). */
function monitor(c) {
  const procs = { nats: c.nats.proc.pid, coordinator: c.coordinator.proc.pid, ...Object.fromEntries(c.workers.map((w) => [w.name, w.proc.pid])) };
  const start = Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, rssOf(pid)]));
  const peak = { ...start };
  let minWorkers = Infinity;
  let listFailures = 0;
  let stopped = false;
  const t = setInterval(() => {
    for (const [k, pid] of Object.entries(procs)) peak[k] = Math.max(peak[k], rssOf(pid));
  }, 100);
  const lister = (async () => {
    while (!stopped) {
      try {
        const r = await Promise.race([c.call('ListWorkers', {}), sleep(5000).then(() => null)]);
        if (r === null) listFailures++;
        else minWorkers = Math.min(minWorkers, r.workers.length);
      } catch {
        listFailures++;
      }
      await sleep(500);
    }
  })();
  return async () => {
    stopped = true;
    clearInterval(t);
    await lister;
    const end = Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, rssOf(pid)]));
    for (const k of Object.keys(end)) peak[k] = Math.max(peak[k], end[k]);
    const mb = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v / MB)]));
    return { rssStartMB: mb(start), rssPeakMB: mb(peak), rssEndMB: mb(end), minWorkersListed: minWorkers === Infinity ? null : minWorkers, listWorkersFailures: listFailures };
  };
}

const lostCount = (c) => c.coordinator.logs.filter((l) => l.msg === 'worker lost' || l.msg === 'worker dead').length;
const codeName = (e) => (e && typeof e.code === 'number' ? grpc.status[e.code] : e && e.code ? String(e.code) : 'ERROR');
const results = [];
function record(name, tried, held, numbers) {
  results.push({ case: name, tried, held, ...numbers });
  console.log(`\n[${name}] ${tried}\n  held: ${held}\n  ${JSON.stringify(numbers)}`);
}

// ---- cases -------------------------------------------------------------------------------------
/** A tfjs model folder of about `mb` MB: model.json naming two weight shards of random-ish bytes. */
function writeModel(dir, mb, seed) {
  const half = Math.floor((mb * MB) / 8) * 4;
  // One float32 tensor over both shards, so hessctl's size check (weights vs manifest) passes.
  const weights = [{ name: 'big/kernel', shape: [(2 * half) / 4], dtype: 'float32' }];
  const json = { modelTopology: { class_name: 'Sequential', config: { name: `big${seed}`, layers: [] } }, weightsManifest: [{ paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights }], format: 'layers-model' };
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
  for (const f of ['group1-shard1of2.bin', 'group1-shard2of2.bin']) {
    const b = Buffer.allocUnsafe(half);
    for (let i = 0; i < half; i += 4) b.writeUInt32LE((i * 2654435761 + seed * 97) >>> 0, i);
    writeFileSync(path.join(dir, f), b);
  }
}

async function uploads(c) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'hessian-faults-'));
  try {
    const dirs = [];
    for (let i = 0; i <= UPLOADS; i++) {
      const d = path.join(tmp, `m${i}`);
      (await import('node:fs')).mkdirSync(d);
      writeModel(d, UPLOAD_MB, i);
      dirs.push(d);
    }
    const addr = `127.0.0.1:${c.coordinator.grpcPort}`;
    const lost0 = lostCount(c);
    const stop = monitor(c);
    const t0 = performance.now();
    const conns = await Promise.all(dirs.map(() => CoordinatorConnection.connect(addr)));
    const one = async (i) => {
      const s = performance.now();
      try {
        const r = await conns[i].uploadModel(path.join(dirs[i], 'model.json'));
        return { ok: true, seconds: (performance.now() - s) / 1000, bytes: r.bytes };
      } catch (e) {
        return { ok: false, seconds: (performance.now() - s) / 1000, code: codeName(e), message: e.message };
      }
    };
    // N at once; the extra one starts a moment later, while they hold the in-flight budget.
    const main = Array.from({ length: UPLOADS }, (_, i) => one(i));
    await sleep(1500);
    const extra = await one(UPLOADS);
    const done = await Promise.all(main);
    const wall = (performance.now() - t0) / 1000;
    const m = await stop();
    conns.forEach((k) => k.close());
    const ok = done.filter((d) => d.ok).length;
    record(
      'uploads',
      `${UPLOADS} concurrent uploads of ${UPLOAD_MB} MB (model.json + 2 shards, hessctl's client), and one more during them`,
      `${ok}/${UPLOADS} stored; coordinator peak ${m.rssPeakMB.coordinator} MB (goal < 1024); workers listed min ${m.minWorkersListed} of ${c.workers.length}; worker-lost events ${lostCount(c) - lost0}; extra upload: ${extra.ok ? 'stored' : `${extra.code}: ${extra.message}`}`,
      { wallSeconds: +wall.toFixed(1), perUpload: done.map((d) => ({ ...d, seconds: +d.seconds.toFixed(1) })), extra, ...m, workerLostEvents: lostCount(c) - lost0 },
    );
    // A cancelled upload: nothing may stay stored.
    const nc = await connect({ servers: c.nats.url });
    const jsm = await nc.jetstreamManager();
    const chunkSubjects = async () => Object.keys((await jsm.streams.info('OBJ_hessian_models', { subjects_filter: '$O.hessian_models.C.>' })).state.subjects ?? {}).length;
    const objects = async () => (await (await nc.jetstream().views.os('hessian_models')).list()).length;
    const before = { chunks: await chunkSubjects(), objects: await objects() };
    // hessctl upload-model killed (SIGKILL) once the coordinator has taken some of its bytes.
    const hessctl = spawn(process.execPath, [path.join(ROOT, 'packages/client/dist/src/cli.js'), 'upload-model', '--server', addr, path.join(dirs[UPLOADS], 'model.json')], { stdio: 'ignore' });
    const metric = async () => Number(/^hessian_upload_bytes_in_flight (\d+)$/m.exec(await (await fetch(`http://127.0.0.1:${c.coordinator.metricsPort}/metrics`)).text())?.[1] ?? 0);
    while ((await chunkSubjects()) === before.chunks && hessctl.exitCode === null) await sleep(50);
    hessctl.kill('SIGKILL');
    const killedAt = performance.now();
    while ((await metric()) > 0) await sleep(50);
    const released = (performance.now() - killedAt) / 1000;
    await sleep(1000);
    const after = { chunks: await chunkSubjects(), objects: await objects() };
    await nc.close();
    record('upload-cancel', 'hessctl upload-model killed (SIGKILL) while its chunks stream into the object store', after.chunks === before.chunks && after.objects === before.objects ? `nothing stored: no new object, no chunk left; its bytes released ${released.toFixed(2)} s after the kill` : 'NOT HELD: something stayed', { before, after, secondsToRelease: +released.toFixed(2) });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** nats-server stopped (SIGSTOP) for 12 s in the middle of an upload: chunk acks time out (10 s) and only those chunks are sent again. */
async function natsPause(c) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'hessian-faults-'));
  try {
    writeModel(tmp, 100, 77);
    const files = ['group1-shard1of2.bin', 'group1-shard2of2.bin', 'model.json'].map((p) => ({ path: p, data: readFileSync(path.join(tmp, p)) }));
    const want = modelDigest(encodeModelBundle(files));
    const lost0 = lostCount(c);
    const stop = monitor(c);
    const conn = await CoordinatorConnection.connect(`127.0.0.1:${c.coordinator.grpcPort}`);
    const t0 = performance.now();
    const up = conn.uploadModel(path.join(tmp, 'model.json')).catch((e) => e);
    await sleep(3000);
    process.kill(c.nats.proc.pid, 'SIGSTOP');
    await sleep(12000);
    process.kill(c.nats.proc.pid, 'SIGCONT');
    const r = await up;
    const seconds = (performance.now() - t0) / 1000;
    conn.close();
    await sleep(2000);
    const m = await stop();
    const line = c.coordinator.logs.filter((l) => l.msg === 'model uploaded').pop();
    const ok = !(r instanceof Error) && r.digest === want;
    record(
      'upload-nats-pause',
      'nats-server paused (SIGSTOP) for 12 s during a 100 MB upload',
      ok ? `stored with the right digest; ${line?.resends ?? '?'} chunks of 128 KiB sent again (not the blob); worker-lost events ${lostCount(c) - lost0}` : `NOT HELD: ${r instanceof Error ? `${codeName(r)}: ${r.message}` : `digest ${r.digest}, want ${want}`}`,
      { seconds: +seconds.toFixed(1), resends: line?.resends ?? null, ...m, workerLostEvents: lostCount(c) - lost0 },
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Many small jobs submitted at once (distinct seeds, so distinct engines): "not prepared" requeues and engine builds. */
async function churn(c, n = 30) {
  const metric = async (port, re) => Number(re.exec(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())?.[1] ?? 0);
  const notPrepared = () => metric(c.coordinator.metricsPort, /^hessian_tasks_total\{result="not-prepared"\} (\d+)$/m);
  const builds = async () => (await Promise.all(c.workers.map((w) => metric(w.metricsPort, /^hessian_worker_prepares_total\{cache="miss"\} (\d+)$/m)))).reduce((a, b) => a + b, 0);
  const np0 = await notPrepared();
  const b0 = await builds();
  const stop = monitor(c);
  const t0 = performance.now();
  const jobs = await Promise.all(
    Array.from({ length: n }, (_, i) => c.submit({ spec: specToProto(normalizeSpec({ model: 'zoo:tiny-mlp', data: 'synthetic:32', topK: null, trace: { method: 'hutchinson', probes: 20, chunk: 10 }, density: null, similarity: false, seed: 1000 + i, exactMax: 0 })) })),
  );
  const states = [];
  for (const j of jobs) {
    for (;;) {
      const g = await c.getJob(j.id);
      if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(g.state)) {
        states.push(g.state);
        break;
      }
      await sleep(250);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const m = await stop();
  const np = (await notPrepared()) - np0;
  const b = (await builds()) - b0;
  record(
    'churn',
    `${n} jobs with distinct engines submitted at once on ${c.workers.length} workers (HESSIAN_MAX_ENGINES 4, HESSIAN_MAX_ACTIVE_JOBS 4)`,
    `${states.filter((s) => s === 'SUCCEEDED').length}/${n} succeeded; "not prepared" requeues ${np}; engine builds ${b} (${n} engines needed at least once)`,
    { seconds: +seconds.toFixed(1), notPreparedRequeues: np, engineBuilds: b, ...m },
  );
}

async function hugeSpecs(c) {
  const base = normalizeSpec({ model: 'zoo:tiny-mlp', data: 'synthetic:64', topK: null, trace: { method: 'hutchinson', probes: 10, chunk: 10 }, density: null, similarity: false, seed: 1, exactMax: 0 });
  const proto = specToProto(base);
  const cases = [
    ['synthetic:300000 on zoo:mlp', { ...specToProto(normalizeSpec({ ...base, model: 'zoo:mlp', data: 'synthetic:300000' })) }],
    ['synthetic:9007199254740991', { ...proto, data: 'synthetic:9007199254740991' }],
    ['1e7 trace probes on tiny-mlp', { ...proto, trace: { ...proto.trace, probes: 10_000_000, chunk: 10 } }],
    ['--density-steps 100000', { ...proto, skipDensity: false, density: { runs: 1, steps: 100000, preset: '', gridPoints: 0 } }],
    ['--top-k 500 on a small layer', { ...proto, skipTopK: false, topK: { k: 500, method: '', tol: 0, maxIter: 1000 } }],
  ];
  for (const [name, spec] of cases) {
    const stop = monitor(c);
    const t0 = performance.now();
    let outcome;
    try {
      const job = await c.submit({ spec });
      outcome = { accepted: true, id: job.id };
      // Accepted: let it run a while, then cancel and see memory come back.
      await sleep(15000);
      const j = await c.getJob(job.id);
      outcome.stateAfter15s = j.state;
      outcome.error = j.error;
      if (j.state === 'RUNNING' || j.state === 'QUEUED') await c.call('CancelJob', { id: job.id });
    } catch (e) {
      outcome = { accepted: false, code: codeName(e), message: e.details ?? e.message };
    }
    const submitSeconds = (performance.now() - t0) / 1000;
    const m = await stop();
    record(`spec: ${name}`, `SubmitAnalysis with ${name}`, outcome.accepted ? `accepted; ${outcome.stateAfter15s} after 15 s${outcome.error ? `: ${outcome.error}` : ''}` : `refused at submit, ${outcome.code}: ${outcome.message}`, { ...outcome, seconds: +submitSeconds.toFixed(2), ...m });
  }
}

async function cancelLong(c) {
  const spec = specToProto(normalizeSpec({ model: 'zoo:mlp', data: 'synthetic:4096', batchSize: 64, topK: { k: 3, maxIter: 100 }, trace: null, density: null, similarity: false, seed: 3, exactMax: 0 }));
  const stop = monitor(c);
  const job = await c.submit({ spec });
  const running = async () => Promise.all(c.workers.map(async (w) => Number(/^hessian_worker_running_tasks (\d+)$/m.exec(await (await fetch(`http://127.0.0.1:${w.metricsPort}/metrics`)).text())?.[1] ?? 0)));
  const until = Date.now() + 120000;
  while (!(await running()).some((n) => n > 0) && Date.now() < until) await sleep(100);
  await sleep(3000);
  const t0 = performance.now();
  await c.call('CancelJob', { id: job.id });
  while ((await running()).some((n) => n > 0)) await sleep(20);
  const idle = (performance.now() - t0) / 1000;
  const m = await stop();
  record('cancel-long', 'CancelJob of a top-k job on zoo:mlp (4096 examples, 64 per micro-batch) while its products run', `all workers idle ${idle.toFixed(2)} s after CancelJob`, { secondsToIdle: +idle.toFixed(2), ...m });
}

// Rogue NATS publishers need the cluster as `hessctl cluster up` runs it (NATS users per role, a
// cluster secret); this harness's cluster has neither, so the case runs rogue-internals.mjs, which
// starts that cluster itself, and records its summary.
async function rogueNats() {
  const script = path.join(HERE, 'rogue-internals.mjs');
  const code = await new Promise((res) => spawn(process.execPath, [script], { stdio: 'inherit' }).once('exit', res));
  const r = JSON.parse(readFileSync(path.join(ROOT, 'bench/results/faults-rogue-internals.json'), 'utf8'));
  const t = r.tried;
  const h = r.held;
  record(
    'rogue-nats',
    `on a cluster with API tokens on (rogue-internals.mjs): ${t.anonymousConnects} anonymous NATS connects, ${t.trainerCancels + t.workerCredCancels} cancels and ${t.trainerHeartbeats + t.forgedAddressHeartbeats} forged heartbeats with the wrong role's or a stolen worker credential, ${t.directWorkerCalls} direct worker calls without the cluster secret`,
    code === 0
      ? `job ${r.attackedState} with the same traces: ${h.sameTraces}; workers listed ${h.workersListed.join(', ')}; cancels reaching workers ${h.cancelsReachingWorkers}; redispatches ${h.redispatches}; anonymous connects refused ${t.anonymousRefused}; worker calls refused ${h.workerCallsRefusedAndLogged}`
      : `rogue-internals.mjs exited ${code}`,
    { attackedSeconds: +r.attackedSeconds.toFixed(1), baselineSeconds: +r.baselineSeconds.toFixed(1), ...h },
  );
}

async function directWorker(c) {
  const { worker } = loadProtos();
  const w = c.workers[0];
  const client = new worker.hessian.v1.Worker(`127.0.0.1:${w.grpcPort}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  const spec = normalizeSpec({ model: 'zoo:tiny-mlp', data: 'synthetic:256', topK: null, trace: { method: 'hutchinson', probes: 400, chunk: 100 }, density: null, similarity: false, seed: 6, exactMax: 0 });
  const prep = await new Promise((res, rej) => client.Prepare({ jobId: 'rogue', spec: specToProto(spec), shardIndex: 0, shardCount: 0 }, (e, r) => (e ? rej(e) : res(r))));
  const tasks = plan(spec, JSON.parse(prep.groupsJson)).tasks;
  const run = (task) =>
    new Promise((res) => {
      const t0 = performance.now();
      const call = client.RunTask({ jobId: 'rogue', key: prep.key, taskJson: JSON.stringify(task), convention: 'layer' });
      call.on('data', () => undefined);
      call.on('error', (e) => res({ code: codeName(e), message: e.details, seconds: (performance.now() - t0) / 1000 }));
      call.on('end', () => res({ code: 'OK', seconds: (performance.now() - t0) / 1000 }));
    });
  const forged = await run({ ...tasks[0], probes: 1e9, cost: 1e9 });
  const garbage = await new Promise((res) => {
    const raw = new grpc.Client(`127.0.0.1:${w.grpcPort}`, grpc.credentials.createInsecure());
    raw.makeUnaryRequest('/hessian.v1.Worker/Prepare', (b) => b, (b) => b, Buffer.from('ffffffffffffffff', 'hex'), (e) => (raw.close(), res({ code: codeName(e), message: e?.details })));
  });
  const three = await Promise.all(tasks.slice(0, 3).map(run));
  client.close();
  record(
    'direct-worker',
    'direct Worker calls without the coordinator: a forged task of 1e9 probes, garbage bytes to Prepare, 3 RunTasks at once on a capacity-1 worker',
    `forged task ${forged.code}; garbage ${garbage.code}; three at once: ${three.map((t) => t.code).join(', ')} (capacity ${three.some((t) => t.code === 'RESOURCE_EXHAUSTED') ? 'enforced' : 'not enforced'}; this harness runs workers without the cluster secret)`,
    { forged, garbage, threeAtOnce: three.map((t) => ({ ...t, seconds: +t.seconds.toFixed(2) })) },
  );
}

// ---- main --------------------------------------------------------------------------------------
const load = () => os.loadavg().map((x) => +x.toFixed(1));
const loadStart = load();
const t0 = Date.now();
const c = await Cluster.start({ workers: 2, workerEnv: { HESSIAN_WORKER_MEMORY: '2G' } });
try {
  if (ONLY === 'churn') await churn(c, CHURN_JOBS);
  else {
    await uploads(c);
    await natsPause(c);
    await churn(c, CHURN_JOBS);
    await hugeSpecs(c);
    await cancelLong(c);
    await rogueNats();
    await directWorker(c);
  }
} catch (e) {
  record('bench', 'the bench itself', `stopped: ${e.stack ?? e}`, {});
} finally {
  await c.stop();
}
const out = { bench: 'faults', date: new Date().toISOString(), machine: { cpus: os.cpus().length, memGB: Math.round(os.totalmem() / 1024 ** 3), loadavgStart: loadStart, loadavgEnd: load() }, seconds: Math.round((Date.now() - t0) / 1000), uploadMB: UPLOAD_MB, uploads: UPLOADS, results };
writeFileSync(OUT, JSON.stringify(out, null, 2) + '\n');
console.log('\ncase | held');
for (const r of results) console.log(`${r.case} | ${r.held}`);
console.log(`\nwritten ${OUT}`);
process.exit(0);
