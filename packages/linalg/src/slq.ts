/**
 * Stochastic Lanczos quadrature (SLQ): the eigenvalue spectral density of a symmetric operator.
 *
 * For a unit start vector q, m Lanczos steps give T_m = S diag(theta) S^T, and the discrete
 * measure sum_i s_{1i}^2 delta(x - theta_i) is the m-point Gauss quadrature of q's spectral
 * measure sum_j (q . u_j)^2 delta(x - lambda_j): it matches its moments of degree <= 2m-1
 * exactly. With q = v/||v|| for Rademacher or Gaussian v, E[(q . u_j)^2] = 1/n, so averaging
 * runs estimates the spectral density (1/n) sum_j delta(x - lambda_j), and its moments
 * (1/n) tr(A^p). Smoothing with a Gaussian kernel turns the nodes into a plottable density.
 */
import { UserError } from './errors.js';
import { lanczosLocal } from './bounded.js';
import { lanczos, type BasisStorage } from './lanczos.js';
import { ritzTopK, type TopEigenResult } from './eigen.js';
import { lanczosPartial } from './partial.js';
import type { LinearOperator } from './operator.js';
import type { Rng } from './random.js';
import { tridiagonalEigen } from './tridiag.js';

export interface SlqRun {
  /** Ritz values, ascending. */
  nodes: number[];
  /** Squared first components of the Ritz vectors; sum to 1. */
  weights: number[];
  steps: number;
  matvecs: number;
  /** The Lanczos coefficients the nodes came from (small: what a worker sends back). */
  alpha?: number[];
  beta?: number[];
  breakdown?: boolean;
  /**
   * The top-k Ritz pairs of this run's Lanczos process, when asked for (`top`) and the basis was
   * kept (full or partial reorthogonalization): what a separate top-k Lanczos run would report,
   * for k more products instead of its own run (eigen.ts `ritzTopK`).
   */
  top?: TopEigenResult;
}

/** Gauss quadrature nodes and weights of a Lanczos tridiagonal (for runs rebuilt from alpha, beta). */
export function quadratureFromTridiagonal(alpha: ArrayLike<number>, beta: ArrayLike<number>): { nodes: number[]; weights: number[] } {
  const t = tridiagonalEigen(alpha, beta);
  return { nodes: Array.from(t.values), weights: Array.from(t.firstComponents, (c) => c * c) };
}

/**
 * One SLQ run: Lanczos from a normalized random start, with full reorthogonalization (default),
 * `reorth: 'partial'` (the same quadrature from a semi-orthogonal basis, a fraction of the
 * reorthogonalization work; partial.ts) or, with `reorth: 'local'`, against a window of the last
 * vectors only (bounded memory; see bounded.ts for what that costs in accuracy).
 * `top: { k, tol }` also returns the run's top-k Ritz pairs with their true residuals (k more
 * products; not with 'local', which keeps no basis to form Ritz vectors from).
 */
export async function slqRun(
  op: LinearOperator,
  opts: { steps: number; rng: Rng; distribution?: 'rademacher' | 'gaussian'; basis?: BasisStorage; reorth?: 'full' | 'partial' | 'local'; window?: number; top?: { k: number; tol: number } },
): Promise<SlqRun> {
  const { steps, rng, distribution = 'rademacher', basis = 'float64', reorth = 'full' } = opts;
  if (distribution !== 'rademacher' && distribution !== 'gaussian') {
    throw new UserError(`The probe distribution must be 'rademacher' or 'gaussian', got '${String(distribution)}'.`);
  }
  if (reorth !== 'full' && reorth !== 'partial' && reorth !== 'local') throw new UserError(`SLQ reorthogonalization must be 'full', 'partial' or 'local', got '${String(reorth)}'.`);
  const start = distribution === 'gaussian' ? rng.gaussian(op.dim) : rng.rademacher(op.dim);
  const lz =
    reorth === 'local'
      ? await lanczosLocal(op, { steps, rng, start, basis, window: opts.window })
      : reorth === 'partial'
        ? await lanczosPartial(op, { steps, rng, start, basis, keepBasis: opts.top !== undefined })
        : await lanczos(op, { steps, rng, start, basis, keepBasis: opts.top !== undefined });
  const { nodes, weights } = quadratureFromTridiagonal(lz.alpha, lz.beta);
  const run: SlqRun = { nodes, weights, steps: lz.steps, matvecs: lz.matvecs, alpha: lz.alpha, beta: lz.beta, breakdown: lz.breakdown };
  if (opts.top && 'basis' in lz && lz.basis) {
    run.top = await ritzTopK(op, lz.basis, lz.alpha, lz.beta, lz.lastBeta ?? 0, { k: Math.min(opts.top.k, lz.steps), tol: opts.top.tol });
    run.matvecs += run.top.matvecs;
  }
  return run;
}

export type DensityPreset = 'pyhessian' | 'papyan';

export interface Density {
  grid: number[];
  /** Normalized so that sum(density) * (grid step) = 1. */
  density: number[];
  /** log10 of the density with a floor, for log-scale plots. */
  logDensity?: number[];
  /** Standard deviation of the Gaussian kernel. */
  sigma: number;
  runs: number;
  /** 'custom' when sigma2 overrides the preset's kernel width. */
  preset: DensityPreset | 'custom';
}

export interface SmoothDensityOptions {
  /** Default 'pyhessian'. */
  preset?: DensityPreset;
  /** Default 10000 (both presets). */
  gridPoints?: number;
  /** Kernel variance; overrides the preset's (the result is then labelled 'custom'). */
  sigma2?: number;
  /** Grid end points; default from the Ritz values as the preset says. */
  bounds?: [number, number];
}

/*
 * The 'pyhessian' preset reproduces density_generate() in PyHessian's density_plot.py
 * (github.com/amirgholami/PyHessian, commit f4c3f77):
 *   lambda_max = mean over runs of max(Ritz values) + overhead, overhead = 0.01
 *   lambda_min = mean over runs of min(Ritz values) - overhead
 *   grids = linspace(lambda_min, lambda_max, num_bins = 10000)
 *   kernel variance = sigma_squared * max(1, lambda_max - lambda_min), sigma_squared = 1e-5
 *     (the padded width; PyHessian calls this variance "sigma" and passes it as sigma_squared)
 *   density = mean over runs of sum_i w_i N(x; theta_i, variance), divided by sum(density) * dx.
 * Its plot shows log10(density + 1e-7), which logDensity reproduces.
 *
 * The 'papyan' preset (log-scale plots that show outliers and bulk at once, as in Papyan 2019,
 * "The full spectrum of deepnet Hessians at scale"): bounds = the given spectrum bounds, or the
 * extreme Ritz values over all runs widened by 5% of their spread on each side; kernel
 * sigma = 5 grid steps; logDensity = log10(density + 1e-12 * max density).
 */
const PYHESSIAN_OVERHEAD = 0.01;
const PYHESSIAN_SIGMA2 = 1e-5;
const PAPYAN_MARGIN = 0.05;
const PAPYAN_SIGMA_STEPS = 5;

export function smoothDensity(runs: SlqRun[], opts: SmoothDensityOptions = {}): Density {
  const { preset = 'pyhessian', gridPoints = 10000, sigma2, bounds } = opts;
  if (runs.length === 0) throw new UserError('A spectral density needs at least one SLQ run.');
  if (preset !== 'pyhessian' && preset !== 'papyan') throw new UserError(`Unknown density preset '${String(preset)}'; use 'pyhessian' or 'papyan'.`);
  if (!Number.isInteger(gridPoints) || gridPoints < 2) throw new UserError(`gridPoints must be an integer of at least 2, got ${gridPoints}.`);
  if (sigma2 !== undefined && !(sigma2 > 0)) throw new UserError(`sigma2 must be positive, got ${sigma2}.`);
  for (const r of runs) {
    if (r.nodes.length === 0 || r.nodes.length !== r.weights.length) throw new UserError('Each SLQ run needs as many weights as nodes, and at least one node.');
  }

  let lo: number;
  let hi: number;
  let variance: number;
  if (preset === 'pyhessian') {
    if (bounds) [lo, hi] = bounds;
    else {
      lo = mean(runs.map((r) => Math.min(...r.nodes))) - PYHESSIAN_OVERHEAD;
      hi = mean(runs.map((r) => Math.max(...r.nodes))) + PYHESSIAN_OVERHEAD;
    }
    variance = sigma2 ?? PYHESSIAN_SIGMA2 * Math.max(1, hi - lo);
  } else {
    if (bounds) [lo, hi] = bounds;
    else {
      const min = Math.min(...runs.map((r) => Math.min(...r.nodes)));
      const max = Math.max(...runs.map((r) => Math.max(...r.nodes)));
      const spread = max > min ? max - min : Math.max(Math.abs(max), 1);
      lo = min - PAPYAN_MARGIN * spread;
      hi = max + PAPYAN_MARGIN * spread;
    }
    variance = sigma2 ?? (PAPYAN_SIGMA_STEPS * ((hi - lo) / (gridPoints - 1))) ** 2;
  }
  if (!(hi > lo) || !Number.isFinite(hi - lo)) throw new UserError(`Density bounds must be finite with lower < upper, got [${lo}, ${hi}].`);

  const dx = (hi - lo) / (gridPoints - 1);
  const grid = Array.from({ length: gridPoints }, (_, j) => lo + j * dx);
  const acc = new Float64Array(gridPoints);
  const sigma = Math.sqrt(variance);
  const norm = 1 / Math.sqrt(2 * Math.PI * variance);
  // Beyond 12 sigma a Gaussian is below 1e-31 of its peak: skip those grid points.
  const reach = 12 * sigma;
  for (const r of runs) {
    for (let i = 0; i < r.nodes.length; i++) {
      const x0 = r.nodes[i];
      const w = r.weights[i] / runs.length;
      const j0 = Math.max(0, Math.ceil((x0 - reach - lo) / dx));
      const j1 = Math.min(gridPoints - 1, Math.floor((x0 + reach - lo) / dx));
      for (let j = j0; j <= j1; j++) {
        const d = grid[j] - x0;
        acc[j] += w * norm * Math.exp((-d * d) / (2 * variance));
      }
    }
  }
  let total = 0;
  for (const v of acc) total += v;
  total *= dx;
  if (!(total > 0)) throw new UserError('No SLQ node lies within the density bounds; widen the bounds.');
  const density = Array.from(acc, (v) => v / total);
  const floor = preset === 'pyhessian' ? 1e-7 : 1e-12 * Math.max(...density);
  const logDensity = density.map((v) => Math.log10(v + floor));
  return { grid, density, logDensity, sigma, runs: runs.length, preset: sigma2 !== undefined ? 'custom' : preset };
}

/**
 * Quadrature estimates of the normalized spectral moments (1/n) tr(A^p), p = 1..orders:
 * the mean over runs of sum_i w_i theta_i^p. Exact per run for p <= 2*steps-1 in the sense
 * that it equals q^T A^p q; unbiased for (1/n) tr(A^p) over random starts.
 */
export function spectralMoments(runs: SlqRun[], orders: number): number[] {
  if (runs.length === 0) throw new UserError('Spectral moments need at least one SLQ run.');
  if (!Number.isInteger(orders) || orders < 1) throw new UserError(`The number of moments must be a positive integer, got ${orders}.`);
  const out = new Array<number>(orders).fill(0);
  for (const r of runs) {
    for (let i = 0; i < r.nodes.length; i++) {
      let pw = 1;
      for (let p = 0; p < orders; p++) {
        pw *= r.nodes[i];
        out[p] += (r.weights[i] * pw) / runs.length;
      }
    }
  }
  return out;
}

function mean(xs: number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}
