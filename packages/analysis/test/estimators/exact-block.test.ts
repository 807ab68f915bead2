import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng, symmetricWithSpectrum } from '@hessian/linalg';
import { exactBlock } from '../../src/estimators/exact-block.js';
import { exactDecision } from '../../src/estimators/exact-rule.js';
import { normalizeSpec } from '../../src/index.js';
import { denseContext, runEstimator, scopesOf } from './helpers.js';

test('exact-block: every eigenvalue of a known spectrum, top-k with zero residual, trace, ESD nodes', async () => {
  const eigs = [9, 4, -2, ...Array.from({ length: 37 }, (_, i) => 0.5 - i / 40)];
  const op = symmetricWithSpectrum(eigs, new Rng(5));
  const ctx = denseContext(op, [['a', 25], ['b', 15]]);
  const run = await runEstimator(exactBlock, { exactMax: 100, topK: { k: 2 }, trace: {}, density: { runs: 1, steps: 10, gridPoints: 200 }, similarity: false }, ctx);
  assert.deepEqual(run.tasks.map((t) => t.id), ['full/hessian/exact-block', 'a/hessian/exact-block', 'b/hessian/exact-block']);
  const f = run.fields('full');
  const want = [...eigs].sort((x, y) => x - y);
  assert.deepEqual(f.top?.values.map((v) => +v.toFixed(5)), [9, 4]);
  assert.deepEqual(f.top?.residuals, [0, 0]);
  assert.equal(f.top?.method, 'exact');
  assert.ok(Math.abs((f.trace?.mean ?? 0) - eigs.reduce((a, b) => a + b, 0)) < 1e-5);
  assert.equal(f.trace?.stderr, 0);
  f.density?.nodes.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-5, `node ${i}: ${v} vs ${want[i]}`));
  assert.ok(Math.abs((f.density?.weights ?? []).reduce((a, b) => a + b, 0) - 1) < 1e-12);
  // built from 40 unit-vector products (the dense context has no factor pass), float32 products symmetrized
  assert.equal(run.results.get('full/hessian/exact-block')?.hvps, 40);
});

test('the rule: --exact-max, the cost of building against the planned estimates, and the reasons', () => {
  const spec = normalizeSpec({ model: 'm', topK: { k: 1, maxIter: 20 }, trace: { probes: 30 }, density: { runs: 1, steps: 10 } });
  const [full, a] = scopesOf([{ name: 'a', className: 'Conv2D', size: 500, tensors: [{ name: 'a/kernel', offset: 0, size: 500 }] }]);
  // planned: top 20 + 1, trace 30, density 10 = 61 products
  const f = exactDecision(spec, full, 'hessian');
  assert.equal(f.exact, false);
  assert.match(f.why, /^estimated: building the block takes 500 products > 61 planned/);
  const l = exactDecision(spec, a, 'hessian');
  assert.equal(l.exact, true);
  assert.equal(l.build, 'factor-pass');
  assert.match(l.why, /^exact: 500 <= --exact-max 1000; dense block from one factor pass/);
  assert.equal(exactDecision(spec, a, 'residual').exact, false, 'no factor pass for the residual');
  assert.match(exactDecision({ ...spec, exactMax: 0 }, a, 'hessian').why, /--exact-max 0 turns exact blocks off/);
  assert.match(exactDecision({ ...spec, exactMax: 100 }, a, 'hessian').why, /^estimated: 500 parameters > --exact-max 100/);
});
