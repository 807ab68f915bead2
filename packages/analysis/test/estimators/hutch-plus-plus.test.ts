import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng, symmetricWithSpectrum } from '@hessian/linalg';
import { hutchPlusPlus } from '../../src/estimators/hutch-plus-plus.js';
import { denseContext, runEstimator } from './helpers.js';

test('hutch++ is exact (to float32) when the sketch spans a low-rank matrix, one task per scope', async () => {
  const eigs = [9, -4, 3, 2, 0.5, ...Array.from({ length: 35 }, () => 0)];
  const ctx = denseContext(symmetricWithSpectrum(eigs, new Rng(21)), [['a', 40]]);
  const run = await runEstimator(hutchPlusPlus, { topK: null, trace: { method: 'hutch++', probes: 30 }, density: null, similarity: false, full: false }, ctx, ['a']);
  assert.deepEqual(run.tasks.map((t) => t.id), ['a/hessian/hutch++']);
  const t = run.fields('a').trace!;
  assert.equal(t.method, 'hutch++');
  assert.ok(Math.abs(t.mean - 10.5) < 1e-4, `${t.mean}`);
  assert.ok(t.stderr < 1e-4, `${t.stderr}`);
  assert.equal(t.hvps, 30);
});
