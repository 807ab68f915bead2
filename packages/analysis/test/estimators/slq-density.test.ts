import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DiagonalOperator } from '@hessian/linalg';
import { slqDensity } from '../../src/estimators/slq-density.js';
import { denseContext, runEstimator } from './helpers.js';

test('slq-density recovers the exact spectral measure of a diagonal matrix (Rademacher start: (q . e_j)^2 = 1/n)', async () => {
  // eigenvalues 1 (x10), 3 (x20), 6 (x10): 3 distinct values, so 3 Lanczos steps are exact.
  const d = [...Array(10).fill(1), ...Array(20).fill(3), ...Array(10).fill(6)];
  const ctx = denseContext(new DiagonalOperator(d), [['a', 40]]);
  const run = await runEstimator(slqDensity, { topK: null, trace: null, density: { runs: 2, steps: 8, preset: 'papyan', gridPoints: 200 }, similarity: false, full: false }, ctx, ['a']);
  assert.deepEqual(run.tasks.map((t) => t.id), ['a/hessian/density/0', 'a/hessian/density/1']);
  const dens = run.fields('a').density!;
  assert.equal(dens.runs, 2);
  assert.equal(dens.grid.length, 200);
  // The merged measure: weight 1/4, 1/2, 1/4 at 1, 3, 6 (split over the runs' nodes).
  const mass = (x: number) => dens.nodes.reduce((s, n, i) => s + (Math.abs(n - x) < 1e-4 ? dens.weights[i] : 0), 0);
  assert.ok(Math.abs(mass(1) - 0.25) < 1e-5, `${mass(1)}`);
  assert.ok(Math.abs(mass(3) - 0.5) < 1e-5, `${mass(3)}`);
  assert.ok(Math.abs(mass(6) - 0.25) < 1e-5, `${mass(6)}`);
  assert.ok(dens.hvps >= 6);
});
