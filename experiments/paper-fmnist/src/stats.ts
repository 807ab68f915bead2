/**
 * Statistics that can say no: pure functions on numbers, tested on known inputs
 * (test/stats.test.ts).
 *
 * - Student's t distribution: cdf through the regularized incomplete beta function
 *   (continued fraction, Numerical Recipes 6.4), quantiles by bisection on the cdf.
 * - `meanInterval`: mean, sample sd, standard error and the two-sided t-interval of a sample.
 * - `paired`: differences a_s - b_s over the seeds present in both (same seed = same
 *   initial weights, data order, augmentation and probes), with their t-interval and
 *   two-sided p-value: the comparison the paper's claims need.
 * - `wilson`: the Wilson score interval of a proportion k/n (sensible at k = 0 or n, where a
 *   t-interval over a few 0/1 values collapses to a point).
 * - `logSlope`: least-squares slope of ln(value) against epoch (a per-seed trend).
 * - `spearman`: rank correlation (ties get mean ranks).
 */

export function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

/** Sample standard deviation (n - 1); 0 for one value, NaN for none. */
export function sd(xs: readonly number[]): number {
  if (xs.length < 2) return xs.length ? 0 : NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

function logGamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9), |error| < 1e-13 for x > 0.
  const c = [0.9999999999998099, 676.5203681218851, -1259.1392167224028, 771.3234287776531, -176.6150291621406, 12.507343278686905, -0.13857109526572012, 9.984369578019572e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0];
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaCf(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betaCf(a, b, x)) / a;
  return 1 - (Math.exp(lnFront) * betaCf(b, a, 1 - x)) / b;
}

/** P(T <= t) for Student's t with df degrees of freedom. */
export function tCdf(t: number, df: number): number {
  const x = df / (df + t * t);
  const tail = 0.5 * incompleteBeta(x, df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The p-quantile of Student's t with df degrees of freedom (bisection on the cdf, 1e-12). */
export function tQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1) || !(df > 0)) return NaN;
  if (p === 0.5) return 0;
  let lo = -1;
  let hi = 1;
  while (tCdf(lo, df) > p) lo *= 2;
  while (tCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, Math.abs(hi)); i++) {
    const mid = (lo + hi) / 2;
    if (tCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface Interval {
  n: number;
  mean: number;
  sd: number;
  /** standard error of the mean */
  se: number;
  /** two-sided t-interval at `level` (null with fewer than 2 values) */
  lo: number | null;
  hi: number | null;
  level: number;
  /** two-sided p-value of mean = `null0` (null with fewer than 2 values or sd 0) */
  p: number | null;
}

/** Mean of a sample with its t-interval and the p-value against `null0`. */
export function meanInterval(xs: readonly number[], level = 0.95, null0 = 0): Interval {
  const n = xs.length;
  const m = mean(xs);
  const s = sd(xs);
  const se = n ? s / Math.sqrt(n) : NaN;
  if (n < 2) return { n, mean: m, sd: s, se, lo: null, hi: null, level, p: null };
  const q = tQuantile(1 - (1 - level) / 2, n - 1);
  const p = se > 0 ? 2 * (1 - tCdf(Math.abs(m - null0) / se, n - 1)) : null;
  return { n, mean: m, sd: s, se, lo: m - q * se, hi: m + q * se, level, p };
}

export interface Paired extends Interval {
  /** the seeds paired, ascending */
  seeds: number[];
  /** a_s - b_s in seed order */
  diffs: number[];
}

/** Differences a_s - b_s over the seeds both have, with the t-interval of their mean. */
export function paired(a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number>, level = 0.95): Paired {
  const seeds = [...a.keys()].filter((s) => b.has(s)).sort((x, y) => x - y);
  const diffs = seeds.map((s) => a.get(s)! - b.get(s)!);
  return { ...meanInterval(diffs, level), seeds, diffs };
}

/** Wilson score interval of the proportion k/n at a two-sided level. */
export function wilson(k: number, n: number, level = 0.95): { p: number; lo: number; hi: number } | null {
  if (n <= 0) return null;
  // the normal quantile: exact for 95%, else the t quantile at a huge df (about 1e-7 off)
  const z = level === 0.95 ? 1.959963984540054 : tQuantile(1 - (1 - level) / 2, 1e9);
  const p = k / n;
  const d = 1 + (z * z) / n;
  const c = (p + (z * z) / (2 * n)) / d;
  const h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return { p, lo: Math.max(0, c - h), hi: Math.min(1, c + h) };
}

/** Least-squares slope of ln(y) on x (y > 0); NaN with fewer than 2 points or one x. */
export function logSlope(xs: readonly number[], ys: readonly number[]): number {
  const pts = xs.map((x, i) => [x, ys[i]] as const).filter(([, y]) => Number.isFinite(y) && y > 0);
  if (pts.length < 2) return NaN;
  const mx = mean(pts.map(([x]) => x));
  const my = mean(pts.map(([, y]) => Math.log(y)));
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of pts) {
    sxy += (x - mx) * (Math.log(y) - my);
    sxx += (x - mx) ** 2;
  }
  return sxx > 0 ? sxy / sxx : NaN;
}

function ranks(xs: readonly number[]): number[] {
  const idx = xs.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const r = new Array<number>(xs.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1][0] === idx[i][0]) j++;
    for (let k = i; k <= j; k++) r[idx[k][1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

/** Spearman's rank correlation; NaN with fewer than 3 points or a constant series. */
export function spearman(xs: readonly number[], ys: readonly number[]): number {
  if (xs.length < 3) return NaN;
  const a = ranks(xs);
  const b = ranks(ys);
  const ma = mean(a);
  const mb = mean(b);
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - ma) * (b[i] - mb);
    da += (a[i] - ma) ** 2;
    db += (b[i] - mb) ** 2;
  }
  return da > 0 && db > 0 ? num / Math.sqrt(da * db) : NaN;
}
