/**
 * Authenticated internals (issue 16, item 1-2, 4): with API tokens on, nats-server runs with
 * one user per role (natsServerAuthConfig) and the worker requires the cluster secret. While a
 * token-authenticated job runs, an unauthenticated NATS client (publishing a cancel), a forged
 * heartbeat and cancel from a credential of the wrong role, heartbeats from a worker credential
 * naming an address that is not that worker, and direct worker calls without the secret each
 * change nothing and are logged (by nats-server, the coordinator, the worker); the job
 * completes with the embedded run's numbers. A coordinator with tokens refuses to start on an
 * open NATS or with open workers, with one sentence.
 */
import * as grpc from '@grpc/grpc-js';
import { normalizeSpec, runAnalysis, type PartialSpec, type Report } from '@hessian/analysis';
import { CHANNEL_OPTIONS, loadProtos, natsServerAuthConfig, newSecret, specToProto, SUBJECTS, type CoordinatorClient, type JobEvent__Output, type NatsRole, type WorkerClient } from '@hessian/wire';
import { connect } from 'nats';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { numbers } from './common.js';
import { COORDINATOR_MAIN, Nats, Service, WORKER_MAIN } from './harness.js';

const TOKEN = 'tok-internal-7d1e';
const SECRET = newSecret();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// 4 probe tasks (~0.1 s each on an idle core here, seconds under load); the attacks start once one is running.
const SPEC: PartialSpec = { model: 'zoo:tiny-mlp', data: 'synthetic:256', topK: null, trace: { probes: 80, chunk: 20, method: 'hutchinson' }, exactMax: 0, density: null, similarity: false, seed: 11 };

function withToken(): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${TOKEN}`);
  return md;
}

/** Runs a service that must refuse to start; resolves its exit code and what it wrote. */
function refusedStart(main: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [main], { env: { ...process.env, HESSIAN_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let out = '';
    p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), 20000);
    p.once('exit', (code) => (clearTimeout(t), resolve({ code, out })));
  });
}

describe('authenticated internals with API tokens on (real nats-server, real gRPC)', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hessian-internal-'));
  const pw: Record<NatsRole, string> = { coordinator: newSecret(), worker: newSecret(), trainer: newSecret() };
  let nats: Nats;
  let coord: Service;
  let worker: Service;
  let client: CoordinatorClient;
  const creds = (role: NatsRole) => ({ HESSIAN_NATS_USER: role, HESSIAN_NATS_PASSWORD: pw[role] });

  before(async () => {
    writeFileSync(path.join(dir, 'nats.conf'), natsServerAuthConfig((r) => pw[r]), { mode: 0o600 });
    nats = new Nats(0, ['-c', path.join(dir, 'nats.conf')]);
    await nats.start();
    coord = await Service.start('coordinator', COORDINATOR_MAIN, {
      HESSIAN_NATS_URL: nats.url,
      ...creds('coordinator'),
      HESSIAN_GRPC_PORT: '0',
      HESSIAN_METRICS_PORT: '-1',
      HESSIAN_HEARTBEAT_TIMEOUT_S: '3',
      HESSIAN_API_TOKENS: TOKEN,
      HESSIAN_CLUSTER_SECRET: SECRET,
    });
    worker = await Service.start('w1', WORKER_MAIN, {
      HESSIAN_NATS_URL: nats.url,
      ...creds('worker'),
      HESSIAN_GRPC_PORT: '0',
      HESSIAN_METRICS_PORT: '0',
      HESSIAN_WORKER_ID: 'w1',
      HESSIAN_BACKEND: 'cpu',
      HESSIAN_HEARTBEAT_S: '0.5',
      HESSIAN_CACHE_DIR: path.join(dir, 'cache'),
      HESSIAN_CLUSTER_SECRET: SECRET,
    });
    const { coordinator } = loadProtos();
    client = new coordinator.hessian.v1.Coordinator(`127.0.0.1:${coord.grpcPort}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS) as unknown as CoordinatorClient;
    for (let i = 0; !(await listWorkers()).includes('w1'); i++) {
      if (i > 200) throw new Error('the worker never registered');
      await sleep(100);
    }
  });

  after(async () => {
    client?.close();
    await worker?.kill('SIGKILL');
    await coord?.kill('SIGKILL');
    await nats?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const listWorkers = () =>
    new Promise<string[]>((resolve, reject) => client.ListWorkers({}, withToken(), (e, r) => (e ? reject(e) : resolve(r!.workers.map((w) => w.id)))));

  test('a job completes with the embedded numbers while NATS and the worker port are attacked; each attack is refused and logged', async () => {
    const embedded = runAnalysis(normalizeSpec(SPEC), { backend: 'cpu' });
    const job = await new Promise<{ id: string }>((resolve, reject) => client.SubmitAnalysis({ spec: specToProto(SPEC) }, withToken(), (e, r) => (e ? reject(e) : resolve(r!))));
    const events: JobEvent__Output[] = [];
    const watched = new Promise<void>((resolve, reject) => {
      const s = client.WatchJob({ id: job.id, afterSequence: 0 }, withToken());
      s.on('data', (e: JobEvent__Output) => events.push(e));
      s.on('error', reject);
      s.on('end', resolve);
    });
    // Attack while the worker is inside a task.
    while (!/^hessian_worker_running_tasks 1$/m.test(await (await fetch(`http://127.0.0.1:${worker.metricsPort}/metrics`)).text())) await sleep(20);

    // 1. An unauthenticated NATS client cannot even connect, so its cancel never goes out.
    await assert.rejects(connect({ servers: nats.url, timeout: 3000 }).then((nc) => (nc.publish(SUBJECTS.cancel(job.id), ''), nc.close())), /Authorization Violation/i);
    // 2. A credential of the wrong role (the trainer's) cannot cancel a job or forge a heartbeat for a rogue worker.
    const trainer = await connect({ servers: nats.url, user: 'trainer', pass: pw.trainer });
    trainer.publish(SUBJECTS.cancel(job.id), '');
    trainer.publish(SUBJECTS.heartbeat, JSON.stringify({ id: 'rogue', address: '127.0.0.1:1', backend: 'cpu', device: 'x', capacity: 8, running: 0, memory: 0, cached: [], draining: false, started: 1 }));
    await trainer.flush().catch(() => undefined);
    await trainer.close().catch(() => undefined);
    // 2b. Even a worker credential cannot register an address that is not that worker: nothing
    // answers at 127.0.0.1:1, and the real worker's address answers as w1, not as "impostor".
    const stolen = await connect({ servers: nats.url, user: 'worker', pass: pw.worker });
    const hb = { backend: 'cpu', device: 'x', capacity: 8, running: 0, memory: 0, cached: [], draining: false, started: 1 };
    stolen.publish(SUBJECTS.heartbeat, JSON.stringify({ ...hb, id: 'rogue-2', address: '127.0.0.1:1' }));
    stolen.publish(SUBJECTS.heartbeat, JSON.stringify({ ...hb, id: 'impostor', address: `127.0.0.1:${worker.grpcPort}` }));
    // ... nor evict the live worker by claiming its id from another address.
    stolen.publish(SUBJECTS.heartbeat, JSON.stringify({ ...hb, id: 'w1', address: '127.0.0.1:1' }));
    stolen.publish(SUBJECTS.cancel(job.id), '');
    await stolen.flush().catch(() => undefined);
    await stolen.close().catch(() => undefined);
    await coord.waitFor((l) => l.msg === 'heartbeat refused: its address does not answer as that worker' && l['workerId'] === 'rogue-2', 15000);
    const imp = await coord.waitFor((l) => l.msg === 'heartbeat refused: its address does not answer as that worker' && l['workerId'] === 'impostor', 15000);
    assert.match(String(imp['why']), /answers as worker "w1"/);
    await coord.waitFor((l) => l.msg === 'heartbeat refused: its address does not answer as that worker' && l['workerId'] === 'w1', 15000);
    // 3. Direct worker calls without the cluster secret (and with a wrong one): UNAUTHENTICATED before any work.
    const { worker: workerProto } = loadProtos();
    const direct = new workerProto.hessian.v1.Worker(`127.0.0.1:${worker.grpcPort}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS) as unknown as WorkerClient;
    try {
      for (const secret of [null, 'not-the-secret']) {
        const md = new grpc.Metadata();
        if (secret) md.set('x-hessian-cluster-secret', secret);
        const prep = await new Promise<grpc.ServiceError | null>((resolve) => direct.Prepare({ jobId: 'forged', spec: specToProto(normalizeSpec({ model: 'zoo:tiny-mlp', data: 'synthetic:8' })) }, md, (e) => resolve(e)));
        assert.equal(prep?.code, grpc.status.UNAUTHENTICATED, prep?.details);
        const run = await new Promise<grpc.ServiceError | null>((resolve) => {
          const call = direct.RunTask({ jobId: 'forged', key: 'eng-x', taskJson: JSON.stringify({ id: 'x', kind: 'hutchinson', probes: 1e9 }), convention: 'layer' }, md);
          call.on('data', () => undefined);
          call.on('error', resolve);
          call.on('end', () => resolve(null));
        });
        assert.equal(run?.code, grpc.status.UNAUTHENTICATED);
        assert.match(run!.details, /serves only its cluster/);
      }
    } finally {
      direct.close();
    }

    await watched;
    const last = events[events.length - 1];
    assert.equal(last.type, 'succeeded', last.message);
    assert.deepEqual(
      events.filter((e) => ['task-redispatched', 'task-retry', 'cancelled', 'failed'].includes(e.type)).map((e) => e.message),
      [],
    );
    const done = await new Promise<{ reportJson: string }>((resolve, reject) => client.GetJob({ id: job.id, includeReport: true }, withToken(), (e, r) => (e ? reject(e) : resolve(r!))));
    assert.deepEqual(numbers(JSON.parse(done.reportJson) as Report), numbers(await embedded));
    // Nothing changed: no rogue worker, no cancel reached the worker, no forged work ran.
    assert.deepEqual(await listWorkers(), ['w1']);
    assert.ok(!worker.logs.some((l) => l.msg === 'job cancelled'), 'a cancel reached the worker');
    assert.ok(!coord.logs.some((l) => l.msg === 'worker joined' && l['workerId'] !== 'w1'), 'only w1 joined');
    assert.ok(!coord.logs.some((l) => l.msg === 'worker lost'), 'a forged heartbeat evicted w1');
    assert.ok(!worker.logs.some((l) => l['jobId'] === 'forged' && l.msg !== 'unauthenticated worker call refused'));
    // ... and every attempt is in a log.
    assert.match(nats.log, /authentication error - User ""/);
    assert.match(nats.log, new RegExp(`Publish Violation - User "trainer", Subject "hessian\\.jobs\\.${job.id}\\.cancel"`));
    assert.match(nats.log, /Publish Violation - User "trainer", Subject "hessian\.workers\.heartbeat"/);
    assert.match(nats.log, new RegExp(`Publish Violation - User "worker", Subject "hessian\\.jobs\\.${job.id}\\.cancel"`));
    const refused = worker.logs.filter((l) => l.msg === 'unauthenticated worker call refused').map((l) => l['method']);
    assert.deepEqual(refused, ['Prepare', 'RunTask', 'Prepare', 'RunTask']);
  });

  test('a coordinator with tokens refuses to start on a NATS that accepts anyone, or with workers open to anyone', async () => {
    const open = new Nats();
    await open.start();
    try {
      const base = { HESSIAN_GRPC_PORT: '0', HESSIAN_METRICS_PORT: '-1', HESSIAN_API_TOKENS: TOKEN };
      const a = await refusedStart(COORDINATOR_MAIN, { ...base, HESSIAN_NATS_URL: open.url, HESSIAN_CLUSTER_SECRET: SECRET });
      assert.notEqual(a.code, 0);
      assert.match(a.out, /NATS at nats:\/\/127\.0\.0\.1:\d+ accepts clients without credentials/);
      const b = await refusedStart(COORDINATOR_MAIN, { ...base, HESSIAN_NATS_URL: nats.url, ...creds('coordinator'), HESSIAN_CLUSTER_SECRET: '', HESSIAN_TLS_CA: '' });
      assert.equal(b.code, 2);
      assert.match(b.out, /the workers would accept calls from anyone: set HESSIAN_CLUSTER_SECRET/);
    } finally {
      await open.destroy();
    }
  });
});
