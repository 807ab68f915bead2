/**
 * Stochastic trace estimation.
 *
 * Hutchinson (1989): for a probe v with E[v v^T] = I (Rademacher or Gaussian), E[v^T A v] = tr A.
 * With Rademacher probes Var[v^T A v] = 2 sum_{i != j} A_ij^2 (the diagonal costs nothing),
 * with Gaussian probes 2 ||A||_F^2. The mean of K samples has standard error sd / sqrt(K).
 *
 * Hutch++ (Meyer, Musco, Musco, Woodruff, SOSA 2021): spend a third of the products on a sketch
 * Q = orth(A S) of the top eigenspace, take its trace exactly, tr(Q^T A Q), and Hutchinson only
 * on the deflated remainder (I - QQ^T) A (I - QQ^T). For spectra that decay (Hessians: a few
 * large outliers over a bulk near 0) the remainder has a far smaller Frobenius norm, so the
 * error falls like 1/m instead of 1/sqrt(m).
 */
import { UserError } from './errors.js';
import type { LinearOperator } from './operator.js';
import type { Rng } from './random.js';
import { dot, normalize, orthogonalizeAgainst, toFloat32, toFloat64 } from './vector.js';

export type ProbeDistribution = 'rademacher' | 'gaussian';

export interface TraceResult {
  method: 'hutchinson' | 'hutch++';
  /** Trace estimate. */
  mean: number;
  /**
   * Standard error of `mean`. Hutch++: the standard error of its Hutchinson part on the
   * deflated residual, i.e. conditional on the sketch (the exact part has no sampling error given Q).
   */
  stderr: number;
  /** Hutchinson probes behind `stderr` (Hutch++: the probes of the residual). */
  probes: number;
  /** All operator products. */
  matvecs: number;
  /** The samples v^T A v (Hutch++: of the deflated residual, before adding the exact part). */
  samples?: number[];
  /** Hutch++ only: tr(Q^T A Q), the exactly computed part. */
  lowRankTrace?: number;
  /** Hutch++ only: rank of the sketch Q. */
  sketchRank?: number;
}

function probe(rng: Rng, n: number, distribution: ProbeDistribution): Float32Array {
  return distribution === 'gaussian' ? rng.gaussian(n) : rng.rademacher(n);
}

function checkDistribution(d: string): void {
  if (d !== 'rademacher' && d !== 'gaussian') {
    throw new UserError(`The probe distribution must be 'rademacher' or 'gaussian', got '${d}'.`);
  }
}

async function sampleOnce(op: LinearOperator, v: Float32Array): Promise<number> {
  const av = await op.matvec(v);
  const s = dot(v, av);
  if (!Number.isFinite(s)) throw new UserError('The operator returned non-finite values (NaN or Inf); check the model weights and data.');
  return s;
}

/** One sample v_k^T A v_k per probe, probes drawn in sequence from rng. */
export async function traceSamples(
  op: LinearOperator,
  opts: { probes: number; rng: Rng; distribution?: ProbeDistribution },
): Promise<number[]> {
  const { probes, rng, distribution = 'rademacher' } = opts;
  if (!Number.isInteger(probes) || probes < 1) throw new UserError(`The number of probes must be a positive integer, got ${probes}.`);
  checkDistribution(distribution);
  const out: number[] = [];
  for (let k = 0; k < probes; k++) out.push(await sampleOnce(op, probe(rng, op.dim, distribution)));
  return out;
}

/** Mean and standard error (sample standard deviation / sqrt(n); 0 when n < 2). */
export function summarizeTrace(samples: number[]): { mean: number; stderr: number; probes: number } {
  const n = samples.length;
  if (n === 0) return { mean: NaN, stderr: NaN, probes: 0 };
  let mean = 0;
  for (const s of samples) mean += s;
  mean /= n;
  if (n < 2) return { mean, stderr: 0, probes: n };
  let ss = 0;
  for (const s of samples) ss += (s - mean) * (s - mean);
  return { mean, stderr: Math.sqrt(ss / (n - 1) / n), probes: n };
}

/**
 * The stopping rule of a Hutchinson estimate, shared by `hutchinson()` below and analysis's
 * chunked estimator: at least `minProbes` samples (and two: one sample has no standard error)
 * whose standard error is within `target` of |mean|.
 */
export function traceTargetReached(samples: number[], target: number, minProbes: number): boolean {
  if (samples.length < Math.max(minProbes, 2)) return false;
  const { mean, stderr } = summarizeTrace(samples);
  return stderr <= target * Math.abs(mean);
}

export interface HutchinsonOptions {
  rng: Rng;
  /** Default 100 (PyHessian's maxIter). */
  maxProbes?: number;
  /** No stopping rule applies before this many probes. Default 10. */
  minProbes?: number;
  /** Stop when stderr <= targetRelStderr * |mean| (checked every `batch` probes). */
  targetRelStderr?: number;
  /** Check the stopping rules every this many probes. Default 10. */
  batch?: number;
  distribution?: ProbeDistribution;
  /**
   * PyHessian's rule (its `tol`, 1e-3 there): stop when the running mean changes by less than
   * relChangeTol * (|previous mean| + 1e-6) from one probe to the next. Checked after every probe.
   * A weak rule (it says nothing about the error), offered for compatibility.
   */
  relChangeTol?: number;
}

/**
 * Hutchinson's estimator with optional early stopping. Data-dependent stopping biases the
 * estimate slightly; with no rule set it takes exactly maxProbes probes.
 */
export async function hutchinson(op: LinearOperator, opts: HutchinsonOptions): Promise<TraceResult> {
  const { rng, maxProbes = 100, minProbes = 10, targetRelStderr, batch = 10, distribution = 'rademacher', relChangeTol } = opts;
  if (!Number.isInteger(maxProbes) || maxProbes < 1) throw new UserError(`maxProbes must be a positive integer, got ${maxProbes}.`);
  if (!Number.isInteger(batch) || batch < 1) throw new UserError(`batch must be a positive integer, got ${batch}.`);
  checkDistribution(distribution);
  const samples: number[] = [];
  let sum = 0;
  while (samples.length < maxProbes) {
    const previous = samples.length ? sum / samples.length : 0;
    const s = await sampleOnce(op, probe(rng, op.dim, distribution));
    samples.push(s);
    sum += s;
    const n = samples.length;
    if (n < minProbes) continue;
    if (relChangeTol !== undefined && n >= 2 && Math.abs(sum / n - previous) / (Math.abs(previous) + 1e-6) < relChangeTol) break;
    if (targetRelStderr !== undefined && n % batch === 0 && traceTargetReached(samples, targetRelStderr, minProbes)) break;
  }
  const { mean, stderr, probes } = summarizeTrace(samples);
  return { method: 'hutchinson', mean, stderr, probes, matvecs: probes, samples };
}

/**
 * Hutch++ with a budget of `matvecs` products (at least 3): s = floor(m/3) for the sketch A S,
 * up to s for A Q, and the rest (at least m/3) for Hutchinson on the deflated residual. Sketch
 * directions that turn out linearly dependent are dropped and their products given to the
 * Hutchinson part, so exactly `matvecs` products are taken — unless `targetRelStderr` is set:
 * then the Hutchinson part stops (after at least `minProbes`, checked every `batch` samples) as
 * soon as its standard error is at most target x |estimate| (adaptive stopping; the sketch is
 * the budget's third whatever the target, so the stopping rule never changes what came before).
 */
export async function hutchPlusPlus(
  op: LinearOperator,
  opts: { rng: Rng; matvecs: number; distribution?: ProbeDistribution; targetRelStderr?: number; minProbes?: number; batch?: number },
): Promise<TraceResult> {
  const { rng, matvecs: budget, distribution = 'rademacher', targetRelStderr, minProbes = 10, batch = 10 } = opts;
  if (!Number.isInteger(budget) || budget < 3) throw new UserError(`Hutch++ needs a budget of at least 3 products, got ${budget}.`);
  checkDistribution(distribution);
  const n = op.dim;
  const s = Math.min(Math.floor(budget / 3), n);
  let used = 0;

  // Sketch: Y = A S, then an orthonormal basis Q of range(Y) (Gram-Schmidt twice, float64).
  const q: Float64Array[] = [];
  for (let i = 0; i < s; i++) {
    const y = toFloat64(await op.matvec(probe(rng, n, distribution)));
    used++;
    const before = Math.sqrt(dot(y, y));
    orthogonalizeAgainst(y, q, 2);
    // Drop directions already (numerically) in the span: they would add only noise.
    if (before > 0 && normalize(y) > 1e-6 * before) q.push(y);
  }

  // Exact part: tr(Q^T A Q) = sum_i q_i^T A q_i.
  let lowRankTrace = 0;
  for (const qi of q) {
    const aq = await op.matvec(toFloat32(qi));
    used++;
    lowRankTrace += dot(qi, aq);
  }

  // Hutchinson on (I - QQ^T) A (I - QQ^T): g^T (I-P) A (I-P) g = g'^T A g' with g' = (I-P) g.
  const samples: number[] = [];
  while (used < budget) {
    const g = toFloat64(probe(rng, n, distribution));
    orthogonalizeAgainst(g, q, 2);
    samples.push(await sampleOnce(op, toFloat32(g)));
    used++;
    const k = samples.length;
    if (targetRelStderr !== undefined && targetRelStderr > 0 && k >= Math.max(2, minProbes) && k % batch === 0) {
      const t = summarizeTrace(samples);
      if (t.stderr <= targetRelStderr * Math.abs(lowRankTrace + t.mean)) break;
    }
  }
  const { mean, stderr, probes } = summarizeTrace(samples);
  return {
    method: 'hutch++',
    mean: lowRankTrace + mean,
    stderr,
    probes,
    matvecs: used,
    samples,
    lowRankTrace,
    sketchRank: q.length,
  };
}
