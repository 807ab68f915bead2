/**
 * One worker process over gRPC against the same steps in this process: Prepare (groups,
 * loss), RunTask (result of executeTask), Hvp and Gradient (exact products), shards; and
 * SIGTERM: a running task is handed back with UNAVAILABLE after HESSIAN_DRAIN_S, exit 0.
 * (The worker's tests live beside the cluster tests to share the harness.)
 */
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { executeTask, normalizeSpec, plan, prepare, type PartialSpec, type Prepared, type TaskResult } from '@hessian/analysis';
import { Rng } from '@hessian/linalg';
import {
  CHANNEL_OPTIONS,
  loadProtos,
  specToProto,
  toChunks,
  VectorAssembler,
  type PrepareReply__Output,
  type TaskUpdate__Output,
  type VectorChunk__Output,
  type WorkerClient,
} from '@hessian/wire';
import { Nats, Service, WORKER_MAIN } from './harness.js';

const SPEC: PartialSpec = { model: 'zoo:tiny-mlp', data: 'synthetic:32', topK: { k: 1, maxIter: 10 }, trace: { probes: 8, chunk: 4 }, density: null, similarity: false, seed: 2 };

describe('worker over gRPC', () => {
  let nats: Nats;
  let w: Service;
  let client: WorkerClient;
  let local: Prepared;
  const spec = normalizeSpec(SPEC);

  const prep = (shardIndex = 0, shardCount = 0) =>
    new Promise<PrepareReply__Output>((resolve, reject) =>
      client.Prepare({ jobId: 'j1', spec: specToProto(spec), shardIndex, shardCount }, (e, r) => (e ? reject(e) : resolve(r!))),
    );
  const runTask = (key: string, task: object, jobId = 'j1') =>
    new Promise<{ result: TaskResult; progress: number[] }>((resolve, reject) => {
      const progress: number[] = [];
      let result: TaskResult | null = null;
      const call = client.RunTask({ jobId, key, taskJson: JSON.stringify(task), convention: 'layer' });
      call.on('data', (u: TaskUpdate__Output) => (u.update === 'progress' ? progress.push(u.progress!) : (result = JSON.parse(u.resultJson!) as TaskResult)));
      call.on('error', reject);
      call.on('end', () => resolve({ result: result!, progress }));
    });

  before(async () => {
    nats = new Nats();
    await nats.start();
    w = await Service.start('w', WORKER_MAIN, { HESSIAN_NATS_URL: nats.url, HESSIAN_GRPC_PORT: '0', HESSIAN_METRICS_PORT: '-1', HESSIAN_BACKEND: 'cpu', HESSIAN_DRAIN_S: '0.5' });
    const { worker } = loadProtos();
    client = new worker.hessian.v1.Worker(`127.0.0.1:${w.grpcPort}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS) as unknown as WorkerClient;
    local = await prepare(spec, 'cpu');
  });
  after(async () => {
    client?.close();
    await w?.kill('SIGKILL');
    await nats?.destroy();
    local?.engine.dispose();
  });

  test('Prepare returns the groups, sizes and loss of the same prepare() here', async () => {
    const r = await prep();
    assert.match(r.key, /^eng-/);
    assert.equal(r.examples, 32);
    assert.equal(r.totalExamples, 32);
    assert.equal(r.lossValue, await local.engine.loss());
    assert.equal(Number(r.modelParams), local.model.paramCount);
    const groups = local.model.groups('layer').map((g) => ({ name: g.name, className: g.className, size: g.size, tensors: g.tensors.map((t) => ({ name: t.name, offset: t.offset, size: t.size })) }));
    assert.deepEqual(JSON.parse(r.groupsJson), groups);
    assert.equal((await prep()).key, r.key, 'cached by key');
  });

  test('RunTask streams progress and the result of executeTask', async () => {
    const { key } = await prep();
    const p = plan(spec, local.model.groups('layer'));
    for (const t of p.tasks.slice(0, 3)) {
      const { result } = await runTask(key, t);
      const want = await executeTask(t, local.engine, 'layer');
      assert.deepEqual({ ...result, seconds: 0 }, { ...want, seconds: 0 });
    }
  });

  test('Hvp stream: products of several vectors equal the engine here; Gradient too', async () => {
    const { key } = await prep();
    const op = local.engine.operator('hessian', { kind: 'full' });
    const rng = new Rng(1);
    const vs = [rng.rademacher(op.dim), rng.rademacher(op.dim)];
    const call = client.Hvp();
    const got: Float32Array[] = [];
    let asm = new VectorAssembler();
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', (c: VectorChunk__Output) => {
        asm.add(c);
        if (asm.complete) {
          got.push(asm.result());
          asm = new VectorAssembler();
        }
      });
      call.on('error', reject);
      call.on('end', () => resolve());
    });
    vs.forEach((v, i) => {
      for (const c of toChunks(v, 16)) call.write(i === 0 && c.offset === 0 ? { key, operator: 'hessian', scope: 'full', convention: 'layer', v: c } : { v: c });
    });
    call.end();
    await done;
    assert.equal(got.length, 2);
    for (let i = 0; i < 2; i++) assert.deepEqual(got[i], await op.matvec(vs[i]));
    const g = await new Promise<Float32Array>((resolve, reject) => {
      const a = new VectorAssembler();
      const s = client.Gradient({ key });
      s.on('data', (c: VectorChunk__Output) => a.add(c));
      s.on('error', reject);
      s.on('end', () => resolve(a.result()));
    });
    assert.deepEqual(g, await local.engine.gradient());
  });

  test('shards: Prepare with shard_count 2 holds half of the examples; unknown key is FAILED_PRECONDITION', async () => {
    const r = await prep(1, 2);
    assert.equal(r.examples, 16);
    assert.equal(r.totalExamples, 32);
    await assert.rejects(runTask('eng-unknown', plan(spec, local.model.groups('layer')).tasks[0]), (e: grpc.ServiceError) => e.code === grpc.status.FAILED_PRECONDITION && /not prepared/.test(e.details));
  });

  test('SIGTERM: draining, the running task comes back UNAVAILABLE after HESSIAN_DRAIN_S, exit 0', async () => {
    const { key } = await prep();
    // A long task: a million Hutchinson probes would take minutes. (Not power iteration to an
    // impossible tol: with R-op products it reaches an exact fixed point and stops in 0.2 s.)
    const task = { id: 'full/hessian/trace/0', kind: 'hutchinson', scope: 'full', operator: 'hessian', seed: 1, cost: 1e6, index: 0, probes: 1e6 };
    const running = runTask(key, task);
    await w.waitFor((l) => l.msg === 'engine prepared');
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    w.proc.kill('SIGTERM');
    await assert.rejects(running, (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE && /shut down/.test(e.details));
    const code = await w.kill('SIGTERM');
    assert.equal(code, 0);
    assert.ok(Date.now() - t0 < 5000);
    assert.ok(w.logs.some((l) => l.msg === 'draining'));
  });
});
