/**
 * Bad requests get the right gRPC code and the same sentence as the command line
 * (normalizeSpec / parseDataSpec); the queue limit refuses past HESSIAN_QUEUE_LIMIT;
 * an oversized upload is RESOURCE_EXHAUSTED; client_request_id makes submission idempotent.
 */
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { normalizeSpec, type PartialSpec } from '@hessian/analysis';
import { isUserError } from '@hessian/linalg';
import { loadProtos, specToProto, type CoordinatorClient, type ProtoAnalysisSpec } from '@hessian/wire';
import { Cluster } from './harness.js';

const GOOD: PartialSpec = { model: 'zoo:tiny-mlp', data: 'synthetic:32', topK: { k: 1, maxIter: 10 }, trace: null, density: null, seed: 1 };

function sentence(p: PartialSpec): string {
  try {
    normalizeSpec(p);
  } catch (e) {
    if (isUserError(e)) return e.message;
    throw e;
  }
  throw new Error(`spec is valid: ${JSON.stringify(p)}`);
}

async function rejects(p: Promise<unknown>, code: grpc.status, message?: string | RegExp): Promise<void> {
  await assert.rejects(p, (e: grpc.ServiceError) => {
    assert.equal(e.code, code, `code ${grpc.status[e.code]} (${e.details}), want ${grpc.status[code]}`);
    if (typeof message === 'string') assert.equal(e.details, message);
    else if (message) assert.match(e.details, message);
    return true;
  });
}

describe('bad requests', () => {
  let c: Cluster;
  before(async () => {
    // No workers: accepted jobs stay queued/running, which the queue-limit test needs.
    c = await Cluster.start({ workers: 0, coordinatorEnv: { HESSIAN_QUEUE_LIMIT: '3', HESSIAN_MAX_UPLOAD_BYTES: '1000' } });
  });
  after(async () => {
    await c?.stop();
  });

  const proto = (over: Partial<ProtoAnalysisSpec>): ProtoAnalysisSpec => ({ ...specToProto(GOOD), ...over });

  // Every field normalizeSpec checks that the wire can express (uint32 fields cannot be negative).
  const cases: [string, Partial<ProtoAnalysisSpec>, PartialSpec][] = [
    ['model', { model: '' }, { ...GOOD, model: '' }],
    ['model (blank)', { model: '   ' }, { ...GOOD, model: '   ' }],
    ['eig-method', { topK: { k: 1, method: 'qr', tol: 0, maxIter: 10 } }, { ...GOOD, topK: { k: 1, method: 'qr' as 'power', maxIter: 10 } }],
    ['eig-tol', { topK: { k: 1, method: '', tol: -1, maxIter: 10 } }, { ...GOOD, topK: { k: 1, tol: -1, maxIter: 10 } }],
    ['top-k', { topK: { k: 5000, method: '', tol: 0, maxIter: 10 } }, { ...GOOD, topK: { k: 5000, maxIter: 10 } }],
    ['eig-max-iter', { topK: { k: 1, method: '', tol: 0, maxIter: 200000 } }, { ...GOOD, topK: { k: 1, maxIter: 200000 } }],
    ['trace-method', { skipTrace: false, trace: { method: 'exact', probes: 0, targetRelStderr: 0, chunk: 0, fromFullProbes: false } }, { ...GOOD, trace: { method: 'exact' as 'hutchinson' } }],
    ['trace-probes (hutch++)', { skipTrace: false, trace: { method: 'hutch++', probes: 2, targetRelStderr: 0, chunk: 0, fromFullProbes: false } }, { ...GOOD, trace: { method: 'hutch++', probes: 2 } }],
    ['trace-target', { skipTrace: false, trace: { method: '', probes: 0, targetRelStderr: -0.5, chunk: 0, fromFullProbes: false } }, { ...GOOD, trace: { targetRelStderr: -0.5 } }],
    ['trace-probes (too many)', { skipTrace: false, trace: { method: '', probes: 20000000, targetRelStderr: 0, chunk: 0, fromFullProbes: false } }, { ...GOOD, trace: { probes: 20000000 } }],
    ['density-preset', { skipDensity: false, density: { runs: 0, steps: 0, preset: 'flat', gridPoints: 0 } }, { ...GOOD, density: { preset: 'flat' as 'papyan' } }],
    ['density-runs', { skipDensity: false, density: { runs: 20000, steps: 0, preset: '', gridPoints: 0 } }, { ...GOOD, density: { runs: 20000 } }],
    ['loss', { loss: 'hinge' }, { ...GOOD, loss: 'hinge' as 'mse' }],
    ['convention', { convention: 'bias-only' }, { ...GOOD, convention: 'bias-only' as 'layer' }],
    ['layers (regex)', { layers: { regex: '(' } }, { ...GOOD, layers: { select: 'regex', pattern: '(' } }],
    ['layers (empty names)', { layers: { names: { names: [] } } }, { ...GOOD, layers: { select: 'names', names: [] } }],
    ['quantities', { skipTopK: true, skipTrace: true, skipDensity: true }, { ...GOOD, topK: null, trace: null, density: null }],
  ];
  for (const [field, over, partial] of cases) {
    test(`${field}: INVALID_ARGUMENT with normalizeSpec's sentence`, async () => {
      await rejects(c.submit({ spec: proto(over) }), grpc.status.INVALID_ARGUMENT, sentence(partial));
    });
  }

  test('scope: INVALID_ARGUMENT naming the choices', async () => {
    await rejects(c.submit({ spec: proto({ scope: 'cluster' }) }), grpc.status.INVALID_ARGUMENT, 'scope: must be one of batch, dataset, got "cluster"');
  });
  test('data: INVALID_ARGUMENT with the parser sentence', async () => {
    await rejects(c.submit({ spec: proto({ data: 'mnist:train' }) }), grpc.status.INVALID_ARGUMENT, /unknown source "mnist"/);
    await rejects(c.submit({ spec: proto({ data: 'synthetic:64[10:5]' }) }), grpc.status.INVALID_ARGUMENT, /empty or reversed slice/);
  });
  test('model: unknown zoo name or digest is NOT_FOUND, a malformed digest INVALID_ARGUMENT', async () => {
    await rejects(c.submit({ spec: proto({ model: 'zoo:resnet9000' }) }), grpc.status.NOT_FOUND, /unknown zoo model "zoo:resnet9000"; available: .*zoo:tiny-mlp/);
    await rejects(c.submit({ spec: proto({ model: `sha256:${'0'.repeat(64)}` }) }), grpc.status.NOT_FOUND, /was never uploaded/);
    await rejects(c.submit({ spec: proto({ model: 'sha256:xyz' }) }), grpc.status.INVALID_ARGUMENT, /is not a model digest/);
  });
  test('unknown job: NOT_FOUND from GetJob, CancelJob and WatchJob', async () => {
    await rejects(c.getJob('job-nope'), grpc.status.NOT_FOUND, 'job: no job with id "job-nope"; list jobs with hessctl jobs');
    await rejects(c.call('CancelJob', { id: 'job-nope' }), grpc.status.NOT_FOUND);
    await rejects(c.watch('job-nope'), grpc.status.NOT_FOUND);
  });
  test('oversized upload: RESOURCE_EXHAUSTED', async () => {
    const p = new Promise((resolve, reject) => {
      const call = c.client.UploadModel((e, r) => (e ? reject(e) : resolve(r)));
      call.on('error', () => undefined);
      call.write({ header: { name: 'big' } });
      call.write({ file: { path: 'model.json', data: Buffer.alloc(600, 32) } });
      call.write({ file: { path: 'weights.bin', data: Buffer.alloc(600) } });
      call.end();
    });
    await rejects(p, grpc.status.RESOURCE_EXHAUSTED, /larger than the limit of 1000 bytes/);
  });
  test('garbage bytes instead of a request: INVALID_ARGUMENT (not INTERNAL) on unary and streaming methods', async () => {
    const raw = (b: Buffer) => b;
    const garbage = Buffer.from('ffffffffffffffff', 'hex');
    const direct = new grpc.Client(`127.0.0.1:${c.coordinator.grpcPort}`, grpc.credentials.createInsecure());
    try {
      const unary = new Promise((resolve, reject) => direct.makeUnaryRequest('/hessian.v1.Coordinator/SubmitAnalysis', raw, raw, garbage, (e, r) => (e ? reject(e) : resolve(r))));
      await rejects(unary, grpc.status.INVALID_ARGUMENT, /^request: the bytes sent to \/hessian.v1.Coordinator\/SubmitAnalysis are not a valid protobuf message/);
      const stream = new Promise((resolve, reject) => {
        const call = direct.makeClientStreamRequest('/hessian.v1.Coordinator/UploadModel', raw, raw, (e, r) => (e ? reject(e) : resolve(r)));
        call.on('error', () => undefined);
        call.write(garbage);
        call.end();
      });
      await rejects(stream, grpc.status.INVALID_ARGUMENT, /UploadModel are not a valid protobuf message/);
    } finally {
      direct.close();
    }
  });
  test('upload without model.json: INVALID_ARGUMENT', async () => {
    const p = new Promise((resolve, reject) => {
      const call = c.client.UploadModel((e, r) => (e ? reject(e) : resolve(r)));
      call.write({ file: { path: 'weights.bin', data: Buffer.alloc(8) } });
      call.end();
    });
    await rejects(p, grpc.status.INVALID_ARGUMENT, /no model.json/);
  });
  test('queue limit: RESOURCE_EXHAUSTED past HESSIAN_QUEUE_LIMIT; client_request_id is idempotent; cancel frees the queue', async () => {
    const a = await c.submit({ spec: proto({}), clientRequestId: 'req-a' });
    const again = await c.submit({ spec: proto({}), clientRequestId: 'req-a' });
    assert.equal(again.id, a.id);
    const b = await c.submit({ spec: proto({}) });
    const d = await c.submit({ spec: proto({}) });
    await rejects(c.submit({ spec: proto({}) }), grpc.status.RESOURCE_EXHAUSTED, /limit \(HESSIAN_QUEUE_LIMIT\) is 3/);
    const cancelled = await c.call<{ id: string }, { state: string }>('CancelJob', { id: b.id });
    assert.equal(cancelled.state, 'CANCELLED');
    const events = await c.watch(b.id);
    assert.equal(events[events.length - 1].type, 'cancelled');
    const e = await c.submit({ spec: proto({}) });
    for (const j of [a, d, e]) await c.call('CancelJob', { id: j.id });
  });
});

describe('100 concurrent submissions from 10 clients', () => {
  let c: Cluster;
  before(async () => {
    c = await Cluster.start({ workers: 0, coordinatorEnv: { HESSIAN_QUEUE_LIMIT: '30' } });
  });
  after(async () => {
    await c?.stop();
  });

  test('each is accepted or refused by the queue limit, none lost or duplicated', async () => {
    const { coordinator } = loadProtos();
    const clients = Array.from({ length: 10 }, () => new coordinator.hessian.v1.Coordinator(`127.0.0.1:${c.coordinator.grpcPort}`, grpc.credentials.createInsecure()) as unknown as CoordinatorClient);
    try {
      const spec = specToProto(GOOD);
      const outcomes = await Promise.all(
        clients.flatMap((cl, i) =>
          Array.from(
            { length: 10 },
            (_, j) =>
              new Promise<{ rid: string; id?: string; code?: number }>((resolve) =>
                cl.SubmitAnalysis({ spec, clientRequestId: `c${i}-r${j}` }, (e, r) => resolve(e ? { rid: `c${i}-r${j}`, code: e.code } : { rid: `c${i}-r${j}`, id: r!.id })),
              ),
          ),
        ),
      );
      const accepted = outcomes.filter((o) => o.id);
      const refused = outcomes.filter((o) => o.code !== undefined);
      assert.equal(accepted.length, 30);
      assert.equal(refused.length, 70);
      assert.ok(refused.every((o) => o.code === grpc.status.RESOURCE_EXHAUSTED));
      assert.equal(new Set(accepted.map((o) => o.id)).size, 30, 'distinct job ids');
      const listed = (await c.call<{ limit: number }, { jobs: { id: string }[] }>('ListJobs', { limit: 1000 })).jobs.map((j) => j.id);
      assert.deepEqual([...listed].sort(), accepted.map((o) => o.id!).sort(), 'every accepted job listed once, nothing else');
      // Resubmitting an accepted request id returns its job, not a new one.
      const again = await c.submit({ spec, clientRequestId: accepted[0].rid });
      assert.equal(again.id, accepted[0].id);
      for (const o of accepted) await c.call('CancelJob', { id: o.id });
    } finally {
      for (const cl of clients) cl.close();
    }
  });
});
