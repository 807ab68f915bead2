/**
 * Top eigenvalues of a symmetric operator: Lanczos (the default; converges in far fewer
 * products) and PyHessian-compatible power iteration with deflation.
 *
 * Every result carries the true residual norm ||A x - theta x|| of each returned vector,
 * computed with one extra product per vector (counted in `matvecs`). With float32 operators
 * these residuals cannot fall below roughly 1e-7 * ||A||, whatever the algorithm did.
 */
import { UserError } from './errors.js';
import { thickRestartTop } from './bounded.js';
import { LanczosProcess, type BasisStorage } from './lanczos.js';
import type { LinearOperator } from './operator.js';
import type { Rng } from './random.js';
import { tridiagonalEigen, tridiagonalEigenvectors } from './tridiag.js';
import { axpy, combineBasis, dot, norm, normalize, orthogonalizeAgainst, toFloat32, toFloat64, type BasisVector } from './vector.js';

export interface TopEigenResult {
  method: 'lanczos' | 'power';
  /**
   * Lanczos: descending by value ('largest-algebraic') or by magnitude ('largest-magnitude').
   * Power: in the order found (by magnitude, PyHessian's order).
   */
  eigenvalues: number[];
  /** True residual norm ||A x - theta x|| of each returned unit vector. */
  residuals: number[];
  /** Lanczos: every Ritz residual estimate met tol. Power: every eigenvalue met the relative-change tol before maxIter. */
  converged: boolean;
  /** All operator products, including the final residual checks. */
  matvecs: number;
  /** Lanczos steps, or power iterations summed over eigenvalues. */
  iterations: number;
  eigenvectors?: Float32Array[];
  /** Lanczos only: the cheap residual estimates |beta_m s_last,i| the stopping rule used. */
  residualEstimates?: number[];
  /** Thick-restart Lanczos (maxBasis) only: restarts taken. */
  restarts?: number;
}

export type EigenWhich = 'largest-algebraic' | 'largest-magnitude';

export interface TopEigenOptions {
  k: number;
  rng: Rng;
  /** Relative residual: stop when residual_i <= tol * |theta_i| for each of the top k. Default 1e-6. */
  tol?: number;
  /** Default min(dim, 300). */
  maxSteps?: number;
  /** Default 'largest-algebraic' (the top eigenvalue of a Hessian, as PyHessian reports it at a minimum). */
  which?: EigenWhich;
  returnVectors?: boolean;
  /** Check convergence every this many steps (default 1: a tridiagonal solve is cheap next to an HVP). */
  checkEvery?: number;
  /** Start vector (e.g. the previous checkpoint's top eigenvector); default Gaussian from rng. */
  start?: Float32Array;
  /** Lanczos basis storage, default 'float64' ('float32' halves the basis memory; see `BasisStorage`). */
  basis?: BasisStorage;
  /**
   * Hold at most this many basis vectors: thick-restart Lanczos (bounded.ts) instead of one
   * unrestarted run. Default: none (the basis grows to maxSteps vectors).
   */
  maxBasis?: number;
}

/** Indices of the k wanted Ritz values in ascending `values`, in output order. */
function pick(values: Float64Array, k: number, which: EigenWhich): number[] {
  const idx = Array.from({ length: values.length }, (_, i) => i);
  if (which === 'largest-magnitude') idx.sort((a, b) => Math.abs(values[b]) - Math.abs(values[a]) || values[b] - values[a]);
  else idx.reverse();
  return idx.slice(0, k);
}

/**
 * Top-k eigenvalues by Lanczos with full reorthogonalization. After each step (from step k on)
 * the Ritz residual estimates |beta_m s_last,i| come from the tridiagonal alone; the run stops
 * when those of the k wanted Ritz pairs are <= tol * |theta_i|, or at maxSteps. Then the Ritz
 * vectors are formed and their true residuals computed (k more products).
 *
 * If the Krylov space becomes invariant before k Ritz values exist, Lanczos restarts from a random
 * vector orthogonal to the basis. Like every single-vector Krylov method, it may report one copy
 * of a repeated eigenvalue where there are several.
 */
export async function topEigenvalues(op: LinearOperator, opts: TopEigenOptions): Promise<TopEigenResult> {
  const n = op.dim;
  const { k, rng, tol = 1e-6, which = 'largest-algebraic', returnVectors = false, checkEvery = 1 } = opts;
  if (!Number.isInteger(k) || k < 1 || k > n) {
    throw new UserError(`The number of eigenvalues k must be an integer from 1 to the dimension ${n}, got ${k}.`);
  }
  if (!(tol > 0)) throw new UserError(`The eigenvalue tolerance must be positive, got ${tol}.`);
  const maxSteps = Math.min(n, opts.maxSteps ?? 300);
  if (!Number.isInteger(maxSteps) || maxSteps < k) {
    throw new UserError(`maxSteps must be an integer of at least k = ${k}, got ${opts.maxSteps}.`);
  }

  if (opts.maxBasis !== undefined && opts.maxBasis < maxSteps) return thickRestartEigen(op, { ...opts, tol, which, maxSteps, maxBasis: opts.maxBasis });
  const proc = new LanczosProcess(op, opts.start ?? rng.gaussian(n), undefined, opts.basis ?? 'float64');
  let converged = false;
  let estimates: number[] = [];
  while (proc.steps < maxSteps) {
    await proc.step();
    const m = proc.steps;
    const due = m >= k && (proc.stalled || m % checkEvery === 0 || m === maxSteps);
    if (due) {
      const t = tridiagonalEigen(proc.alpha, proc.beta);
      const betaM = proc.beta[m - 1];
      const chosen = pick(t.values, k, which);
      estimates = chosen.map((i) => Math.abs(betaM * t.lastComponents[i]));
      // Floor on |theta| so a zero eigenvalue among the top k cannot block convergence forever.
      const floor = 1e-12 * Math.max(...Array.from(t.values, Math.abs));
      converged = chosen.every((i, c) => estimates[c] <= tol * Math.max(Math.abs(t.values[i]), floor));
      if (converged) break;
    }
    if (proc.stalled && !proc.restart(rng.fork(`restart/${m}`))) break;
  }

  const m = proc.steps;
  const top = await ritzTopK(op, proc.basis, proc.alpha, proc.beta.slice(0, m - 1), proc.beta[m - 1], { k, tol, which, returnVectors });
  const result: TopEigenResult = { ...top, converged, matvecs: proc.matvecs + top.matvecs, iterations: m };
  if (estimates.length === top.residualEstimates!.length) result.residualEstimates = estimates;
  return result;
}

/**
 * The top-k Ritz pairs of a finished Lanczos run (basis Q_m, tridiagonal alpha, beta and the
 * last beta_m): the Ritz values, the cheap estimates |beta_m s_last,i| and whether they met
 * `tol` relative to |theta_i|, and the Ritz vectors x_i = Q s_i (one blocked sweep over the
 * basis) with their true residuals ||A x_i - theta_i x_i|| (k products, counted in `matvecs`).
 * Shared by topEigenvalues and SLQ runs that also report the top of the spectrum (slq.ts): a
 * semi-orthogonal basis (partial reorthogonalization) gives the Ritz values of full
 * reorthogonalization (Simon 1984), and the true residual checks each vector whatever the basis.
 */
export async function ritzTopK(
  op: LinearOperator,
  basis: readonly BasisVector[],
  alpha: ArrayLike<number>,
  beta: ArrayLike<number>,
  lastBeta: number,
  opts: { k: number; tol: number; which?: EigenWhich; returnVectors?: boolean },
): Promise<TopEigenResult> {
  const { tol, which = 'largest-algebraic', returnVectors = false } = opts;
  const n = op.dim;
  const t = tridiagonalEigen(alpha, beta);
  const chosen = pick(t.values, Math.min(opts.k, t.values.length), which);
  // Only the chosen eigenvectors of T, by inverse iteration (O(m) each, not QL's O(m^3)).
  const s = tridiagonalEigenvectors(alpha, beta, chosen.map((i) => t.values[i]));
  const estimates = chosen.map((i) => Math.abs(lastBeta * t.lastComponents[i]));
  // Floor on |theta| so a zero eigenvalue among the top k cannot block convergence forever.
  const floor = 1e-12 * Math.max(...Array.from(t.values, Math.abs));
  const converged = chosen.length === opts.k && chosen.every((i, c) => estimates[c] <= tol * Math.max(Math.abs(t.values[i]), floor));
  const eigenvalues: number[] = [];
  const residuals: number[] = [];
  const eigenvectors: Float32Array[] = [];
  let matvecs = 0;
  // All k Ritz vectors in one blocked sweep over the basis.
  const ritz = combineBasis(basis, s, n);
  for (let c = 0; c < chosen.length; c++) {
    const x = ritz[c];
    normalize(x);
    const theta = t.values[chosen[c]];
    const x32 = toFloat32(x);
    const ax = toFloat64(await op.matvec(x32));
    matvecs++;
    axpy(-theta, x, ax);
    eigenvalues.push(theta);
    residuals.push(norm(ax));
    if (returnVectors) eigenvectors.push(x32);
  }
  const result: TopEigenResult = { method: 'lanczos', eigenvalues, residuals, converged, matvecs, iterations: alpha.length, residualEstimates: estimates };
  if (returnVectors) result.eigenvectors = eigenvectors;
  return result;
}

/** topEigenvalues with a bounded basis: thick restart, then the same true-residual checks. */
async function thickRestartEigen(
  op: LinearOperator,
  opts: TopEigenOptions & { tol: number; which: EigenWhich; maxSteps: number; maxBasis: number },
): Promise<TopEigenResult> {
  const tr = await thickRestartTop(op, { ...opts, basis: opts.basis ?? 'float64' });
  const residuals: number[] = [];
  const eigenvectors: Float32Array[] = [];
  let matvecs = tr.matvecs;
  for (let c = 0; c < tr.values.length; c++) {
    const x32 = toFloat32(tr.vectors[c]);
    const ax = toFloat64(await op.matvec(x32));
    matvecs++;
    axpy(-tr.values[c], tr.vectors[c], ax);
    residuals.push(norm(ax));
    if (opts.returnVectors) eigenvectors.push(x32);
  }
  const result: TopEigenResult = {
    method: 'lanczos',
    eigenvalues: tr.values,
    residuals,
    converged: tr.converged,
    matvecs,
    iterations: tr.matvecs,
    residualEstimates: tr.estimates,
    restarts: tr.restarts,
  };
  if (opts.returnVectors) result.eigenvectors = eigenvectors;
  return result;
}

export interface PowerIterationOptions {
  k: number;
  rng: Rng;
  /** Iterations per eigenvalue. Default 100 (PyHessian). */
  maxIter?: number;
  /** Stop when |new - old| / (|old| + 1e-6) < tol. Default 1e-3 (PyHessian). */
  tol?: number;
  returnVectors?: boolean;
}

/**
 * PyHessian's `hessian.eigenvalues`: for each of k eigenvalues, power iteration from a Gaussian
 * start, orthogonalized against the vectors already found at every iteration (deflation),
 * eigenvalue estimate v^T A v, stopping on a relative change below tol. It finds eigenvalues
 * of largest magnitude. Differences from PyHessian, all below its tolerance or in its favour:
 * the reported eigenvalue is the latest estimate (PyHessian keeps the one before), stored
 * vectors are orthogonalized once more, and a residual product per eigenvalue is added.
 */
export async function powerIteration(op: LinearOperator, opts: PowerIterationOptions): Promise<TopEigenResult> {
  const n = op.dim;
  const { k, rng, maxIter = 100, tol = 1e-3, returnVectors = false } = opts;
  if (!Number.isInteger(k) || k < 1 || k > n) {
    throw new UserError(`The number of eigenvalues k must be an integer from 1 to the dimension ${n}, got ${k}.`);
  }
  if (!Number.isInteger(maxIter) || maxIter < 1) throw new UserError(`maxIter must be a positive integer, got ${maxIter}.`);

  const found: Float64Array[] = [];
  const eigenvalues: number[] = [];
  const residuals: number[] = [];
  let matvecs = 0;
  let iterations = 0;
  let converged = true;
  for (let e = 0; e < k; e++) {
    let v = toFloat64(rng.gaussian(n));
    normalize(v);
    let eigenvalue: number | null = null;
    let thisConverged = false;
    for (let it = 0; it < maxIter; it++) {
      orthogonalizeAgainst(v, found, 2);
      normalize(v);
      const hv = toFloat64(await op.matvec(toFloat32(v)));
      matvecs++;
      iterations++;
      const estimate = dot(hv, v);
      if (!Number.isFinite(estimate)) throw new UserError('The operator returned non-finite values (NaN or Inf); check the model weights and data.');
      if (normalize(hv) === 0) {
        // v lies in the null space (after deflation): eigenvalue 0, exactly.
        eigenvalue = 0;
        thisConverged = true;
        break;
      }
      v = hv;
      const done = eigenvalue !== null && Math.abs(eigenvalue - estimate) / (Math.abs(eigenvalue) + 1e-6) < tol;
      eigenvalue = estimate;
      if (done) {
        thisConverged = true;
        break;
      }
    }
    converged &&= thisConverged;
    orthogonalizeAgainst(v, found, 2);
    normalize(v);
    found.push(v);
    const theta = eigenvalue ?? 0;
    const r = toFloat64(await op.matvec(toFloat32(v)));
    matvecs++;
    axpy(-theta, v, r);
    eigenvalues.push(theta);
    residuals.push(norm(r));
  }
  const result: TopEigenResult = { method: 'power', eigenvalues, residuals, converged, matvecs, iterations };
  if (returnVectors) result.eigenvectors = found.map((v) => toFloat32(v));
  return result;
}
