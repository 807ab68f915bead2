import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DiagonalOperator, symmetricWithSpectrum } from '../src/dense.js';
import { lanczos, LanczosProcess } from '../src/lanczos.js';
import { CountingOperator } from '../src/operator.js';
import { Rng } from '../src/random.js';
import { isUserError } from '../src/errors.js';
import { dot } from '../src/vector.js';
import { marchenkoPastur } from './helpers.js';

test('full reorthogonalization keeps Q orthonormal and Q^T A Q = T', async () => {
  const rng = new Rng(21);
  const eigs = [...marchenkoPastur(396, 0.5, rng.fork('bulk')), 50, 80, 120, 200];
  const a = symmetricWithSpectrum(eigs, rng.fork('q'));
  const op = new CountingOperator(a);
  const steps = 80;
  const r = await lanczos(op, { steps, rng: rng.fork('start'), keepBasis: true });
  assert.equal(r.steps, steps);
  assert.equal(r.matvecs, steps);
  assert.equal(op.count, steps);
  assert.equal(r.alpha.length, steps);
  assert.equal(r.beta.length, steps - 1);
  assert.equal(r.breakdown, false);
  const q = r.basis!;
  // Orthonormality: converged outliers make plain Lanczos lose it within a few dozen steps.
  const orth = orthogonalityLoss(q, steps, a.dim);
  assert.ok(orth < 1e-13, `max |Q^T Q - I| = ${orth}`);
  // Q^T A Q equals T up to the float32 rounding of the products (about 1e-7 * ||A||).
  const dev = tridiagonalDeviation(q, q.map((v) => a.apply(v)), r, steps, a.dim);
  assert.ok(dev < 1e-5 * 200, `max |Q^T A Q - T| = ${dev}`);
});

test('breakdown: a start on an eigenvector stops after one step with the eigenvalue', async () => {
  const d = new DiagonalOperator([3, 1, 4, 1, 5]);
  const start = Float32Array.from([0, 0, 1, 0, 0]);
  const r = await lanczos(d, { steps: 4, rng: new Rng(1), start });
  assert.equal(r.breakdown, true);
  assert.equal(r.steps, 1);
  assert.deepEqual(r.alpha, [4]);
  assert.deepEqual(r.beta, []);
});

test('steps are capped at the dimension, which is not a breakdown', async () => {
  const d = new DiagonalOperator(Array.from({ length: 30 }, (_, i) => i + 1));
  const r = await lanczos(d, { steps: 100, rng: new Rng(2) });
  assert.equal(r.steps, 30);
  assert.equal(r.breakdown, false);
  await assert.rejects(lanczos(d, { steps: 0, rng: new Rng(2) }), (e) => isUserError(e));
  await assert.rejects(lanczos(d, { steps: 3, rng: new Rng(2), start: new Float32Array(30) }), (e) => isUserError(e));
});

test('same seed, same coefficients; different seed, different ones', async () => {
  const d = new DiagonalOperator(Array.from({ length: 300 }, (_, i) => Math.sqrt(i)));
  const r1 = await lanczos(d, { steps: 20, rng: new Rng(9) });
  const r2 = await lanczos(d, { steps: 20, rng: new Rng(9) });
  const r3 = await lanczos(d, { steps: 20, rng: new Rng(10) });
  assert.deepEqual(r1, r2);
  assert.notDeepEqual(r1.alpha, r3.alpha);
});

test('float32 basis: Q^T Q = I to float32 level, Q^T A Q = T as in float64, half the memory', async () => {
  const rng = new Rng(21);
  const eigs = [...marchenkoPastur(396, 0.5, rng.fork('bulk')), 50, 80, 120, 200];
  const a = symmetricWithSpectrum(eigs, rng.fork('q'));
  const steps = 80;
  const r = await lanczos(a, { steps, rng: rng.fork('start'), keepBasis: true, basis: 'float32' });
  assert.equal(r.steps, steps);
  assert.equal(r.breakdown, false);
  const q = r.basis!;
  assert.ok(q.every((v) => v instanceof Float32Array));
  const orth = orthogonalityLoss(q, steps, a.dim);
  // Each vector is rounded to float32 once (relative 6e-8); the loss does not grow with the steps.
  assert.ok(orth < 1e-6, `max |Q^T Q - I| = ${orth}`);
  const dev = tridiagonalDeviation(q, q.map((v) => a.apply(v)), r, steps, a.dim);
  assert.ok(dev < 1e-5 * 200, `max |Q^T A Q - T| = ${dev}`);
  await assert.rejects(lanczos(a, { steps: 3, rng: new Rng(2), basis: 'float16' as never }), (e) => isUserError(e));
});

test('DGKS: one Gram-Schmidt pass per step on a well-behaved run; restarts still work in float32', async () => {
  const d = new DiagonalOperator(Array.from({ length: 500 }, (_, i) => Math.sqrt(i + 1)));
  const p = new LanczosProcess(d, new Rng(4).gaussian(500));
  for (let i = 0; i < 40; i++) await p.step();
  assert.ok(p.gsPasses >= 40 && p.gsPasses <= 44, `passes ${p.gsPasses}`);
  // Breakdown + restart with a float32 basis: the restart direction is stored as float32 too.
  const b = new LanczosProcess(new DiagonalOperator([3, 1, 4, 1, 5]), Float32Array.from([0, 0, 1, 0, 0]), undefined, 'float32');
  await b.step();
  assert.equal(b.stalled, true);
  assert.equal(b.restart(new Rng(5)), true);
  await b.step();
  assert.ok(b.basis.every((v) => v instanceof Float32Array));
  assert.ok(Math.abs(dot(b.basis[0], b.basis[1])) < 1e-7);
});

/** max |Q^T Q - I| over the first `steps` basis vectors. */
function orthogonalityLoss(q: ArrayLike<number>[], steps: number, n: number): number {
  let orth = 0;
  for (let i = 0; i < steps; i++) {
    for (let j = 0; j <= i; j++) {
      let d = 0;
      for (let k = 0; k < n; k++) d += q[i][k] * q[j][k];
      orth = Math.max(orth, Math.abs(d - (i === j ? 1 : 0)));
    }
  }
  return orth;
}

/** max |Q^T A Q - T| with T the tridiagonal matrix of alpha / beta (`aq` = A applied to each basis vector). */
function tridiagonalDeviation(q: ArrayLike<number>[], aq: ArrayLike<number>[], r: { alpha: number[]; beta: number[] }, steps: number, n: number): number {
  let dev = 0;
  for (let i = 0; i < steps; i++) {
    for (let j = 0; j < steps; j++) {
      let d = 0;
      for (let k = 0; k < n; k++) d += q[i][k] * aq[j][k];
      const t = i === j ? r.alpha[i] : Math.abs(i - j) === 1 ? r.beta[Math.min(i, j)] : 0;
      dev = Math.max(dev, Math.abs(d - t));
    }
  }
  return dev;
}
