/**
 * Lanczos with partial reorthogonalization (Simon 1984, "The Lanczos algorithm with partial
 * reorthogonalization", Math. Comp. 42; the scheme of Larsen's PROPACK), for SLQ on large
 * operators, where full reorthogonalization costs more than the products themselves (100
 * steps on 235k parameters: about 19 GB of basis traffic, seconds per run).
 *
 * Every step orthogonalizes against q_j and q_{j-1} (local). The loss of orthogonality to the
 * older vectors, omega_{j+1,k} ~ q_{j+1} . q_k, is *estimated* by Simon's recurrence from the
 * Lanczos coefficients alone (O(j) scalars per step):
 *
 *   beta_j omega_{j+1,k} = beta_k omega_{j,k+1} + (alpha_k - alpha_j) omega_{j,k}
 *                          + beta_{k-1} omega_{j,k-1} - beta_{j-1} omega_{j-1,k} + theta_{jk},
 *
 * with a rounding term theta_{jk} = eps (beta_k + beta_j) of the recurrence's sign (an upper
 * estimate). When max_k |omega_{j+1,k}| exceeds sqrt(eps), the new vector is orthogonalized
 * against the basis vectors q_k whose estimate is at least eta = eps^(3/4) (PROPACK's choice,
 * Larsen 1998: the others are eps^(1/4) = 1/32 of the limit or less and take several steps to
 * reach it; on the Hessians here this skips a quarter to a third of the vectors), and so is the
 * next one against the same q_k (q_j has lost orthogonality along them too); their estimates
 * are reset to eps. The basis then stays semi-orthogonal (|q_i . q_k| <= sqrt(eps)),
 * which is enough for T_m to be, up to O(eps ||A||), the projection of A onto an orthonormal
 * basis of the Krylov space (Simon's theorem): the same Ritz values and Gauss quadrature as
 * with full reorthogonalization, at the accuracy of the float32 products. eps defaults to
 * 2^-20 (about 8 float32 roundings: the products, not the float64 recurrence, set the noise).
 * The tests compare nodes, weights and moments with full reorthogonalization and measure the
 * true orthogonality of the kept basis.
 */
import { UserError } from './errors.js';
import { DEFAULT_BREAKDOWN_TOL, type BasisStorage, type LanczosResult } from './lanczos.js';
import type { LinearOperator } from './operator.js';
import type { Rng } from './random.js';
import { axpy, DGKS_ETA, dot, lanczosStep32, normalize, reorthogonalize, scale, scaledFloat32, toFloat32, toFloat64, type BasisVector } from './vector.js';

export const PARTIAL_REORTH_EPS = 2 ** -20;

export interface PartialLanczosOptions {
  steps: number;
  rng: Rng;
  start?: Float32Array;
  basis?: BasisStorage;
  breakdownTol?: number;
  /** Noise level of the orthogonality estimate; the basis is kept within sqrt(eps) of orthogonal. */
  eps?: number;
  /** Return the basis (tests measure its orthogonality). */
  keepBasis?: boolean;
}

export interface PartialLanczosResult extends LanczosResult {
  /** Steps whose new vector was orthogonalized against older basis vectors (not only the last two). */
  fullReorths: number;
  /** Basis vectors those steps orthogonalized against, summed (the work: a full reorthogonalization of step j counts j). */
  reorthVectors: number;
  basis?: BasisVector[];
}

export async function lanczosPartial(op: LinearOperator, opts: PartialLanczosOptions): Promise<PartialLanczosResult> {
  const { steps, rng, basis: storage = 'float64', breakdownTol = DEFAULT_BREAKDOWN_TOL, eps = PARTIAL_REORTH_EPS } = opts;
  if (!Number.isInteger(steps) || steps < 1) throw new UserError(`Lanczos steps must be a positive integer, got ${steps}.`);
  if (storage !== 'float64' && storage !== 'float32') throw new UserError(`The Lanczos basis storage must be 'float64' or 'float32', got '${String(storage)}'.`);
  if (!(eps > 0 && eps < 1)) throw new UserError(`The partial reorthogonalization eps must be in (0, 1), got ${eps}.`);
  const m = Math.min(steps, op.dim);
  const q0 = toFloat64(opts.start ?? rng.gaussian(op.dim));
  if (q0.length !== op.dim) throw new UserError(`Start vector length ${q0.length} does not match the operator dimension ${op.dim}.`);
  if (!(normalize(q0) > 0)) throw new UserError('The Lanczos start vector must be nonzero and finite.');
  const limit = Math.sqrt(eps);
  const alpha: number[] = [];
  const beta: number[] = [];
  const basis: BasisVector[] = [];
  let q: BasisVector = storage === 'float32' ? toFloat32(q0) : q0;
  // omega[k] estimates q_j . q_k (k <= j), prev the same for q_{j-1}
  let prev = new Float64Array(0);
  let cur = Float64Array.of(1);
  let scaleMax = 0;
  let breakdown = false;
  let forceNext = false;
  let fullReorths = 0;
  let reorthVectors = 0;
  const eta = eps ** 0.75;
  let lastSet: number[] = [];
  const work = new Float64Array(Math.max(64, 2 * m));
  // A float32 basis keeps copies, so the float64 working vector can be one buffer for the whole
  // run (a 235k-parameter run allocated 190 MB of them otherwise; the collector's time showed).
  const w64 = storage === 'float32' ? new Float64Array(op.dim) : null;
  while (alpha.length < m) {
    const j = alpha.length;
    const aq = await op.matvec(q instanceof Float32Array ? q : toFloat32(q));
    if (aq.length !== q.length) throw new UserError(`The operator returned a vector of length ${aq.length}, expected ${q.length}.`);
    let w: Float64Array;
    let a: number;
    let b: number;
    if (w64 && q instanceof Float32Array) {
      // float32 basis: the recurrence and the local pass fused (vector.ts lanczosStep32)
      w = w64;
      const prevQ = j > 0 ? (basis[j - 1] as Float32Array) : null;
      const s = lanczosStep32(aq, q, prevQ, j > 0 ? beta[j - 1] : 0, w);
      a = s.alpha;
      if (!Number.isFinite(a)) throw new UserError('The operator returned non-finite values (NaN or Inf); check the model weights and data.');
      basis.push(q);
      // DGKS: the pass lost digits to cancellation; repeat it as reorthogonalize would
      b = s.after2 < DGKS_ETA * DGKS_ETA * s.before2 ? reorthogonalize(w, prevQ ? [prevQ, q] : [q], { work }).normAfter : Math.sqrt(s.after2);
    } else {
      w = toFloat64(aq);
      a = dot(q, w);
      if (!Number.isFinite(a)) throw new UserError('The operator returned non-finite values (NaN or Inf); check the model weights and data.');
      axpy(-a, q, w);
      if (j > 0) axpy(-beta[j - 1], basis[j - 1], w);
      basis.push(q);
      b = reorthogonalize(w, j > 0 ? [basis[j - 1], q] : [q], { work }).normAfter;
    }
    alpha.push(a);
    scaleMax = Math.max(scaleMax, Math.abs(a), b);
    if (b <= breakdownTol * scaleMax) {
      beta.push(0);
      breakdown = alpha.length < op.dim;
      break;
    }
    // Simon's recurrence: next[k] ~ q_{j+1} . q_k for k < j - 1 (the local pass handles j - 1, j).
    const next = new Float64Array(j + 2);
    let worst = 0;
    for (let k = 0; k < j - 1; k++) {
      let t = beta[k] * cur[k + 1] + (alpha[k] - a) * cur[k] - beta[j - 1] * prev[k];
      if (k > 0) t += beta[k - 1] * cur[k - 1];
      t += (t >= 0 ? eps : -eps) * (beta[k] + b);
      next[k] = t / b;
      worst = Math.max(worst, Math.abs(next[k]));
    }
    if (forceNext || worst > limit) {
      const set: number[] = [];
      if (forceNext) for (const k of lastSet) set.push(k);
      else for (let k = 0; k < j - 1; k++) if (Math.abs(next[k]) >= eta) set.push(k);
      // with the last two again: the pass against the older ones must not undo the local one
      b = reorthogonalize(w, [...set.map((k) => basis[k]), ...(j > 0 ? [basis[j - 1]] : []), q], { work }).normAfter;
      fullReorths++;
      reorthVectors += set.length;
      for (const k of set) next[k] = eps;
      lastSet = set;
      // Simon: the vector before the one that crossed the limit has lost orthogonality too.
      forceNext = !forceNext;
    }
    if (j > 0) next[j - 1] = eps;
    next[j] = eps;
    next[j + 1] = 1;
    if (b <= breakdownTol * scaleMax) {
      beta.push(0);
      breakdown = alpha.length < op.dim;
      break;
    }
    beta.push(b);
    if (storage === 'float32') q = scaledFloat32(w, b);
    else {
      scale(w, 1 / b);
      q = w;
    }
    prev = cur;
    cur = next;
  }
  const k = alpha.length;
  const out: PartialLanczosResult = { alpha, beta: beta.slice(0, k - 1), steps: k, matvecs: k, breakdown, lastBeta: beta[k - 1], fullReorths, reorthVectors };
  if (opts.keepBasis) out.basis = basis;
  return out;
}
