import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DiagonalOperator, Rng, symmetricWithSpectrum } from '@hessian/linalg';
import { hutchinson, MIN_TRACE_PROBES, traceChunksUsed } from '../../src/estimators/hutchinson.js';
import { denseContext, runEstimator } from './helpers.js';

test('hutchinson is exact on a diagonal matrix (Rademacher: v_i^2 = 1) and per layer on its blocks', async () => {
  const d = Array.from({ length: 30 }, (_, i) => i - 7);
  const ctx = denseContext(new DiagonalOperator(d), [['a', 12], ['b', 18]]);
  const run = await runEstimator(hutchinson, { topK: null, trace: { probes: 25, chunk: 10 }, density: null, similarity: false }, ctx);
  assert.deepEqual(run.tasks.filter((t) => t.scope === 'a').map((t) => t.id), ['a/hessian/trace/0', 'a/hessian/trace/1', 'a/hessian/trace/2']);
  const sum = (lo: number, hi: number) => d.slice(lo, hi).reduce((x, y) => x + y, 0);
  for (const [scope, want] of [['full', sum(0, 30)], ['a', sum(0, 12)], ['b', sum(12, 30)]] as const) {
    const t = run.fields(scope).trace!;
    assert.equal(t.mean, want);
    assert.equal(t.stderr, 0);
    assert.equal(t.probes, 25);
    assert.equal(t.hvps, 25);
  }
});

test('hutchinson on a dense matrix: within 4 standard errors of the trace (false alarm < 1e-4)', async () => {
  const eigs = Array.from({ length: 40 }, (_, i) => Math.cos(i) * 3 + 1);
  const trace = eigs.reduce((a, b) => a + b, 0);
  const ctx = denseContext(symmetricWithSpectrum(eigs, new Rng(9)), [['a', 40]]);
  const run = await runEstimator(hutchinson, { topK: null, trace: { probes: 200, chunk: 20 }, density: null, similarity: false, full: false }, ctx, ['a']);
  const t = run.fields('a').trace!;
  assert.ok(t.stderr > 0);
  assert.ok(Math.abs(t.mean - trace) <= 4 * t.stderr, `${t.mean} vs ${trace} (se ${t.stderr})`);
});

test('hutchinson early stopping: the estimate uses the shortest prefix reaching the target; later chunks are skippable and ignored', async () => {
  const ctx = denseContext(new DiagonalOperator(Array.from({ length: 10 }, (_, i) => i + 1)), [['a', 10]]);
  const run = await runEstimator(hutchinson, { topK: null, trace: { probes: 40, chunk: 5, targetRelStderr: 0.01 }, density: null, similarity: false, full: false }, ctx, ['a']);
  const view = run.view('a');
  // Exact samples: stderr 0 meets any target once MIN_TRACE_PROBES samples are in.
  const used = MIN_TRACE_PROBES / 5;
  assert.equal(run.fields('a').trace!.probes, MIN_TRACE_PROBES);
  view.tasks.forEach((t, i) => assert.equal(hutchinson.skippable!(t as never, view as never), i >= used, t.id));
  // Without the target nothing is skippable and every chunk counts.
  assert.deepEqual(traceChunksUsed([[1], [2], [3]], 0), { used: 3, satisfied: false });
});
