/**
 * All eigenvalues of a dense symmetric matrix in float64, for blocks small enough to form
 * (hundreds to a few thousand rows): Householder reduction to tridiagonal form (EISPACK
 * tred1's algorithm, without accumulating the transformations), then the implicit-QL
 * tridiagonal solver of tridiag.ts. O(2 n^3) flops; measured at load 16 on the shared 2 cores:
 * 850 rows 3.3 s, 1290 rows 14.6 s in JS. With registered kernels (kernels.ts: LAPACK dsyevd
 * through @hessian/native) from 64 rows on.
 */
import { denseKernels } from './kernels.js';
import { tridiagonalEigen } from './tridiag.js';

/** Symmetrizes in place: a <- (a + a^T) / 2 (row-major n x n). Returns the max |a_ij - a_ji| seen. */
export function symmetrize(a: Float64Array, n: number): number {
  let worst = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const x = a[i * n + j];
      const y = a[j * n + i];
      worst = Math.max(worst, Math.abs(x - y));
      const m = (x + y) / 2;
      a[i * n + j] = m;
      a[j * n + i] = m;
    }
  }
  return worst;
}

/** Eigenvalues (ascending) of a symmetric n x n row-major matrix; `a` is not modified. */
export function symmetricEigenvalues(a: ArrayLike<number>, n: number): Float64Array {
  if (a.length !== n * n) throw new RangeError(`symmetricEigenvalues: matrix has ${a.length} entries, expected ${n * n}`);
  if (n === 0) return new Float64Array(0);
  const fast = denseKernels().symmetricEigenvalues;
  if (fast && n >= 64) return fast(a instanceof Float64Array ? a : Float64Array.from(a), n);
  const m = Float64Array.from(a);
  const d = new Float64Array(n);
  const e = new Float64Array(n); // e[i] couples i-1 and i
  const u = new Float64Array(n);
  const p = new Float64Array(n);
  // Reduce rows n-1 .. 1: zero row i left of the subdiagonal with a reflector on 0..i-1.
  for (let i = n - 1; i >= 1; i--) {
    const l = i - 1;
    const row = i * n;
    let scale = 0;
    for (let k = 0; k <= l; k++) scale += Math.abs(m[row + k]);
    if (l === 0 || scale === 0) {
      e[i] = m[row + l];
      d[i] = 0;
      continue;
    }
    let h = 0;
    for (let k = 0; k <= l; k++) {
      u[k] = m[row + k] / scale;
      h += u[k] * u[k];
    }
    const f = u[l];
    const g = f >= 0 ? -Math.sqrt(h) : Math.sqrt(h);
    e[i] = scale * g;
    h -= f * g;
    u[l] = f - g;
    // p = A u / h on the leading (l+1) block, K = u^T p / (2h), q = p - K u, A -= u q^T + q u^T
    let uap = 0;
    for (let j = 0; j <= l; j++) {
      let s = 0;
      const rj = j * n;
      for (let k = 0; k <= l; k++) s += m[rj + k] * u[k];
      p[j] = s / h;
      uap += u[j] * p[j];
    }
    const kk = uap / (2 * h);
    for (let j = 0; j <= l; j++) p[j] -= kk * u[j];
    for (let j = 0; j <= l; j++) {
      const rj = j * n;
      const uj = u[j];
      const pj = p[j];
      for (let k = 0; k <= l; k++) m[rj + k] -= uj * p[k] + pj * u[k];
    }
  }
  for (let i = 0; i < n; i++) d[i] = m[i * n + i];
  return tridiagonalEigen(d, e.subarray(1)).values;
}
