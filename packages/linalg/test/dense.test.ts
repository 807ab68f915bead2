import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DenseSymmetricOperator, DiagonalOperator, randomOrthogonal, symmetricWithSpectrum } from '../src/dense.js';
import { isUserError } from '../src/errors.js';
import { Rng } from '../src/random.js';
import { sum } from './helpers.js';

test('randomOrthogonal is orthogonal to machine precision and seeded', () => {
  const n = 300;
  const q = randomOrthogonal(n, new Rng(11));
  let worst = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += q[k * n + i] * q[k * n + j];
      worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
    }
  }
  assert.ok(worst < 1e-12, `Q^T Q - I max entry ${worst}`);
  assert.deepEqual(randomOrthogonal(n, new Rng(11)), q);
  assert.notDeepEqual(randomOrthogonal(n, new Rng(12)), q);
});

test('randomOrthogonal has no preferred sign or direction (Haar): entry means near 0', () => {
  // For Haar Q, each entry has mean 0 and variance 1/n. Without the sign fix of R's diagonal,
  // Householder QR of a Gaussian matrix gives a biased diagonal; check the diagonal mean.
  const n = 40;
  let diagSum = 0;
  const reps = 200;
  for (let r = 0; r < reps; r++) {
    const q = randomOrthogonal(n, new Rng(1000 + r));
    for (let i = 0; i < n; i++) diagSum += q[i * n + i];
  }
  // Sum of reps*n entries of variance 1/n: standard deviation sqrt(reps). Allow 5 sd.
  assert.ok(Math.abs(diagSum) < 5 * Math.sqrt(reps), `diagonal sum ${diagSum}`);
});

test('symmetricWithSpectrum reproduces tr A and ||A||_F^2 of its spectrum and is symmetric', async () => {
  const rng = new Rng(5);
  const eigs = Array.from({ length: 200 }, (_, i) => (i % 7) - 3 + i / 100);
  const a = symmetricWithSpectrum(eigs, rng);
  const n = a.dim;
  let tr = 0;
  let fro = 0;
  let asym = 0;
  for (let i = 0; i < n; i++) {
    tr += a.data[i * n + i];
    for (let j = 0; j < n; j++) {
      fro += a.data[i * n + j] ** 2;
      asym = Math.max(asym, Math.abs(a.data[i * n + j] - a.data[j * n + i]));
    }
  }
  assert.ok(Math.abs(tr - sum(eigs)) < 1e-9 * n);
  assert.ok(Math.abs(fro - sum(eigs.map((e) => e * e))) < 1e-9 * fro);
  assert.equal(asym, 0);
  assert.deepEqual(Array.from(a.spectrum!), [...eigs].sort((p, q) => p - q));
  // matvec: float32 in and out, float64 inside.
  const v = new Float32Array(n).fill(1);
  const av = await a.matvec(v);
  const exact = a.apply(v);
  for (let i = 0; i < n; i++) assert.ok(Math.abs(av[i] - exact[i]) <= 1e-6 * Math.abs(exact[i]) + 1e-12);
});

test('operators reject bad shapes with a UserError', async () => {
  assert.throws(() => new DenseSymmetricOperator(3, new Float64Array(8)), (e) => isUserError(e));
  assert.throws(() => new DiagonalOperator([]), (e) => isUserError(e));
  const d = new DiagonalOperator([1, 2, 3]);
  assert.deepEqual(Array.from(await d.matvec(Float32Array.from([1, 1, 2]))), [1, 2, 6]);
  assert.throws(() => d.matvec(new Float32Array(2)), (e) => isUserError(e));
});
