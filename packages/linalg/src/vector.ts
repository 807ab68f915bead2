/**
 * Float64 vector helpers for the algorithms.
 *
 * Operators exchange Float32Array (what crosses the wire and what GPUs compute in), but every
 * algorithm here accumulates in float64: inner products of million-long float32 vectors lose
 * about half their digits otherwise, and Lanczos reorthogonalization would stall at 1e-4.
 */
import { denseKernels } from './kernels.js';

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

/** A float32 copy (typed-array sources take the engine's native conversion, not the iterator path). */
export function toFloat32(x: ArrayLike<number>): Float32Array {
  return ArrayBuffer.isView(x) ? new Float32Array(x) : Float32Array.from(x);
}

/** A float64 copy (typed-array sources take the engine's native conversion, not the iterator path). */
export function toFloat64(x: ArrayLike<number>): Float64Array {
  return ArrayBuffer.isView(x) ? new Float64Array(x) : Float64Array.from(x);
}

/** A stored Krylov basis vector: float64, or float32 when the basis is kept in half the memory. */
export type BasisVector = Float64Array | Float32Array;

/**
 * Elements per cache tile of the blocked Gram-Schmidt kernels: the tile of w (16 KiB) stays in
 * L1 while the matching tile of every basis vector streams past it once.
 */
export const GS_TILE = 2048;

/*
 * Blocked classical Gram-Schmidt kernels. For a basis Q = [q_0 .. q_{k-1}] (n x k) and a
 * vector w, `projectCoefficients` computes c = Q^T w in one sweep over Q and
 * `subtractCombination` computes w -= Q c in a second one, both tile by tile (w's tile in
 * cache, each basis tile read once), four basis vectors at a time (four independent
 * accumulators, one load of w per element), in float64 whatever the storage of Q. Each returns
 * ||w||^2 (before, resp. after the update) for free, which is what the DGKS test needs.
 *
 * The kernels exist twice, for Float64Array and Float32Array bases, on purpose: V8 specializes
 * a function for the array types it sees, and one kernel fed both would stay polymorphic.
 */

function project64(basis: readonly Float64Array[], k: number, w: Float64Array, c: Float64Array): number {
  const fast = denseKernels().project64;
  return fast ? fast(basis, k, w, c) : project64js(basis, k, w, c);
}

function subtract64(basis: readonly Float64Array[], k: number, c: Float64Array, w: Float64Array): number {
  const fast = denseKernels().subtract64;
  return fast ? fast(basis, k, c, w) : subtract64js(basis, k, c, w);
}

function project64js(basis: readonly Float64Array[], k: number, w: Float64Array, c: Float64Array): number {
  const n = w.length;
  c.fill(0, 0, k);
  let ww = 0;
  for (let t0 = 0; t0 < n; t0 += GS_TILE) {
    const t1 = Math.min(n, t0 + GS_TILE);
    for (let j = t0; j < t1; j++) ww += w[j] * w[j];
    let i = 0;
    for (; i + 3 < k; i += 4) {
      const q0 = basis[i];
      const q1 = basis[i + 1];
      const q2 = basis[i + 2];
      const q3 = basis[i + 3];
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let j = t0; j < t1; j++) {
        const x = w[j];
        s0 += q0[j] * x;
        s1 += q1[j] * x;
        s2 += q2[j] * x;
        s3 += q3[j] * x;
      }
      c[i] += s0;
      c[i + 1] += s1;
      c[i + 2] += s2;
      c[i + 3] += s3;
    }
    for (; i < k; i++) {
      const q = basis[i];
      let s = 0;
      for (let j = t0; j < t1; j++) s += q[j] * w[j];
      c[i] += s;
    }
  }
  return ww;
}

function subtract64js(basis: readonly Float64Array[], k: number, c: Float64Array, w: Float64Array): number {
  const n = w.length;
  let ww = 0;
  for (let t0 = 0; t0 < n; t0 += GS_TILE) {
    const t1 = Math.min(n, t0 + GS_TILE);
    let i = 0;
    for (; i + 3 < k; i += 4) {
      const q0 = basis[i];
      const q1 = basis[i + 1];
      const q2 = basis[i + 2];
      const q3 = basis[i + 3];
      const c0 = c[i];
      const c1 = c[i + 1];
      const c2 = c[i + 2];
      const c3 = c[i + 3];
      for (let j = t0; j < t1; j++) w[j] -= c0 * q0[j] + c1 * q1[j] + c2 * q2[j] + c3 * q3[j];
    }
    for (; i < k; i++) {
      const q = basis[i];
      const ci = c[i];
      for (let j = t0; j < t1; j++) w[j] -= ci * q[j];
    }
    for (let j = t0; j < t1; j++) ww += w[j] * w[j];
  }
  return ww;
}

function project32(basis: readonly Float32Array[], k: number, w: Float64Array, c: Float64Array): number {
  const fast = denseKernels().project32;
  return fast ? fast(basis, k, w, c) : project32js(basis, k, w, c);
}

function subtract32(basis: readonly Float32Array[], k: number, c: Float64Array, w: Float64Array): number {
  const fast = denseKernels().subtract32;
  return fast ? fast(basis, k, c, w) : subtract32js(basis, k, c, w);
}

function project32js(basis: readonly Float32Array[], k: number, w: Float64Array, c: Float64Array): number {
  const n = w.length;
  c.fill(0, 0, k);
  let ww = 0;
  for (let t0 = 0; t0 < n; t0 += GS_TILE) {
    const t1 = Math.min(n, t0 + GS_TILE);
    for (let j = t0; j < t1; j++) ww += w[j] * w[j];
    let i = 0;
    for (; i + 3 < k; i += 4) {
      const q0 = basis[i];
      const q1 = basis[i + 1];
      const q2 = basis[i + 2];
      const q3 = basis[i + 3];
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let j = t0; j < t1; j++) {
        const x = w[j];
        s0 += q0[j] * x;
        s1 += q1[j] * x;
        s2 += q2[j] * x;
        s3 += q3[j] * x;
      }
      c[i] += s0;
      c[i + 1] += s1;
      c[i + 2] += s2;
      c[i + 3] += s3;
    }
    for (; i < k; i++) {
      const q = basis[i];
      let s = 0;
      for (let j = t0; j < t1; j++) s += q[j] * w[j];
      c[i] += s;
    }
  }
  return ww;
}

function subtract32js(basis: readonly Float32Array[], k: number, c: Float64Array, w: Float64Array): number {
  const n = w.length;
  let ww = 0;
  for (let t0 = 0; t0 < n; t0 += GS_TILE) {
    const t1 = Math.min(n, t0 + GS_TILE);
    let i = 0;
    for (; i + 3 < k; i += 4) {
      const q0 = basis[i];
      const q1 = basis[i + 1];
      const q2 = basis[i + 2];
      const q3 = basis[i + 3];
      const c0 = c[i];
      const c1 = c[i + 1];
      const c2 = c[i + 2];
      const c3 = c[i + 3];
      for (let j = t0; j < t1; j++) w[j] -= c0 * q0[j] + c1 * q1[j] + c2 * q2[j] + c3 * q3[j];
    }
    for (; i < k; i++) {
      const q = basis[i];
      const ci = c[i];
      for (let j = t0; j < t1; j++) w[j] -= ci * q[j];
    }
    for (let j = t0; j < t1; j++) ww += w[j] * w[j];
  }
  return ww;
}

function checkBasis(w: Float64Array, basis: readonly BasisVector[]): boolean {
  const f32 = basis.length > 0 && basis[0] instanceof Float32Array;
  for (const q of basis) {
    if (q.length !== w.length) throw new RangeError(`orthogonalize: basis vector of length ${q.length}, w of length ${w.length}`);
    if (q instanceof Float32Array !== f32) throw new TypeError('orthogonalize: the basis mixes Float32Array and Float64Array vectors');
  }
  return f32;
}

/** c = Q^T w in one blocked sweep over the basis (float64 accumulation); returns ||w||^2. */
export function projectCoefficients(w: Float64Array, basis: readonly BasisVector[], c: Float64Array): number {
  const f32 = checkBasis(w, basis);
  return f32 ? project32(basis as readonly Float32Array[], basis.length, w, c) : project64(basis as readonly Float64Array[], basis.length, w, c);
}

/** w -= Q c in one blocked sweep over the basis; returns the new ||w||^2. */
export function subtractCombination(w: Float64Array, basis: readonly BasisVector[], c: Float64Array): number {
  const f32 = checkBasis(w, basis);
  return f32 ? subtract32(basis as readonly Float32Array[], basis.length, c, w) : subtract64(basis as readonly Float64Array[], basis.length, c, w);
}

/**
 * The DGKS threshold (Daniel, Gragg, Kaufman and Stewart, "Reorthogonalization and stable
 * algorithms for updating the Gram-Schmidt QR factorization", Math. Comp. 30, 1976): a
 * Gram-Schmidt pass that leaves ||w_after|| >= eta ||w_before|| lost no significant digits to
 * cancellation, so its result is orthogonal to the basis to working precision and a second pass
 * would change nothing. ARPACK's dsaitr/dnaitr use eta = 1/sqrt(2) (the constant 0.717 there).
 */
export const DGKS_ETA = Math.SQRT1_2;

export interface ReorthogonalizeResult {
  /** Gram-Schmidt passes taken (1 unless the DGKS test asked for more). */
  passes: number;
  /** ||w|| before the first pass. */
  normBefore: number;
  /** ||w|| after the last pass. */
  normAfter: number;
}

/**
 * Removes from w its components along the (orthonormal) vectors of `basis`, in place, by
 * blocked classical Gram-Schmidt with the DGKS criterion ("twice is enough", Giraud, Langou,
 * Rozloznik and van den Eshof, Numer. Math. 101, 2005): after a pass, another is taken only
 * when the norm dropped below eta = 1/sqrt(2) of what it was before that pass, as in ARPACK;
 * at most `maxPasses` (default 3: ARPACK's pass plus its two refinements). A w numerically in
 * the span of the basis comes out tiny (callers test its norm), not zero.
 *
 * `work` (length >= basis.length) avoids an allocation per call.
 */
export function reorthogonalize(
  w: Float64Array,
  basis: readonly BasisVector[],
  opts: { maxPasses?: number; eta?: number; work?: Float64Array } = {},
): ReorthogonalizeResult {
  const { maxPasses = 3, eta = DGKS_ETA } = opts;
  const k = basis.length;
  if (k === 0) {
    const nrm = norm(w);
    return { passes: 0, normBefore: nrm, normAfter: nrm };
  }
  const c = opts.work && opts.work.length >= k ? opts.work : new Float64Array(k);
  const f32 = checkBasis(w, basis);
  const b64 = basis as readonly Float64Array[];
  const b32 = basis as readonly Float32Array[];
  let before2 = 0;
  let after2 = 0;
  let passes = 0;
  let first2 = 0;
  do {
    before2 = f32 ? project32(b32, k, w, c) : project64(b64, k, w, c);
    if (passes === 0) first2 = before2;
    after2 = f32 ? subtract32(b32, k, c, w) : subtract64(b64, k, c, w);
    passes++;
  } while (passes < maxPasses && after2 < eta * eta * before2);
  return { passes, normBefore: Math.sqrt(first2), normAfter: Math.sqrt(after2) };
}

/**
 * Removes from w its components along the orthonormal vectors of `basis`, in place, by
 * classical Gram-Schmidt repeated `passes` times unconditionally (blocked kernels; see
 * `reorthogonalize` for the adaptive DGKS version the Lanczos process uses). Returns the
 * coefficients of the first pass.
 */
export function orthogonalizeAgainst(w: Float64Array, basis: readonly BasisVector[], passes = 2): Float64Array {
  const k = basis.length;
  const first = new Float64Array(k);
  if (k === 0) return first;
  const c = new Float64Array(k);
  for (let p = 0; p < passes; p++) {
    projectCoefficients(w, basis, c);
    subtractCombination(w, basis, c);
    if (p === 0) first.set(c);
  }
  return first;
}

/**
 * Linear combinations of the basis, X_r = sum_j coeffs[r][j] q_j (e.g. Ritz vectors Q s_r), in one
 * blocked sweep over the basis instead of one per combination. coeffs[r] may be shorter than the
 * basis (missing coefficients are 0).
 */
export function combineBasis(basis: readonly BasisVector[], coeffs: readonly ArrayLike<number>[], n: number): Float64Array[] {
  const out = coeffs.map(() => new Float64Array(n));
  // With native sweeps: x_r -= Q (-s_r), one vectorized sweep per combination (Ritz vectors: a few).
  const k = denseKernels();
  const f32 = basis.length > 0 && basis[0] instanceof Float32Array;
  const sub = f32 ? k.subtract32 : k.subtract64;
  if (sub && basis.length > 0 && basis.every((q) => q.length === n && q instanceof Float32Array === f32)) {
    for (let r = 0; r < coeffs.length; r++) {
      const m = Math.min(coeffs[r].length, basis.length);
      const c = new Float64Array(m);
      for (let j = 0; j < m; j++) c[j] = -coeffs[r][j];
      (sub as (b: readonly BasisVector[], k: number, c: Float64Array, w: Float64Array) => number)(basis, m, c, out[r]);
    }
    return out;
  }
  for (let t0 = 0; t0 < n; t0 += GS_TILE) {
    const t1 = Math.min(n, t0 + GS_TILE);
    for (let r = 0; r < coeffs.length; r++) {
      const x = out[r];
      const s = coeffs[r];
      const m = Math.min(s.length, basis.length);
      for (let j = 0; j < m; j++) {
        const q = basis[j];
        const a = s[j];
        for (let i = t0; i < t1; i++) x[i] += a * q[i];
      }
    }
  }
  return out;
}

/** The native lanczosStep32's [alpha, before2, after2], reused by every step. */
const stepOut = new Float64Array(3);

/**
 * One step of the Lanczos three-term recurrence over a float32 basis, fused into three passes
 * over n (it was ten: a conversion, a dot, two axpys, a two-vector Gram-Schmidt pass and its
 * norms): alpha = q . Aq; w = Aq - alpha q - betaPrev qPrev with, in the same pass, the
 * coefficients of w along qPrev and q; then w -= c_prev qPrev + c q (the local
 * reorthogonalization's classical Gram-Schmidt pass). Returns alpha and ||w||^2 before and
 * after that pass (the DGKS test: a caller repeats the pass when it lost digits).
 */
export function lanczosStep32(aq: Float32Array, q: Float32Array, qPrev: Float32Array | null, betaPrev: number, w: Float64Array): { alpha: number; before2: number; after2: number } {
  const n = w.length;
  if (aq.length !== n || q.length !== n || (qPrev && qPrev.length !== n)) throw new RangeError(`lanczosStep32: lengths differ (${aq.length}, ${q.length}, ${qPrev?.length}, ${n})`);
  const fast = denseKernels().lanczosStep32;
  if (fast) {
    fast(aq, q, qPrev, betaPrev, w, stepOut);
    return { alpha: stepOut[0], before2: stepOut[1], after2: stepOut[2] };
  }
  const alpha = dot(q, aq);
  let cp = 0;
  let c = 0;
  let before2 = 0;
  if (qPrev) {
    for (let k = 0; k < n; k++) {
      const x = aq[k] - alpha * q[k] - betaPrev * qPrev[k];
      w[k] = x;
      cp += qPrev[k] * x;
      c += q[k] * x;
      before2 += x * x;
    }
  } else {
    for (let k = 0; k < n; k++) {
      const x = aq[k] - alpha * q[k];
      w[k] = x;
      c += q[k] * x;
      before2 += x * x;
    }
  }
  let after2 = 0;
  if (qPrev) {
    for (let k = 0; k < n; k++) {
      const x = w[k] - cp * qPrev[k] - c * q[k];
      w[k] = x;
      after2 += x * x;
    }
  } else {
    for (let k = 0; k < n; k++) {
      const x = w[k] - c * q[k];
      w[k] = x;
      after2 += x * x;
    }
  }
  return { alpha, before2, after2 };
}

/** x / s as a new float32 vector (the next basis vector, in one pass). */
export function scaledFloat32(x: Float64Array, s: number): Float32Array {
  const out = new Float32Array(x.length);
  const inv = 1 / s;
  const fast = denseKernels().scaleTo32;
  if (fast) {
    fast(x, inv, out);
    return out;
  }
  for (let i = 0; i < x.length; i++) out[i] = x[i] * inv;
  return out;
}
