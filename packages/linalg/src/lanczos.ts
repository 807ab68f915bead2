/**
 * The Lanczos process with full reorthogonalization.
 *
 * After m steps from a unit start q_0 it has an orthonormal basis Q_m of the Krylov space
 * span{q_0, A q_0, ..., A^{m-1} q_0} and the tridiagonal T_m = Q_m^T A Q_m (alpha on the
 * diagonal, beta off it), with A Q_m = Q_m T_m + beta_m q_m e_m^T. Eigenvalues of T_m (Ritz
 * values) approximate the extremes of A's spectrum first; the squared first components of T_m's
 * eigenvectors are the Gauss quadrature weights of the start vector's spectral measure (SLQ).
 *
 * In floating point the plain three-term recurrence loses orthogonality as soon as a Ritz value
 * converges and then produces spurious copies ("ghosts"). We reorthogonalize every new vector
 * against the whole basis with blocked classical Gram-Schmidt (one sweep over the basis for
 * all coefficients, one for the update), repeated only when the DGKS test of `reorthogonalize`
 * says the pass lost digits to cancellation: exact-arithmetic behaviour at the price of keeping
 * the basis (steps x dim values: float64 by default, 300 steps of a 1e6-parameter model is
 * 2.4 GB; `basis: 'float32'` halves that, see `BasisStorage`).
 */
import { UserError } from './errors.js';
import type { LinearOperator } from './operator.js';
import type { Rng } from './random.js';
import { axpy, dot, norm, normalize, orthogonalizeAgainst, reorthogonalize, scale, toFloat32, toFloat64, type BasisVector } from './vector.js';

export interface LanczosResult {
  /** Diagonal of T (length = steps). */
  alpha: number[];
  /** Off-diagonal of T: beta[j] couples j and j+1, so beta.length == alpha.length - 1. */
  beta: number[];
  /** Lanczos steps taken (= alpha.length). */
  steps: number;
  /** Operator products taken (= steps). */
  matvecs: number;
  /** True when the Krylov space became invariant (beta below breakdownTol * scale) and the run stopped early. */
  breakdown: boolean;
  /** Norm of the residual after the last step (beta_m): Ritz residual i is |lastBeta * s_last,i|. 0 on breakdown. */
  lastBeta?: number;
}

/**
 * How the Lanczos basis is stored. 'float64' (default): Q^T Q = I to about 1e-15. 'float32':
 * half the memory and half the memory traffic of reorthogonalization; each basis vector is
 * rounded to float32 once (it is exactly the vector the float32 operator is applied to, and the
 * recurrence and reorthogonalization use that same rounded vector, accumulating in float64), so
 * Q^T Q = I only to about 1e-7, the level of the float32 products themselves. Ritz values and
 * SLQ nodes/weights are unaffected at the accuracy the float32 operator allows (the tests check
 * top-3 eigenvalues to 1e-6 relative in both modes).
 */
export type BasisStorage = 'float64' | 'float32';

export interface LanczosOptions {
  /** Number of steps (capped at the operator's dimension). */
  steps: number;
  /** Draws the Gaussian start vector when `start` is not given. */
  rng: Rng;
  /** Start vector (normalized here). */
  start?: Float32Array;
  /** Return the orthonormal basis q_0..q_{m-1}. */
  keepBasis?: boolean;
  /** Relative breakdown threshold: stop when beta < breakdownTol * scale, scale = max |alpha|, beta so far. Default 1e-10. */
  breakdownTol?: number;
  /** Basis storage, default 'float64' (see `BasisStorage`). */
  basis?: BasisStorage;
}

export const DEFAULT_BREAKDOWN_TOL = 1e-10;

/**
 * One Lanczos process that can be advanced step by step (topEigenvalues checks convergence
 * between steps) and restarted after a breakdown with a fresh direction orthogonal to the basis.
 */
export class LanczosProcess {
  readonly alpha: number[] = [];
  /** beta[j] = norm of the residual after step j (couples q_j and q_{j+1}); 0 where a restart happened. */
  readonly beta: number[] = [];
  /** q_0, q_1, ...: Float64Array or Float32Array vectors according to `storage`. */
  readonly basis: BasisVector[] = [];
  matvecs = 0;
  /** Set when the last step ended in breakdown: no next vector until restart(). */
  stalled = false;
  /** Gram-Schmidt passes taken over all steps (the DGKS test decides: one per step unless cancellation). */
  gsPasses = 0;
  private next: BasisVector | null;
  private scale = 0;
  private work = new Float64Array(64);

  constructor(
    private readonly op: LinearOperator,
    start: ArrayLike<number>,
    private readonly breakdownTol = DEFAULT_BREAKDOWN_TOL,
    readonly storage: BasisStorage = 'float64',
  ) {
    if (start.length !== op.dim) {
      throw new UserError(`Start vector length ${start.length} does not match the operator dimension ${op.dim}.`);
    }
    if (storage !== 'float64' && storage !== 'float32') {
      throw new UserError(`The Lanczos basis storage must be 'float64' or 'float32', got '${String(storage)}'.`);
    }
    const q = toFloat64(start);
    if (!(normalize(q) > 0)) throw new UserError('The Lanczos start vector must be nonzero and finite.');
    this.next = this.store(q);
  }

  /** The unit vector q as it will be kept in the basis (and handed to the operator). */
  private store(q: Float64Array): BasisVector {
    return this.storage === 'float32' ? toFloat32(q) : q;
  }

  get steps(): number {
    return this.alpha.length;
  }

  /** Takes one step: one product, reorthogonalization, and the next basis vector (unless breakdown). */
  async step(): Promise<void> {
    const q = this.next;
    if (q === null) throw new Error('LanczosProcess.step: no next vector (breakdown without restart)');
    const j = this.alpha.length;
    const aq = await this.op.matvec(q instanceof Float32Array ? q : toFloat32(q));
    this.matvecs++;
    if (aq.length !== q.length) {
      throw new UserError(`The operator returned a vector of length ${aq.length}, expected ${q.length}.`);
    }
    const w = toFloat64(aq);
    const a = dot(q, w);
    if (!Number.isFinite(a)) throw new UserError('The operator returned non-finite values (NaN or Inf); check the model weights and data.');
    // Three-term recurrence, then full reorthogonalization against every basis vector
    // (including q itself, which removes the rounding left by the recurrence).
    axpy(-a, q, w);
    if (j > 0 && this.beta[j - 1] !== 0) axpy(-this.beta[j - 1], this.basis[j - 1], w);
    this.basis.push(q);
    if (this.work.length < this.basis.length) this.work = new Float64Array(2 * this.basis.length);
    const gs = reorthogonalize(w, this.basis, { work: this.work });
    this.gsPasses += gs.passes;
    const b = gs.normAfter;
    this.alpha.push(a);
    this.scale = Math.max(this.scale, Math.abs(a), b);
    if (b <= this.breakdownTol * this.scale || this.basis.length >= this.op.dim) {
      // Invariant subspace found (or the whole space spanned): T's eigenvalues are exact.
      this.beta.push(0);
      this.next = null;
      this.stalled = true;
    } else {
      this.beta.push(b);
      scale(w, 1 / b);
      this.next = this.store(w);
    }
  }

  /**
   * After a breakdown, continues from a random direction orthogonal to the basis (coupling
   * beta = 0, so T stays block diagonal). Returns false when the basis already spans the space.
   */
  restart(rng: Rng): boolean {
    if (this.basis.length >= this.op.dim) return false;
    for (let attempt = 0; attempt < 5; attempt++) {
      const v = toFloat64(rng.gaussian(this.op.dim));
      const before = norm(v);
      orthogonalizeAgainst(v, this.basis, 2);
      const after = normalize(v);
      if (after > 1e-8 * before) {
        this.next = this.store(v);
        this.stalled = false;
        return true;
      }
    }
    return false;
  }
}

/**
 * Runs `steps` Lanczos steps (at most dim) from `start` or a Gaussian start vector, and returns
 * the tridiagonal coefficients. Stops early on breakdown (exact invariant subspace).
 *
 * Operators compute in float32, so products carry a relative rounding of about 1e-7: once the
 * Krylov space is exhausted numerically, beta drops to about 1e-7 * ||A|| rather than below the
 * 1e-10 breakdown threshold, and the run continues in directions driven by that rounding. Those
 * extra Ritz values are still Rayleigh-Ritz values of A and carry negligible SLQ weight.
 */
export async function lanczos(
  op: LinearOperator,
  opts: LanczosOptions,
): Promise<LanczosResult & { basis?: BasisVector[] }> {
  const { steps, rng, start, keepBasis = false, breakdownTol = DEFAULT_BREAKDOWN_TOL, basis = 'float64' } = opts;
  if (!Number.isInteger(steps) || steps < 1) throw new UserError(`Lanczos steps must be a positive integer, got ${steps}.`);
  const m = Math.min(steps, op.dim);
  const proc = new LanczosProcess(op, start ?? rng.gaussian(op.dim), breakdownTol, basis);
  let breakdown = false;
  while (proc.steps < m) {
    await proc.step();
    if (proc.stalled) {
      // Spanning the whole space is not a breakdown, just the end.
      breakdown = proc.basis.length < op.dim;
      break;
    }
  }
  const k = proc.steps;
  const result: LanczosResult & { basis?: BasisVector[] } = {
    alpha: proc.alpha.slice(),
    beta: proc.beta.slice(0, k - 1),
    steps: k,
    matvecs: proc.matvecs,
    breakdown,
    lastBeta: proc.beta[k - 1],
  };
  if (keepBasis) result.basis = proc.basis;
  return result;
}
