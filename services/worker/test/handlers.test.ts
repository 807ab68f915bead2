/**
 * The worker's gRPC handlers against a real engine, without NATS: an EngineCache and the
 * handlers bound to a gRPC server on loopback, compared with the same steps in this process
 * (prepare + executeTask, exact products). Also what a forged or misplaced request gets, a
 * task beyond the capacity, and calls without the cluster secret (handlers/guard.ts).
 */
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { executeTask, normalizeSpec, plan, prepare, scopeOf, type Prepared, type TaskResult } from '@hessian/analysis';
import type { ParamGroup } from '@hessian/engine';
import { Rng } from '@hessian/linalg';
import { CHANNEL_OPTIONS, ClusterSecretCheck, loadProtos, specToProto, workerClientOptions, toChunks, VectorAssembler, type PrepareReply__Output, type VectorChunk__Output, type WorkerClient } from '@hessian/wire';
import { pino } from 'pino';
import { EngineCache } from '../src/engines.js';
import { guarded } from '../src/handlers/guard.js';
import { workerHandlers } from '../src/handlers/index.js';
import type { WorkerRuntime } from '../src/runtime.js';

const spec = normalizeSpec({ model: 'zoo:tiny-mlp', data: 'synthetic:32', topK: { k: 1, maxIter: 10 }, trace: { method: 'hutchinson', probes: 8, chunk: 4 }, density: null, similarity: false, seed: 2, exactMax: 0 });
const noop = { inc: () => undefined };

describe('worker handlers', () => {
  const log = pino({ level: 'silent' });
  const rt: WorkerRuntime & { draining: boolean } = {
    id: 'w-test',
    log,
    engines: new EngineCache({ backend: 'cpu', maxEngines: 2 }, log, 'cpu'),
    running: new Map(),
    cancelledJobs: new Map(),
    draining: false,
    capacity: 1,
    backendName: 'cpu',
    counters: { tasks: noop, hvps: noop, taskSeconds: noop, prepares: noop },
  };
  const server = new grpc.Server(CHANNEL_OPTIONS);
  let client: WorkerClient;
  let local: Prepared;
  let key = '';

  const prep = () =>
    new Promise<PrepareReply__Output>((resolve, reject) => client.Prepare({ jobId: 'j', spec: specToProto(spec), shardIndex: 0, shardCount: 0 }, (e, r) => (e ? reject(e) : resolve(r!))));
  const runTask = (k: string, task: object) =>
    new Promise<TaskResult>((resolve, reject) => {
      let result: TaskResult | null = null;
      const call = client.RunTask({ jobId: 'j', key: k, taskJson: JSON.stringify(task), convention: 'layer' });
      call.on('data', (u: { update?: string; resultJson?: string }) => {
        if (u.update === 'resultJson') result = JSON.parse(u.resultJson!) as TaskResult;
      });
      call.on('error', reject);
      call.on('end', () => (result ? resolve(result) : reject(new Error('no result'))));
    });

  before(async () => {
    const { worker } = loadProtos();
    server.addService(worker.hessian.v1.Worker.service, workerHandlers(rt));
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    client = new worker.hessian.v1.Worker(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS) as unknown as WorkerClient;
    local = await prepare(spec, 'cpu');
  });
  after(async () => {
    client?.close();
    server.forceShutdown();
    await rt.engines.closeAll();
    local?.engine.dispose();
  });

  test('Prepare answers the groups (with offsets), sizes and loss of the same prepare() here, cached by key', async () => {
    const r = await prep();
    key = r.key;
    assert.equal(r.examples, 32);
    assert.equal(r.lossValue, await local.engine.loss());
    const groups: ParamGroup[] = local.model.groups('layer').map((g) => ({ name: g.name, className: g.className, size: g.size, tensors: g.tensors.map((t) => ({ name: t.name, offset: t.offset, size: t.size })) }));
    assert.deepEqual(JSON.parse(r.groupsJson), groups);
    assert.equal((await prep()).key, key);
  });

  test('RunTask gives executeTask results bit for bit', async () => {
    for (const t of plan(spec, local.model.groups('layer')).tasks.slice(0, 3)) {
      const got = await runTask(key, t);
      const want = await executeTask(t, local.engine, 'layer');
      assert.deepEqual({ ...got, seconds: 0 }, { ...want, seconds: 0 }, t.id);
    }
  });

  test('a forged task (1e9 probes) is INVALID_ARGUMENT before any work; an unknown key is FAILED_PRECONDITION', async () => {
    const t = plan(spec, local.model.groups('layer')).tasks.find((x) => x.kind === 'hutchinson')!;
    await assert.rejects(runTask(key, { ...t, probes: 1e9 }), (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT && /probes must be a whole number from 1 to 1000000/.test(e.details));
    assert.equal(rt.running.size, 0);
    await assert.rejects(runTask('eng-nope', t), (e: grpc.ServiceError) => e.code === grpc.status.FAILED_PRECONDITION && /^not prepared/.test(e.details));
  });

  test('Hvp answers the exact product of the prepared operator; Gradient the exact gradient', async () => {
    const v = new Rng(4).gaussian(local.model.paramCount);
    const want = await local.engine.operator('hessian', scopeOf('full', 'layer')).matvec(v);
    const got = await new Promise<Float32Array>((resolve, reject) => {
      const call = client.Hvp();
      const asm = new VectorAssembler();
      call.on('data', (c: VectorChunk__Output) => {
        asm.add(c);
        if (asm.complete) {
          resolve(asm.result());
          call.end();
        }
      });
      call.on('error', reject);
      let first = true;
      for (const c of toChunks(v)) {
        call.write(first ? { key, operator: 'hessian', scope: 'full', convention: 'layer', v: c } : { v: c });
        first = false;
      }
    });
    assert.deepEqual(got, want);
    const g = await new Promise<Float32Array>((resolve, reject) => {
      const asm = new VectorAssembler();
      const call = client.Gradient({ key });
      call.on('data', (c: VectorChunk__Output) => asm.add(c));
      call.on('error', reject);
      call.on('end', () => resolve(asm.result()));
    });
    assert.deepEqual(g, await local.engine.gradient());
  });

  test('Health names the worker; while draining RunTask is UNAVAILABLE', async () => {
    const h = await new Promise<{ id: string; draining: boolean }>((resolve, reject) => client.Health({}, (e, r) => (e ? reject(e) : resolve(r!))));
    assert.equal(h.id, 'w-test');
    rt.draining = true;
    try {
      const t = plan(spec, local.model.groups('layer')).tasks[0];
      await assert.rejects(runTask(key, t), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE && /draining/.test(e.details));
    } finally {
      rt.draining = false;
    }
  });

  test('RunTask beyond the capacity is RESOURCE_EXHAUSTED naming HESSIAN_WORKER_CAPACITY, and nothing runs; train steps do not count', async () => {
    const busy = new AbortController();
    rt.running.set(busy, { jobId: 'other', taskId: 'x' });
    try {
      const t = plan(spec, local.model.groups('layer')).tasks[0];
      await assert.rejects(runTask(key, t), (e: grpc.ServiceError) => e.code === grpc.status.RESOURCE_EXHAUSTED && /capacity \(HESSIAN_WORKER_CAPACITY\) is 1/.test(e.details));
      assert.equal(rt.running.size, 1);
      // A train step in the slot does not count (the trainer sizes its own calls).
      rt.running.delete(busy);
      rt.running.set(busy, { jobId: 'train:run-1', taskId: 'step 3' });
      assert.equal((await runTask(key, t)).id, t.id);
    } finally {
      rt.running.delete(busy);
    }
  });

  test('with a cluster secret: calls without it or with a wrong one are UNAUTHENTICATED and logged; with it they are served', async () => {
    const lines: string[] = [];
    const glog = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
    const gs = new grpc.Server(CHANNEL_OPTIONS);
    const { worker } = loadProtos();
    gs.addService(worker.hessian.v1.Worker.service, guarded(workerHandlers(rt), new ClusterSecretCheck('s3cret-cluster'), glog));
    const port = await new Promise<number>((resolve, reject) => gs.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    const dial = (secret?: string) => new worker.hessian.v1.Worker(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), workerClientOptions(CHANNEL_OPTIONS, secret)) as unknown as WorkerClient;
    const health = (c: WorkerClient) => new Promise<string>((resolve, reject) => c.Health({}, (e, r) => (e ? reject(e) : resolve(r!.id))));
    const clients = [dial(), dial('wrong'), dial('s3cret-cluster')];
    try {
      for (const c of clients.slice(0, 2)) {
        await assert.rejects(health(c), (e: grpc.ServiceError) => e.code === grpc.status.UNAUTHENTICATED && /serves only its cluster/.test(e.details));
        const t = plan(spec, local.model.groups('layer')).tasks[0];
        const rt2 = await new Promise<grpc.ServiceError | null>((resolve) => {
          const call = c.RunTask({ jobId: 'j', key, taskJson: JSON.stringify({ ...t, probes: 1e9 }), convention: 'layer' });
          call.on('data', () => undefined);
          call.on('error', resolve);
          call.on('end', () => resolve(null));
        });
        assert.equal(rt2?.code, grpc.status.UNAUTHENTICATED);
        const prep2 = await new Promise<grpc.ServiceError | null>((resolve) => c.Prepare({ jobId: 'j', spec: specToProto(spec), shardIndex: 0, shardCount: 0 }, (e) => resolve(e)));
        assert.equal(prep2?.code, grpc.status.UNAUTHENTICATED);
      }
      assert.equal(await health(clients[2]), 'w-test');
      const refused = lines.map((l) => JSON.parse(l) as { msg: string; method: string }).filter((l) => l.msg === 'unauthenticated worker call refused');
      assert.deepEqual(refused.map((l) => l.method).sort(), ['Health', 'Health', 'Prepare', 'Prepare', 'RunTask', 'RunTask']);
      assert.equal(rt.running.size, 0);
    } finally {
      for (const c of clients) c.close();
      gs.forceShutdown();
    }
  });
});
