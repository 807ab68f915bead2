import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng, symmetricWithSpectrum } from '@hessian/linalg';
import { lanczosTopK } from '../../src/estimators/lanczos-top-k.js';
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
