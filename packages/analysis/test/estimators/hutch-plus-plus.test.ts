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

test('hutch++ with --trace-target stops its Hutchinson part at the target: fewer products, estimate within its error', async () => {
  // 8 outliers over a dense bulk of 292: the sketch takes the outliers, Hutchinson the bulk.
  const rng = new Rng(31);
  const eigs = [40, 30, 25, 20, 15, 12, 10, 8, ...Array.from({ length: 292 }, () => 0.5 + rng.uniform())];
  const truth = eigs.reduce((a, b) => a + b, 0);
  const ctx = denseContext(symmetricWithSpectrum(eigs, new Rng(32)), [['a', 300]]);
  const spec = { topK: null, density: null, similarity: false, full: false, exactMax: 0 };
  const whole = await runEstimator(hutchPlusPlus, { ...spec, trace: { method: 'hutch++', probes: 300 } }, ctx, ['a']);
  const adaptive = await runEstimator(hutchPlusPlus, { ...spec, trace: { method: 'hutch++', probes: 300, targetRelStderr: 0.005 } }, ctx, ['a']);
  const w = whole.fields('a').trace!;
  const a = adaptive.fields('a').trace!;
  assert.equal(w.hvps, 300);
  assert.ok(a.hvps < 300 && a.hvps >= 200 + 10, `adaptive products: ${a.hvps}`);
  assert.ok(a.stderr <= 0.005 * Math.abs(a.mean), `${a.stderr} vs ${a.mean}`);
  // the same sketch and probes: the adaptive estimate is the whole run's on a prefix of its samples
  assert.ok(Math.abs(a.mean - truth) <= 4 * a.stderr + 1e-4 * truth, `${a.mean} vs ${truth} ± ${a.stderr}`);
  assert.equal(adaptive.tasks[0].kind === 'hutch++' && (adaptive.tasks[0] as { target?: number }).target, 0.005);
});
