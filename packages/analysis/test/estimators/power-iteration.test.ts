import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng, symmetricWithSpectrum } from '@hessian/linalg';
import { powerIteration } from '../../src/estimators/power-iteration.js';
import { denseContext, runEstimator } from './helpers.js';

test('power-iteration (PyHessian) finds the two largest-magnitude eigenvalues of a spectrum with gaps', async () => {
  const eigs = [10, 4, ...Array.from({ length: 38 }, (_, i) => 0.5 - i / 76)];
  const ctx = denseContext(symmetricWithSpectrum(eigs, new Rng(5)), [['a', 20], ['b', 20]]);
  const run = await runEstimator(powerIteration, { topK: { k: 2, method: 'power', tol: 1e-7, maxIter: 300 }, trace: null, density: null, similarity: false }, ctx, ['full']);
  assert.deepEqual(run.tasks.map((t) => [t.id, t.kind, t.cost]), [['full/hessian/top-k', 'power-iteration', 600]]);
  const top = run.fields('full').top!;
  assert.equal(top.method, 'power');
  assert.ok(Math.abs(top.values[0] - 10) < 1e-3, `${top.values[0]}`);
  assert.ok(Math.abs(top.values[1] - 4) < 1e-3, `${top.values[1]}`);
});
