/**
 * Lanczos in bounded memory, for operators too large to keep a full basis (an 11 M-parameter
 * network: 100 float64 basis vectors are 8.8 GB).
 *
 * - `lanczosLocal` (for SLQ): the three-term recurrence with local reorthogonalization against a
 *   window of the last few vectors only: window + 2 vectors of memory, whatever the steps. It
 *   loses global orthogonality once Ritz values converge, so converged extremes reappear as
 *   "ghost" copies; Greenbaum's and Paige's analysis (and Chen & Trogdon's for SLQ) is that the
 *   quadrature it yields is still that of a nearby measure: the ghosts split the weight of the
 *   eigenvalue they copy, so the density and its moments stay accurate (measured in the tests
 *   and in README.md against full reorthogonalization and the exact spectral measure).
 * - `thickRestartTop` (for top-k): Lanczos with full reorthogonalization inside a basis of at
 *   most `maxBasis` vectors; when it is full, the best Ritz vectors are kept and the run continues
 *   from the residual (thick restart, Wu & Simon 2000, in Krylov-Schur form: the projected
 *   matrix is kept dense and diagonalized by Jacobi). It converges to the same eigenpairs as
 *   unrestarted Lanczos, in somewhat more products.
 */
import { UserError } from './errors.js';
import { DEFAULT_BREAKDOWN_TOL, type BasisStorage, type LanczosResult } from './lanczos.js';
import type { LinearOperator } from './operator.js';
import type { Rng } from './random.js';
import { symmetricEigen } from './symeig.js';
import {
  DGKS_ETA, axpy, combineBasis, dot, norm, normalize, orthogonalizeAgainst, projectCoefficients,
  reorthogonalize, scale, subtractCombination, toFloat32, toFloat64, type BasisVector,
} from './vector.js';

function checkStorage(storage: BasisStorage): void {
  if (storage !== 'float64' && storage !== 'float32') {
    throw new UserError(`The Lanczos basis storage must be 'float64' or 'float32', got '${String(storage)}'.`);
  }
}

function store(q: Float64Array, storage: BasisStorage): BasisVector {
  return storage === 'float32' ? toFloat32(q) : q;
}

async function apply(op: LinearOperator, q: BasisVector): Promise<Float64Array> {
  const aq = await op.matvec(q instanceof Float32Array ? q : toFloat32(q));
  if (aq.length !== q.length) throw new UserError(`The operator returned a vector of length ${aq.length}, expected ${q.length}.`);
  return toFloat64(aq);
}

const NON_FINITE = 'The operator returned non-finite values (NaN or Inf); check the model weights and data.';

export interface LocalLanczosOptions {
  steps: number;
  rng: Rng;
  start?: Float32Array;
  /** Vectors kept for reorthogonalization, the newest included (>= 2; default 2: q_j and q_{j-1}). */
  window?: number;
  basis?: BasisStorage;
  breakdownTol?: number;
}

/** Lanczos with local reorthogonalization: memory (window + 2) vectors; returns T's coefficients. */
export async function lanczosLocal(op: LinearOperator, opts: LocalLanczosOptions): Promise<LanczosResult & { peakVectors: number }> {
  const { steps, rng, window = 2, basis = 'float64', breakdownTol = DEFAULT_BREAKDOWN_TOL } = opts;
  if (!Number.isInteger(steps) || steps < 1) throw new UserError(`Lanczos steps must be a positive integer, got ${steps}.`);
  if (!Number.isInteger(window) || window < 2) throw new UserError(`The reorthogonalization window must be an integer of at least 2, got ${window}.`);
  checkStorage(basis);
  const m = Math.min(steps, op.dim);
  const q0 = toFloat64(opts.start ?? rng.gaussian(op.dim));
  if (q0.length !== op.dim) throw new UserError(`Start vector length ${q0.length} does not match the operator dimension ${op.dim}.`);
  if (!(normalize(q0) > 0)) throw new UserError('The Lanczos start vector must be nonzero and finite.');
  const alpha: number[] = [];
  const beta: number[] = [];
  const recent: BasisVector[] = [];
  let q = store(q0, basis);
  let scaleMax = 0;
  let breakdown = false;
  let matvecs = 0;
  const work = new Float64Array(window);
  while (alpha.length < m) {
    const w = await apply(op, q);
    matvecs++;
    const a = dot(q, w);
    if (!Number.isFinite(a)) throw new UserError(NON_FINITE);
    axpy(-a, q, w);
    const j = alpha.length;
    if (j > 0) axpy(-beta[j - 1], recent[recent.length - 1], w);
    recent.push(q);
    if (recent.length > window) recent.shift();
    const b = reorthogonalize(w, recent, { work }).normAfter;
    alpha.push(a);
    scaleMax = Math.max(scaleMax, Math.abs(a), b);
    if (b <= breakdownTol * scaleMax) {
      beta.push(0);
      breakdown = alpha.length < op.dim;
      break;
    }
    beta.push(b);
    scale(w, 1 / b);
    q = store(w, basis);
  }
  const k = alpha.length;
  return { alpha, beta: beta.slice(0, k - 1), steps: k, matvecs, breakdown, lastBeta: beta[k - 1], peakVectors: window + 2 };
}

export type ThickWhich = 'largest-algebraic' | 'largest-magnitude';

export interface ThickRestartOptions {
  k: number;
  rng: Rng;
  tol: number;
  /** Operator products for the iteration (residual checks not counted). */
  maxSteps: number;
  /** Basis vectors held at most (>= k + 2). */
  maxBasis: number;
  which: ThickWhich;
  start?: Float32Array;
  basis?: BasisStorage;
}

export interface ThickRestartResult {
  values: number[];
  vectors: Float64Array[];
  estimates: number[];
  converged: boolean;
  /** Iteration products (without residual checks). */
  matvecs: number;
  restarts: number;
  /** Largest number of n-vectors held at once (basis + Ritz vectors formed at a restart). */
  peakVectors: number;
}

function wanted(values: Float64Array, count: number, which: ThickWhich): number[] {
  const idx = Array.from({ length: values.length }, (_, i) => i);
  if (which === 'largest-magnitude') idx.sort((a, b) => Math.abs(values[b]) - Math.abs(values[a]) || values[b] - values[a]);
  else idx.reverse();
  return idx.slice(0, count);
}

/** Gram-Schmidt of w against the basis with DGKS passes; returns the summed coefficients. */
function project(w: Float64Array, basis: readonly BasisVector[]): Float64Array {
  const total = new Float64Array(basis.length);
  const c = new Float64Array(basis.length);
  for (let pass = 0; pass < 3; pass++) {
    const before = projectCoefficients(w, basis, c);
    const after = subtractCombination(w, basis, c);
    for (let i = 0; i < c.length; i++) total[i] += c[i];
    if (after >= DGKS_ETA * DGKS_ETA * before) break;
  }
  return total;
}

/** Top-k Ritz pairs by thick-restart Lanczos in at most maxBasis vectors (see the module comment). */
export async function thickRestartTop(op: LinearOperator, opts: ThickRestartOptions): Promise<ThickRestartResult> {
  const n = op.dim;
  const { k, rng, tol, which, basis: storage = 'float64' } = opts;
  checkStorage(storage);
  const mMax = Math.min(opts.maxBasis, n);
  if (!Number.isInteger(opts.maxBasis) || mMax < Math.min(k + 2, n)) {
    throw new UserError(`The thick-restart basis must hold at least k + 2 = ${k + 2} vectors, got ${opts.maxBasis}.`);
  }
  // Keep about half the basis at a restart (TRLan's rule of thumb): k wanted plus a buffer that
  // speeds convergence of the k-th, leaving room for new directions.
  const keep = Math.max(k, Math.min(mMax - 2, k + Math.floor((mMax - k) / 2)));
  const v0 = toFloat64(opts.start ?? rng.gaussian(n));
  if (!(normalize(v0) > 0)) throw new UserError('The Lanczos start vector must be nonzero and finite.');
  let V: BasisVector[] = [store(v0, storage)];
  let H = new Float64Array(mMax * mMax);
  let matvecs = 0;
  let restarts = 0;
  let peak = 1;
  let scaleMax = 0;
  let fnorm = 0;
  let eig = symmetricEigen([0], 1);
  let chosen: number[] = [];
  let estimates: number[] = [];
  let converged = false;
  for (;;) {
    const j = V.length - 1;
    const w = await apply(op, V[j]);
    matvecs++;
    if (!Number.isFinite(dot(w, w))) throw new UserError(NON_FINITE);
    const c = project(w, V);
    for (let i = 0; i <= j; i++) {
      H[i * mMax + j] = c[i];
      H[j * mMax + i] = c[i];
    }
    fnorm = norm(w);
    const m = V.length;
    scaleMax = Math.max(scaleMax, Math.abs(c[j]), fnorm);
    const sub = new Float64Array(m * m);
    for (let r = 0; r < m; r++) for (let s = 0; s < m; s++) sub[r * m + s] = H[r * mMax + s];
    eig = symmetricEigen(sub, m);
    chosen = wanted(eig.values, Math.min(k, m), which);
    estimates = chosen.map((i) => Math.abs(fnorm * eig.vectors[i][m - 1]));
    const floor = 1e-12 * Math.max(...Array.from(eig.values, Math.abs));
    converged = m >= k && chosen.every((i, r) => estimates[r] <= tol * Math.max(Math.abs(eig.values[i]), floor));
    const invariant = fnorm <= DEFAULT_BREAKDOWN_TOL * scaleMax;
    if (converged || matvecs >= opts.maxSteps || (invariant && m >= n)) break;
    let next: Float64Array;
    if (invariant) {
      // Invariant subspace before k values converged: continue from a random orthogonal direction.
      next = toFloat64(rng.fork(`restart/${matvecs}`).gaussian(n));
      orthogonalizeAgainst(next, V, 2);
      if (!(normalize(next) > 1e-8)) break;
      fnorm = 0;
    } else {
      next = w;
      scale(next, 1 / fnorm);
    }
    if (m === mMax) {
      // Thick restart: keep the best `keep` Ritz vectors; H becomes diag(theta) (the couplings to
      // the next vector are recomputed by its Gram-Schmidt coefficients).
      const kept = wanted(eig.values, keep, which);
      const ritz = combineBasis(V, kept.map((i) => eig.vectors[i]), n);
      peak = Math.max(peak, m + kept.length);
      ritz.forEach((x) => normalize(x));
      V = ritz.map((x) => store(x, storage));
      H = new Float64Array(mMax * mMax);
      kept.forEach((i, r) => (H[r * mMax + r] = eig.values[i]));
      restarts++;
      // Ritz vectors are orthonormal only to rounding; one more pass keeps `next` orthogonal to them.
      orthogonalizeAgainst(next, V, 1);
      normalize(next);
    }
    V.push(store(next, storage));
    peak = Math.max(peak, V.length + 1);
  }
  const vectors = combineBasis(V, chosen.map((i) => eig.vectors[i]), n);
  peak = Math.max(peak, V.length + vectors.length + 1);
  vectors.forEach((x) => normalize(x));
  return { values: chosen.map((i) => eig.values[i]), vectors, estimates, converged, matvecs, restarts, peakVectors: peak };
}
