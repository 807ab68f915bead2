import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng, symmetricWithSpectrum } from '@hessian/linalg';
import { exactBlock } from '../../src/estimators/exact-block.js';
import { COST_MODEL, exactDecision, plannedEstimateProducts, scopeCosts } from '../../src/estimators/exact-rule.js';
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

test('the rule: --exact-max, the predicted cost of building against the planned estimates, and the reasons', () => {
  const spec = normalizeSpec({ model: 'm', data: 'synthetic:256', topK: { k: 1, maxIter: 20 }, trace: { probes: 30 }, density: { runs: 1, steps: 10 } });
  const [full, a] = scopesOf([{ name: 'a', className: 'Conv2D', size: 500, tensors: [{ name: 'a/kernel', offset: 0, size: 500 }] }]);
  // planned for the layer: top 20 + 1, density 10 (its trace is the factor pass's diagonal: no probes)
  assert.equal(plannedEstimateProducts(spec, a), 31);
  // for the full network: + 30 probes; unit vectors would take 500 products
  assert.equal(plannedEstimateProducts(spec, full), 61);
  const f = exactDecision(spec, full, 'hessian');
  assert.equal(f.exact, false);
  assert.equal(f.build, 'unit-vectors');
  assert.match(f.why, /^estimated: building the block from 500 unit-vector products and its eigenvalues ~ 5\d\d products of this scope > the planned estimates ~ 61.0 \(61 products/);
  // the layer: one factor pass ((1 + 10)/2 products) + J^T J (2 N C n^2 flops) + eigenvalues
  const c = scopeCosts(spec, a, 'factor-pass');
  const product = COST_MODEL.PRODUCT_OVERHEAD_S + (8 * 256 * 500) / COST_MODEL.PRODUCT_FLOPS;
  assert.ok(Math.abs(c.product - product) < 1e-15);
  const exact = 5.5 * product + (2 * 256 * 10 * 500 * 500) / COST_MODEL.GEMM_FLOPS + ((4 / 3) * 500 ** 3) / COST_MODEL.EIGEN_FLOPS;
  assert.ok(Math.abs(c.exact - exact) < 1e-12);
  // at 31 planned products estimating is cheaper; 5 density runs of 10 steps more make it dearer
  const l = exactDecision(spec, a, 'hessian');
  assert.equal(c.exact > c.estimate, true);
  assert.equal(l.exact, false);
  assert.match(l.why, /^estimated: building the block from one factor pass/);
  const dense = { ...spec, density: { ...spec.density!, runs: 40 } };
  const l2 = exactDecision(dense, a, 'hessian');
  assert.equal(l2.exact, true, l2.why);
  assert.equal(l2.build, 'factor-pass');
  assert.match(l2.why, /^exact: 500 <= --exact-max 1000; building the block from one factor pass .* <= the planned estimates ~ 4\d\d \(421 products/);
  assert.equal(exactDecision(dense, a, 'residual').exact, false, 'no factor pass for the residual: 500 unit vectors cost more');
  assert.match(exactDecision({ ...dense, exactMax: 0 }, a, 'hessian').why, /--exact-max 0 turns exact blocks off/);
  assert.match(exactDecision({ ...dense, exactMax: 100 }, a, 'hessian').why, /^estimated: 500 parameters > --exact-max 100/);
});
