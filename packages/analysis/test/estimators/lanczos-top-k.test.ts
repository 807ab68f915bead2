import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng, symmetricWithSpectrum } from '@hessian/linalg';
import { lanczosTopK } from '../../src/estimators/lanczos-top-k.js';
import type { SlqDensityResult, SlqDensityTask } from '../../src/estimators/slq-density.js';
import { executeTask, normalizeSpec, plan, TaskQueue, type PartialSpec, type Task } from '../../src/index.js';
import { denseContext, runEstimator } from './helpers.js';

test('lanczos-top-k finds the top 3 of a known spectrum with small residuals, one task per scope', async () => {
  const eigs = [12, 8, 5, ...Array.from({ length: 57 }, (_, i) => 1 - i / 57)];
  const ctx = denseContext(symmetricWithSpectrum(eigs, new Rng(3)), [['a', 30], ['b', 30]]);
  const run = await runEstimator(lanczosTopK, { topK: { k: 3, method: 'lanczos', tol: 1e-5, maxIter: 60 }, trace: null, density: null, similarity: false }, ctx, ['full']);
  assert.equal(run.tasks.length, 1);
  assert.equal(run.tasks[0].id, 'full/hessian/top-k');
  const top = run.fields('full').top!;
  assert.equal(top.method, 'lanczos');
  assert.equal(top.converged, true);
  top.values.forEach((v, i) => assert.ok(Math.abs(v - eigs[i]) <= 1e-4 * eigs[i], `${v} vs ${eigs[i]}`));
  for (const r of top.residuals) assert.ok(r <= 1e-4 * 12, `residual ${r}`);
  assert.equal(top.hvps, run.results.get('full/hessian/top-k')!.hvps);
});

test('lanczos-top-k plans only when --eig-method is lanczos', () => {
  const spec = { topK: { k: 2, method: 'power' as const, tol: 1e-3, maxIter: 10 } };
  assert.equal(lanczosTopK.planScope!({ ...spec } as never, { name: 'full', kind: 'full', className: 'Model', tensors: [], params: 5, depth: null }, {} as never).length, 0);
});

/** Plans the whole registry on the dense context and runs the queue in plan order on one executor, skipping as the schedulers do. */
async function runQueue(partial: Omit<PartialSpec, 'model'>, ctx: ReturnType<typeof denseContext>, order?: (tasks: Task[]) => Task[]) {
  const spec = normalizeSpec({ model: 'dense', exactMax: 0, ...partial });
  const p = plan(spec, ctx.groups);
  const queue = new TaskQueue(spec, p);
  if (order) for (const t of order(p.tasks)) queue.finish(t, await executeTask(t, ctx.compute, 'layer'));
  else for (let t = queue.take(); t; t = queue.take()) queue.finish(t, await executeTask(t, ctx.compute, 'layer'));
  const top = (scope: string) => lanczosTopK.combine(queue.index.view(lanczosTopK, p.scopes.find((s) => s.name === scope)!, 'hessian', queue.results) as never).top;
  return { plan: p, queue, top };
}

test('with a density, the top-k comes from the first SLQ run: k products, the fallback run skipped, the same report in any task order', async () => {
  const eigs = [12, 8, 5, ...Array.from({ length: 57 }, (_, i) => 1 - i / 57)];
  const ctx = denseContext(symmetricWithSpectrum(eigs, new Rng(3)), [['a', 30], ['b', 30]]);
  const partial = { topK: { k: 3, method: 'lanczos' as const, tol: 1e-5, maxIter: 60 }, density: { runs: 2, steps: 40 }, trace: null, similarity: false };
  const { plan: p, queue, top } = await runQueue(partial, ctx);
  // run 0 of each scope carries the top-k; the fallbacks come after every other task
  const ids = p.tasks.map((t) => t.id);
  assert.deepEqual(ids.slice(-3), ['full/hessian/top-k', 'a/hessian/top-k', 'b/hessian/top-k']);
  const run0 = p.tasks.find((t) => t.id === 'full/hessian/density/0') as SlqDensityTask;
  assert.equal(run0.topK, 3);
  assert.equal((p.tasks.find((t) => t.id === 'full/hessian/density/1') as SlqDensityTask).topK, undefined);
  assert.equal(queue.results.has('full/hessian/top-k'), false, 'the fallback was skipped');
  const t = top('full')!;
  assert.equal(t.from, 'slq');
  assert.equal(t.converged, true);
  assert.equal(t.iterations, 40);
  assert.equal(t.hvps, 3);
  assert.equal(queue.results.get('full/hessian/density/0')!.hvps, 43);
  t.values.forEach((v, i) => assert.ok(Math.abs(v - eigs[i]) <= 1e-4 * eigs[i], `${v} vs ${eigs[i]}`));
  for (const r of t.residuals) assert.ok(r <= 1e-4 * 12, `residual ${r}`);
  // every task run, the fallbacks first (as a busy cluster might): the report still takes the SLQ run's values
  const all = await runQueue(partial, ctx, (tasks) => [...tasks].reverse());
  assert.equal(all.queue.results.has('full/hessian/top-k'), true);
  assert.deepEqual(all.top('full'), t);
});

test('where the SLQ run does not reach the tolerance, the fallback Lanczos run is the report', async () => {
  // evenly spaced eigenvalues: 22 steps leave the top Ritz value far from 1e-12 (out of reach of
  // float32 products anyway); the fallback runs, spans the whole space and reports
  const eigs = Array.from({ length: 60 }, (_, i) => 12 - 0.2 * i);
  const ctx = denseContext(symmetricWithSpectrum(eigs, new Rng(3)), [['a', 30], ['b', 30]]);
  const { queue, top } = await runQueue({ topK: { k: 1, method: 'lanczos', tol: 1e-12, maxIter: 60 }, density: { runs: 1, steps: 22 }, trace: null, similarity: false }, ctx);
  const run0 = queue.results.get('full/hessian/density/0') as SlqDensityResult;
  assert.equal(run0.top!.converged, false);
  const t = top('full')!;
  assert.equal(t.from, undefined);
  assert.equal(queue.results.has('full/hessian/top-k'), true);
  assert.equal(t.hvps, queue.results.get('full/hessian/top-k')!.hvps);
  assert.ok(Math.abs(t.values[0] - 12) <= 1e-5 * 12, `${t.values[0]}`);
});

test('a density run too short for the top-k (< 2k + 20 steps) leaves the top-k to its own run, planned in scope order', () => {
  const spec = normalizeSpec({ model: 'dense', exactMax: 0, topK: { k: 3, method: 'lanczos', tol: 1e-5, maxIter: 60 }, density: { runs: 1, steps: 25 }, trace: null, similarity: false });
  const ctx = denseContext(symmetricWithSpectrum([3, 2, 1, 0.5], new Rng(1)), [['a', 2], ['b', 2]]);
  const big = denseContext(symmetricWithSpectrum(Array.from({ length: 60 }, (_, i) => 60 - i), new Rng(1)), [['a', 30], ['b', 30]]);
  const p = plan(spec, big.groups);
  assert.equal(p.tasks[0].id, 'full/hessian/top-k');
  assert.equal((p.tasks.find((t) => t.id === 'full/hessian/density/0') as SlqDensityTask).topK, undefined);
  // a scope smaller than 2k + 20: the run spans the whole space, its Ritz values are exact
  const small = plan(spec, ctx.groups);
  assert.equal((small.tasks.find((t) => t.id === 'full/hessian/density/0') as SlqDensityTask).topK, 3);
});
