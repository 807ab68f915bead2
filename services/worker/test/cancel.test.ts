/**
 * Cancelling a long task stops its running product between micro-batches, not at its end: a
 * top-k task whose every product runs over 256 micro-batches is cancelled by the caller right
 * after its first product reported progress; the worker is idle again (no running call) with
 * exactly one finished product counted, which the old check (before and after each product
 * only) could not give: it finished the second product first. Bound by events, not by time.
 */
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { normalizeSpec, plan } from '@hessian/analysis';
import type { ParamGroup } from '@hessian/engine';
import { CHANNEL_OPTIONS, loadProtos, sleep, specToProto, type PrepareReply__Output, type WorkerClient } from '@hessian/wire';
import { pino } from 'pino';
import { EngineCache } from '../src/engines.js';
import { workerHandlers } from '../src/handlers/index.js';
import type { WorkerRuntime } from '../src/runtime.js';

// 1024 examples in micro-batches of 4: one product is 256 small passes (seconds on a loaded machine).
const spec = normalizeSpec({ model: 'zoo:tiny-mlp', data: 'synthetic:1024', batchSize: 4, topK: { k: 1, maxIter: 20, tol: 1e-12 }, trace: null, density: null, similarity: false, seed: 5, exactMax: 0 });
const noop = { inc: () => undefined };

describe('cancel of a long task', () => {
  const log = pino({ level: 'silent' });
  let products = 0;
  const rt: WorkerRuntime = {
    id: 'w-cancel',
    log,
    engines: new EngineCache({ backend: 'cpu', maxEngines: 1 }, log, 'cpu'),
    running: new Map(),
    cancelledJobs: new Map(),
    draining: false,
    capacity: 1,
    backendName: 'cpu',
    counters: { tasks: noop, hvps: { inc: (_l, by = 1) => void (products += by) }, taskSeconds: noop, prepares: noop },
  };
  const server = new grpc.Server(CHANNEL_OPTIONS);
  let client: WorkerClient;

  before(async () => {
    const { worker } = loadProtos();
    server.addService(worker.hessian.v1.Worker.service, workerHandlers(rt));
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    client = new worker.hessian.v1.Worker(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS) as unknown as WorkerClient;
  });
  after(async () => {
    client?.close();
    server.forceShutdown();
    await rt.engines.closeAll();
  });

  test('stops the running product within a micro-batch and leaves the worker idle', async () => {
    const tp = performance.now();
    const reply = await new Promise<PrepareReply__Output>((resolve, reject) => client.Prepare({ jobId: 'j', spec: specToProto(spec), shardIndex: 0, shardCount: 0 }, (e, r) => (e ? reject(e) : resolve(r!))));
    const groups = JSON.parse(reply.groupsJson) as ParamGroup[];
    // The top-k task with the most products (the widest scope).
    const task = plan(spec, groups)
      .tasks.filter((t) => t.kind === 'lanczos-top-k')
      .sort((a, b) => b.cost - a.cost)[0];
    assert.ok(task && task.cost >= 3, 'a top-k task of several products');
    const call = client.RunTask({ jobId: 'j', key: reply.key, taskJson: JSON.stringify(task), convention: 'layer' });
    const ended = new Promise<grpc.ServiceError | null>((resolve) => {
      call.on('error', (e: grpc.ServiceError) => resolve(e));
      call.on('end', () => resolve(null));
    });
    // The first progress update comes after the first product: cancel during the second.
    const tr = performance.now();
    await new Promise<void>((resolve) => call.once('data', () => resolve()));
    const t0 = performance.now();
    console.log(`prepare ${(tr - tp).toFixed(0)} ms, first product ${(t0 - tr).toFixed(0)} ms`);
    call.cancel();
    const err = await ended;
    assert.equal(err?.code, grpc.status.CANCELLED);
    // Idle = the compute thread has really stopped the task (the call counts as running until then).
    while (rt.running.size > 0) await sleep(5);
    const idleMs = performance.now() - t0;
    assert.equal(products, 1, 'the second product was abandoned between micro-batches, not finished');
    console.log(`cancel -> idle: ${idleMs.toFixed(0)} ms (a product here is 256 micro-batches)`);
  });
});
