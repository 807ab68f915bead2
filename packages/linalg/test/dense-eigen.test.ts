import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, symmetricWithSpectrum, symmetricEigenvalues, symmetrize } from '../src/index.js';

test('every eigenvalue of dense symmetric matrices with known spectra, float64 accuracy', () => {
  const rng = new Rng(4);
  for (const n of [1, 2, 3, 17, 120]) {
    // clustered, repeated, negative and zero eigenvalues
    const eigs = Array.from({ length: n }, (_, i) => (i % 7 === 0 ? 0 : i % 5 === 0 ? 2.5 : rng.normal() * 10 ** rng.int(4)));
    const op = symmetricWithSpectrum(eigs, rng);
    const got = symmetricEigenvalues(op.data, n);
    const want = Float64Array.from(eigs).sort();
    const scale = Math.max(1, ...want.map(Math.abs));
    for (let i = 0; i < n; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-11 * scale, `n=${n} eig ${i}: ${got[i]} vs ${want[i]}`);
  }
});

test('a zero matrix, a diagonal one, and a size mismatch', () => {
  assert.deepEqual(Array.from(symmetricEigenvalues(new Float64Array(9), 3)), [0, 0, 0]);
  assert.deepEqual(Array.from(symmetricEigenvalues(Float64Array.from([3, 0, 0, 0, -1, 0, 0, 0, 2]), 3)), [-1, 2, 3]);
  assert.throws(() => symmetricEigenvalues(new Float64Array(5), 2), /4/);
});

test('symmetrize averages the two triangles and reports the worst asymmetry', () => {
  const a = Float64Array.from([1, 2, 4, 3]);
  assert.equal(symmetrize(a, 2), 2);
  assert.deepEqual(Array.from(a), [1, 3, 3, 3]);
});
