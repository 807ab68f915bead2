/**
 * Distances between spectra: how similar a layer's eigenvalue density is to the whole
 * network's. Wasserstein-1 on the discrete SLQ measures (no smoothing parameter involved);
 * Jensen-Shannon on smoothed densities resampled to a common grid.
 */
import { UserError } from './errors.js';
import type { SlqRun, Density } from './slq.js';

export interface DiscreteMeasure {
  nodes: number[];
  weights: number[];
}

/** The average of the runs' discrete measures (each run's weights renormalized to sum 1 first). */
export function mergeRuns(runs: SlqRun[]): DiscreteMeasure {
  if (runs.length === 0) throw new UserError('Merging SLQ runs needs at least one run.');
  const nodes: number[] = [];
  const weights: number[] = [];
  for (const r of runs) {
    const total = sum(r.weights);
    if (!(total > 0)) throw new UserError('An SLQ run has no positive weight.');
    for (let i = 0; i < r.nodes.length; i++) {
      nodes.push(r.nodes[i]);
      weights.push(r.weights[i] / total / runs.length);
    }
  }
  return { nodes, weights };
}

/**
 * Exact 1-D Wasserstein-1 distance between two discrete measures (each normalized to total
 * mass 1): the integral over x of |F_a(x) - F_b(x)|, evaluated piecewise between the sorted
 * union of the nodes, where both CDFs are constant.
 */
export function wasserstein1(a: DiscreteMeasure, b: DiscreteMeasure): number {
  const ta = checkMeasure(a, 'first');
  const tb = checkMeasure(b, 'second');
  const events: Array<[number, number]> = [];
  a.nodes.forEach((x, i) => events.push([x, a.weights[i] / ta]));
  b.nodes.forEach((x, i) => events.push([x, -b.weights[i] / tb]));
  events.sort((p, q) => p[0] - q[0]);
  // diff = F_a - F_b just after each event.
  let diff = 0;
  let w1 = 0;
  for (let i = 0; i < events.length - 1; i++) {
    diff += events[i][1];
    w1 += Math.abs(diff) * (events[i + 1][0] - events[i][0]);
  }
  return w1;
}

/**
 * Jensen-Shannon divergence (natural log, so in [0, ln 2]) between two smoothed densities.
 * Both are linearly interpolated onto one uniform grid covering both supports (zero outside
 * each density's own grid) and normalized to probability vectors there. The default grid is as
 * fine as the finer of the two input grids (so narrow peaks are not stepped over), at least as
 * many points as either input, capped at 200000 points.
 */
export function jensenShannon(a: Density, b: Density, gridPoints?: number): number {
  for (const d of [a, b]) {
    if (d.grid.length < 2 || d.grid.length !== d.density.length) throw new UserError('A density needs a grid of at least 2 points and one value per grid point.');
  }
  const lo = Math.min(a.grid[0], b.grid[0]);
  const hi = Math.max(a.grid[a.grid.length - 1], b.grid[b.grid.length - 1]);
  let m = gridPoints;
  if (m === undefined) {
    const step = Math.min(gridStep(a), gridStep(b));
    m = Math.min(200000, Math.max(a.grid.length, b.grid.length, Math.ceil((hi - lo) / step) + 1));
  }
  if (!Number.isInteger(m) || m < 2) throw new UserError(`gridPoints must be an integer of at least 2, got ${m}.`);
  const dx = (hi - lo) / (m - 1);
  const p = new Float64Array(m);
  const q = new Float64Array(m);
  resample(a, lo, dx, p);
  resample(b, lo, dx, q);
  const sp = sum(p);
  const sq = sum(q);
  if (!(sp > 0) || !(sq > 0)) throw new UserError('A density is zero everywhere on the common grid.');
  let js = 0;
  for (let j = 0; j < m; j++) {
    const pj = p[j] / sp;
    const qj = q[j] / sq;
    const mj = 0.5 * (pj + qj);
    if (pj > 0) js += 0.5 * pj * Math.log(pj / mj);
    if (qj > 0) js += 0.5 * qj * Math.log(qj / mj);
  }
  // Rounding can leave it a hair outside [0, ln 2].
  return Math.min(Math.max(js, 0), Math.LN2);
}

/**
 * Puts a density on the common grid lo + j*dx. Interpolation where the density's own grid is
 * at least as coarse as the common one; binning (mass of each own grid cell to the nearest
 * common point) where it is finer, so a peak narrower than dx (e.g. the ESD of a residual
 * H - G that is nearly zero) keeps its mass instead of falling between grid points.
 */
function resample(d: Density, lo: number, dx: number, out: Float64Array): void {
  const m = out.length;
  const step = gridStep(d);
  if (step >= dx || !(dx > 0)) {
    for (let j = 0; j < m; j++) out[j] = interpolate(d, lo + j * dx);
    return;
  }
  for (let i = 0; i < d.grid.length; i++) {
    const j = Math.min(m - 1, Math.max(0, Math.round((d.grid[i] - lo) / dx)));
    out[j] += (Math.max(0, d.density[i]) * step) / dx;
  }
}

function gridStep(d: Density): number {
  return (d.grid[d.grid.length - 1] - d.grid[0]) / (d.grid.length - 1);
}

/** Linear interpolation of a density on its own (ascending) grid; 0 outside it. */
function interpolate(d: Density, x: number): number {
  const g = d.grid;
  const n = g.length;
  if (x < g[0] || x > g[n - 1]) return 0;
  // Binary search for the interval [g[i], g[i+1]] holding x (grids need not be uniform).
  let i = 0;
  let j = n - 1;
  while (j - i > 1) {
    const mid = (i + j) >> 1;
    if (g[mid] <= x) i = mid;
    else j = mid;
  }
  const t = g[j] === g[i] ? 0 : (x - g[i]) / (g[j] - g[i]);
  return Math.max(0, d.density[i] * (1 - t) + d.density[j] * t);
}

function checkMeasure(m: DiscreteMeasure, which: string): number {
  if (m.nodes.length === 0 || m.nodes.length !== m.weights.length) {
    throw new UserError(`The ${which} measure needs as many weights as nodes, and at least one node.`);
  }
  const t = sum(m.weights);
  if (!(t > 0) || m.weights.some((w) => w < 0)) throw new UserError(`The ${which} measure needs nonnegative weights with a positive total.`);
  return t;
}

function sum(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s;
}
