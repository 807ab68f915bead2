// linalg's float64 kernels on OpenBLAS / LAPACK (@hessian/native, registered by initBackend
// when it selects `native`) against the JavaScript ones and against known spectra.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, combineBasis, denseKernels, lanczosStep32, reorthogonalize, scaledFloat32, setDenseKernels, symmetricEigenvalues, symmetricWithSpectrum } from '@hessian/linalg';
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
 * A 14-vector orthonormal basis (the eight- and four-at-a-time loops and the remainder; n over
 * two tiles of 16384 and not a multiple of one) stored as `make` says, one vector w: the native sweeps and the JavaScript ones
 * give the same result, orthogonal to the stored vectors to within `orthTol` of ||w||.
 */
function checkSweeps(make: (q: Float64Array) => Float64Array | Float32Array, seed: number, orthTol: number): void {
  const n = 40003;
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

test('native float32 Lanczos step, basis rounding and Ritz combinations give the JavaScript results to float64 rounding', { skip }, (t) => {
  if (!denseKernels().lanczosStep32) return t.skip('the native addon predates its Lanczos step (npm run build:addon -w @hessian/native)');
  const n = 5003;
  const rng = new Rng(8);
  const f32 = (x: ArrayLike<number>) => Float32Array.from(x);
  const aq = f32(rng.gaussian(n)), q = f32(rng.gaussian(n)), qPrev = f32(rng.gaussian(n));
  const basis = Array.from({ length: 7 }, () => f32(rng.gaussian(n)));
  const coeffs = [rng.gaussian(7), rng.gaussian(5)];
  const x = Float64Array.from(rng.gaussian(n));
  const run = () => ({
    withPrev: (() => {
      const w = new Float64Array(n);
      return { ...lanczosStep32(aq, q, qPrev, 0.7, w), w };
    })(),
    first: (() => {
      const w = new Float64Array(n);
      return { ...lanczosStep32(aq, q, null, 0, w), w };
    })(),
    scaled: scaledFloat32(x, 3.5),
    ritz: combineBasis(basis, coeffs, n),
  });
  const fast = run();
  const kernels = denseKernels();
  setDenseKernels(null);
  let js: ReturnType<typeof run>;
  try {
    js = run();
  } finally {
    setDenseKernels(kernels);
  }
  const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${what}: native ${a} vs js ${b}`);
  for (const k of ['withPrev', 'first'] as const) {
    close(fast[k].alpha, js[k].alpha, `${k} alpha`);
    close(fast[k].before2, js[k].before2, `${k} before2`);
    close(fast[k].after2, js[k].after2, `${k} after2`);
    for (let i = 0; i < n; i++) close(fast[k].w[i], js[k].w[i], `${k} w[${i}]`);
  }
  // the same float64 product rounded once to float32: identical
  assert.deepEqual(fast.scaled, js.scaled);
  for (let r = 0; r < coeffs.length; r++) for (let i = 0; i < n; i++) close(fast.ritz[r][i], js.ritz[r][i], `ritz ${r} [${i}]`);
});
