// linalg's float64 kernels on OpenBLAS / LAPACK (@hessian/native, registered by initBackend
// when it selects `native`) against the JavaScript ones and against known spectra.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, denseKernels, reorthogonalize, setDenseKernels, symmetricEigenvalues, symmetricWithSpectrum } from '@hessian/linalg';
import { initBackend } from '../src/index.js';

let skip: string | false = false;
try {
  await initBackend('native');
  if (!denseKernels().symmetricEigenvalues) skip = 'the native addon predates its float64 kernels (npm run build:addon -w @hessian/native)';
} catch (e) {
  skip = `native backend unavailable: ${(e as Error).message}`;
}

test('native dense eigenvalues (LAPACK dsyevd) equal a known spectrum and the JavaScript Householder solver', { skip }, () => {
  const n = 300;
  const rng = new Rng(3);
  const spectrum = Array.from({ length: n }, (_, i) => (i < 5 ? 50 * (i + 1) : rng.uniform() * 4 - 1));
  const a = symmetricWithSpectrum(spectrum, new Rng(4)).data;
  const want = spectrum.slice().sort((x, y) => x - y);
  const fast = symmetricEigenvalues(a, n);
  const kernels = denseKernels();
  setDenseKernels(null);
  try {
    const js = symmetricEigenvalues(a, n);
    for (let i = 0; i < n; i++) {
      assert.ok(Math.abs(fast[i] - want[i]) <= 1e-11 * 250, `eigenvalue ${i}: ${fast[i]} vs ${want[i]}`);
      assert.ok(Math.abs(fast[i] - js[i]) <= 1e-11 * 250, `eigenvalue ${i}: native ${fast[i]} vs js ${js[i]}`);
    }
  } finally {
    setDenseKernels(kernels);
  }
});

/**
 * A 14-vector orthonormal basis (the four-at-a-time loop and its remainder; n not a multiple
 * of the tile) stored as `make` says, one vector w: the native sweeps and the JavaScript ones
 * give the same result, orthogonal to the stored vectors to within `orthTol` of ||w||.
 */
function checkSweeps(make: (q: Float64Array) => Float64Array | Float32Array, seed: number, orthTol: number): void {
  const n = 5003;
  const rng = new Rng(seed);
  const basis: (Float64Array | Float32Array)[] = [];
  for (let i = 0; i < 14; i++) {
    const q = Float64Array.from(rng.gaussian(n));
    reorthogonalize(q, basis);
    let s = 0;
    for (const x of q) s += x * x;
    for (let j = 0; j < n; j++) q[j] /= Math.sqrt(s);
    basis.push(make(q));
  }
  const w0 = Float64Array.from(rng.gaussian(n));
  const wFast = w0.slice();
  const rFast = reorthogonalize(wFast, basis);
  const kernels = denseKernels();
  setDenseKernels(null);
  try {
    const wJs = w0.slice();
    const rJs = reorthogonalize(wJs, basis);
    assert.equal(rFast.passes, rJs.passes);
    assert.ok(Math.abs(rFast.normAfter - rJs.normAfter) <= 1e-12 * rJs.normAfter);
    for (let j = 0; j < n; j++) assert.ok(Math.abs(wFast[j] - wJs[j]) <= 1e-12, `w[${j}]`);
    for (const q of basis) {
      let s = 0;
      for (let j = 0; j < n; j++) s += q[j] * wFast[j];
      assert.ok(Math.abs(s) <= orthTol * rFast.normBefore, `q . w = ${s}`);
    }
  } finally {
    setDenseKernels(kernels);
  }
}

test('native Gram-Schmidt sweeps give the JavaScript sweeps\' result to float64 rounding', { skip }, () => {
  checkSweeps((q) => q, 5, 1e-12);
});

test('native Gram-Schmidt sweeps over a float32 basis give the JavaScript sweeps\' result to float64 rounding', { skip }, (t) => {
  if (!denseKernels().project32) return t.skip('the native addon predates its float32 sweeps (npm run build:addon -w @hessian/native)');
  // orthogonal to the stored vectors to their own rounding (float32: orthonormal to ~1e-7)
  checkSweeps((q) => Float32Array.from(q), 6, 1e-6);
});
