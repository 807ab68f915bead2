import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DiagonalOperator, Rng, symmetricWithSpectrum } from '@hessian/linalg';
import { traceFromFullProbes } from '../../src/estimators/trace-from-full-probes.js';
import { denseContext, runEstimator } from './helpers.js';

test('trace-from-full-probes: every layer trace from one full product each, exact on a diagonal matrix', async () => {
  const d = Array.from({ length: 24 }, (_, i) => (i % 5) - 1.5);
  const ctx = denseContext(new DiagonalOperator(d), [['a', 10], ['b', 14]]);
  const run = await runEstimator(traceFromFullProbes, { topK: null, trace: { probes: 12, chunk: 5, fromFullProbes: true }, density: null, similarity: false }, ctx);
  assert.deepEqual(run.tasks.map((t) => t.id), ['full/hessian/trace-layers/0', 'full/hessian/trace-layers/1', 'full/hessian/trace-layers/2']);
  const sum = (lo: number, hi: number) => d.slice(lo, hi).reduce((x, y) => x + y, 0);
  for (const [layer, want] of [['a', sum(0, 10)], ['b', sum(10, 24)]] as const) {
    const t = run.fields(layer).traceFromFullProbes!;
    assert.equal(t.mean, want);
    assert.equal(t.probes, 12);
    assert.equal(t.hvps, 12, 'all chunks, 12 full products, shared by every layer');
  }
  assert.deepEqual(run.fields('full'), {}, 'the full scope gets no traceFromFullProbes');
});

test('trace-from-full-probes on a dense matrix: each layer within 4 standard errors of its block trace', async () => {
  const n = 30;
  const op = symmetricWithSpectrum(Array.from({ length: n }, (_, i) => Math.sin(i) * 2 + 0.5), new Rng(13));
  const ctx = denseContext(op, [['a', 12], ['b', 18]]);
  const run = await runEstimator(traceFromFullProbes, { topK: null, trace: { probes: 300, chunk: 50, fromFullProbes: true }, density: null, similarity: false }, ctx);
  const block = (lo: number, hi: number) => Array.from({ length: hi - lo }, (_, i) => op.data[(lo + i) * n + lo + i]).reduce((x, y) => x + y, 0);
  for (const [layer, want] of [['a', block(0, 12)], ['b', block(12, 30)]] as const) {
    const t = run.fields(layer).traceFromFullProbes!;
    assert.ok(Math.abs(t.mean - want) <= 4 * t.stderr, `${layer}: ${t.mean} vs ${want} (se ${t.stderr})`);
  }
});
