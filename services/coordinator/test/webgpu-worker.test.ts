/**
 * A worker on the webgpu backend (lavapipe in CI): it announces the backend and its adapter
 * (name and limits) in ListWorkers, and an analysis computed by it equals the embedded cpu run.
 * Skips without a WebGPU adapter unless HESSIAN_WEBGPU_REQUIRED=1.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { normalizeSpec, runAnalysis, type Report } from '@hessian/analysis';
import { probeBackend } from '@hessian/engine';
import { specToProto } from '@hessian/wire';
import { Cluster } from './harness.js';
import { BASE, compareClose, numbers } from './common.js';

const why = await probeBackend('webgpu', { restore: 'cpu' });
if (why && process.env['HESSIAN_WEBGPU_REQUIRED'] === '1') throw new Error(`HESSIAN_WEBGPU_REQUIRED=1 but the webgpu backend cannot start: ${why}`);
const skip = why ? `webgpu backend unavailable: ${why}` : false;

let c: Cluster | undefined;
before(async () => {
  if (!skip) c = await Cluster.start({ workers: 1, workerEnv: { HESSIAN_BACKEND: 'webgpu' } });
});
after(async () => {
  await c?.stop();
});

test('a webgpu worker reports its adapter and computes what the embedded cpu run computes', { skip }, async () => {
  const cluster = c as Cluster;
  const { workers } = await cluster.call<object, { workers: { backend: string; device: string }[] }>('ListWorkers', {});
  assert.equal(workers.length, 1);
  assert.equal(workers[0].backend, 'webgpu');
  assert.match(workers[0].device, /max buffer .* storage buffers per stage/);

  const embedded = await runAnalysis(normalizeSpec(BASE), { backend: 'cpu' });
  const job = await cluster.submit({ spec: specToProto(BASE, 'batch') });
  const events = await cluster.watch(job.id);
  const last = events[events.length - 1];
  assert.equal(last.type, 'succeeded', `job ended with ${last.type}: ${last.message}`);
  const report = JSON.parse((await cluster.getJob(job.id, true)).reportJson) as Report;
  assert.match(report.backend, /webgpu/);
  // Different kernels, different float32 rounding: top eigenvalues and traces equal to 1e-3.
  // Not compared: Ritz residual norms (~1e-5, at the rounding floor) and SLQ densities (a
  // 16-step Lanczos run's nodes and weights move with rounding; they differ by a few percent).
  const strip = (r: Report): unknown =>
    numbers(r).map((s) => ({ name: s.name, operators: s.operators.map((o) => ({ operator: o.operator, top: (o.top as { values?: number[] } | undefined)?.values, trace: o.trace })) }));
  assert.ok(embedded.scopes.every((sc) => sc.operators.every((o) => (o.top?.values.length ?? 0) > 0 && o.trace !== undefined)), 'every scope has eigenvalues and a trace to compare');
  compareClose(strip(report), strip(embedded), 1e-3);
});
