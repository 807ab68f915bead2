/**
 * Dense and diagonal operators with known spectra: the test bed of every algorithm in this
 * package (and a convenient operator for small problems). Products are computed in float64
 * from the float32 input and rounded to float32 on output, like a real HVP would be.
 */
import { UserError } from './errors.js';
import type { LinearOperator } from './operator.js';
import type { Rng } from './random.js';

/** A symmetric n x n matrix stored dense, row-major, in float64. Symmetry is the caller's promise. */
export class DenseSymmetricOperator implements LinearOperator {
  readonly dim: number;
  /** Eigenvalues (ascending), when the matrix was built from a known spectrum. */
  spectrum?: Float64Array;

  constructor(
    n: number,
    readonly data: Float64Array,
  ) {
    if (!Number.isInteger(n) || n < 1) throw new UserError(`Matrix dimension must be a positive integer, got ${n}.`);
    if (data.length !== n * n) {
      throw new UserError(`A ${n}x${n} matrix needs ${n * n} entries, got ${data.length}.`);
    }
    this.dim = n;
  }

  /** A v in float64, for tests that need the exact product. */
  apply(v: ArrayLike<number>): Float64Array {
    const n = this.dim;
    if (v.length !== n) throw new UserError(`Vector length ${v.length} does not match the operator dimension ${n}.`);
    const a = this.data;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const row = i * n;
      let s = 0;
      for (let j = 0; j < n; j++) s += a[row + j] * v[j];
      out[i] = s;
    }
    return out;
  }

  matvec(v: Float32Array): Promise<Float32Array> {
    return Promise.resolve(Float32Array.from(this.apply(v)));
  }
}

/** diag(d): the cheapest operator with a known spectrum (any dimension, O(n) products). */
export class DiagonalOperator implements LinearOperator {
  readonly dim: number;
  readonly diag: Float64Array;

  constructor(diag: Float64Array | number[]) {
    if (diag.length < 1) throw new UserError('A diagonal operator needs at least one entry.');
    this.diag = Float64Array.from(diag);
    this.dim = this.diag.length;
  }

  matvec(v: Float32Array): Promise<Float32Array> {
    if (v.length !== this.dim) {
      throw new UserError(`Vector length ${v.length} does not match the operator dimension ${this.dim}.`);
    }
    const out = new Float32Array(this.dim);
    for (let i = 0; i < this.dim; i++) out[i] = this.diag[i] * v[i];
    return Promise.resolve(out);
  }
}

/**
 * A random n x n orthogonal matrix (row-major), distributed by Haar measure: the Q factor of
 * the Householder QR of a standard Gaussian matrix, with its columns' signs fixed so that
 * R has a positive diagonal (without that fix Q is not Haar; Mezzadri 2007).
 * Cost about (8/3) n^3 flops: fine up to n of a few hundred in JavaScript.
 */
export function randomOrthogonal(n: number, rng: Rng): Float64Array {
  if (!Number.isInteger(n) || n < 1) throw new UserError(`Matrix dimension must be a positive integer, got ${n}.`);
  const a = new Float64Array(n * n);
  for (let i = 0; i < a.length; i++) a[i] = rng.normal();

  // Householder QR in place: reflector k zeroes column k below the diagonal. The unit
  // reflector vectors are kept for forming Q; the diagonal of R only for its signs.
  const vs: Float64Array[] = [];
  const rSign = new Float64Array(n);
  const w = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const len = n - k;
    const v = new Float64Array(len);
    let xnorm2 = 0;
    for (let i = 0; i < len; i++) {
      v[i] = a[(k + i) * n + k];
      xnorm2 += v[i] * v[i];
    }
    const xnorm = Math.sqrt(xnorm2);
    const x0 = v[0];
    // v = x + sign(x0) ||x|| e1 avoids cancellation; then R_kk = -sign(x0) ||x||.
    const s = x0 >= 0 ? 1 : -1;
    rSign[k] = xnorm === 0 ? 1 : -s;
    v[0] += s * xnorm;
    const vnorm = Math.sqrt(xnorm2 - x0 * x0 + v[0] * v[0]);
    if (vnorm === 0 || k === n - 1) {
      // Nothing to reflect (last column, or an exactly zero column): H_k = I.
      if (k === n - 1) rSign[k] = x0 >= 0 ? 1 : -1;
      vs.push(new Float64Array(len));
      continue;
    }
    for (let i = 0; i < len; i++) v[i] /= vnorm;
    vs.push(v);
    applyReflectorFromLeft(a, n, k, k + 1, v, w);
  }

  // Q = H_0 H_1 ... H_{n-2} I, accumulated backwards so each H_k touches rows and columns >= k.
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  for (let k = n - 1; k >= 0; k--) applyReflectorFromLeft(q, n, k, k, vs[k], w);
  // Q <- Q diag(sign(R_kk)), which makes the factorization unique and Q Haar-distributed.
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) q[i * n + j] *= rSign[j];
  return q;
}

/**
 * M[k:, c0:] <- (I - 2 v v^T) M[k:, c0:] for a row-major n x n matrix M and a unit v of length n-k.
 * Row-wise passes keep memory access contiguous.
 */
function applyReflectorFromLeft(m: Float64Array, n: number, k: number, c0: number, v: Float64Array, w: Float64Array): void {
  w.fill(0, c0, n);
  for (let i = 0; i < v.length; i++) {
    const vi = v[i];
    if (vi === 0) continue;
    const row = (k + i) * n;
    for (let j = c0; j < n; j++) w[j] += vi * m[row + j];
  }
  for (let i = 0; i < v.length; i++) {
    const vi2 = 2 * v[i];
    if (vi2 === 0) continue;
    const row = (k + i) * n;
    for (let j = c0; j < n; j++) m[row + j] -= vi2 * w[j];
  }
}

/**
 * Q diag(eigs) Q^T for a Haar-random orthogonal Q: a dense symmetric matrix whose spectrum is
 * known exactly, with eigenvectors in general position (no structure for an algorithm to exploit).
 */
export function symmetricWithSpectrum(eigs: ArrayLike<number>, rng: Rng): DenseSymmetricOperator {
  const n = eigs.length;
  const q = randomOrthogonal(n, rng);
  // B = Q diag(eigs); then A_ij = <B row i, Q row j>, both rows contiguous.
  const b = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) b[i * n + k] = q[i * n + k] * eigs[k];
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j <= i; j++) {
      const rj = j * n;
      let s = 0;
      for (let k = 0; k < n; k++) s += b[ri + k] * q[rj + k];
      a[ri + j] = s;
      a[rj + i] = s;
    }
  }
  const op = new DenseSymmetricOperator(n, a);
  op.spectrum = Float64Array.from(eigs).sort();
  return op;
}
