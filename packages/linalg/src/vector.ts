/**
 * Float64 vector helpers for the algorithms.
 *
 * Operators exchange Float32Array (what crosses the wire and what GPUs compute in), but every
 * algorithm here accumulates in float64: inner products of million-long float32 vectors lose
 * about half their digits otherwise, and Lanczos reorthogonalization would stall at 1e-4.
 */

/** Inner product, accumulated in float64. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (b.length !== n) throw new RangeError(`dot: lengths differ (${n} vs ${b.length})`);
  let s0 = 0;
  let s1 = 0;
  let i = 0;
  // Two accumulators: slightly better rounding and lets the JIT pipeline the loop.
  for (; i + 1 < n; i += 2) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
  }
  if (i < n) s0 += a[i] * b[i];
  return s0 + s1;
}

/** Euclidean norm, accumulated in float64. */
export function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

/** y += alpha * x, in place. */
export function axpy(alpha: number, x: ArrayLike<number>, y: Float64Array): void {
  const n = y.length;
  if (x.length !== n) throw new RangeError(`axpy: lengths differ (${x.length} vs ${n})`);
  for (let i = 0; i < n; i++) y[i] += alpha * x[i];
}

/** x *= s, in place. */
export function scale(x: Float64Array, s: number): void {
  for (let i = 0; i < x.length; i++) x[i] *= s;
}

/** Scales x to unit norm in place and returns its former norm (x untouched when the norm is 0). */
export function normalize(x: Float64Array): number {
  const nrm = norm(x);
  if (nrm > 0) scale(x, 1 / nrm);
  return nrm;
}

export function toFloat32(x: ArrayLike<number>): Float32Array {
  return Float32Array.from(x);
}

export function toFloat64(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x);
}

/**
 * Removes from w its components along the orthonormal vectors of `basis`, in place, by
 * classical Gram-Schmidt repeated `passes` times ("twice is enough", Giraud et al. 2005):
 * one CGS pass loses orthogonality in proportion to the condition number, a second pass
 * restores it to machine precision. Returns the coefficients of the first pass.
 */
export function orthogonalizeAgainst(w: Float64Array, basis: readonly Float64Array[], passes = 2): Float64Array {
  const first = new Float64Array(basis.length);
  for (let p = 0; p < passes; p++) {
    // Classical GS: all coefficients from the same w, then one combined update.
    const c = new Float64Array(basis.length);
    for (let i = 0; i < basis.length; i++) c[i] = dot(basis[i], w);
    for (let i = 0; i < basis.length; i++) axpy(-c[i], basis[i], w);
    if (p === 0) first.set(c);
  }
  return first;
}
