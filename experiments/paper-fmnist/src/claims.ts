/**
 * The paper's claims as tests that can fail, each with a verdict that follows from the numbers
 * (pure: tested on made-up runs in test/claims.test.ts).
 *
 * Verdict rules (95% two-sided t-intervals over seeds; a seed pairs runs that share initial
 * weights, data order, augmentation and probes):
 * - "X lowers the test error vs Y" (paired differences X - Y of the final test error):
 *   supported when the interval lies below 0; contradicted when it lies above 0, or when it
 *   excludes the paper's difference while not lying below 0; undecided otherwise.
 * - "a middle layer's ESD is the closest to the full network's" (per seed: the fraction of
 *   trained checkpoints of all configs whose closest layer by W1 is a middle one, i.e. in the
 *   middle half of the depth, 0.25 <= depth <= 0.75; on LeNet conv2, fc1, fc2): supported when
 *   both the Wilson interval of the pooled count and the t-interval of the per-seed fractions
 *   lie above the chance level (middle layers / layers), contradicted when both lie below,
 *   undecided otherwise.
 * - "trace / top eigenvalue fall during training" (per run: least-squares slope of ln(value)
 *   against the epoch over the trained sweep checkpoints): per config an interval over seeds;
 *   supported when every config's lies below 0, contradicted when one lies above 0.
 * - "HTR lowers the trace" (paired ln(trace) at the last swept checkpoint, HTR - SGD).
 * Fewer than 2 pairs or seeds: undecided, saying how many there are.
 */
import { CONFIG_LABELS, PAPER, type Config } from './protocol.js';
import { logSlope, meanInterval, paired, wilson, type Interval, type Paired } from './stats.js';
import type { CheckpointSummary } from './sweeps.js';

export type Verdict = 'supported' | 'contradicted' | 'undecided';

/** What the claims need of one run. */
export interface RunResult {
  config: Config;
  seed: number;
  complete: boolean;
  /** final test error in %, complete runs only */
  finalTestError: number | null;
  /** the run's swept checkpoints, ascending epoch */
  sweep: CheckpointSummary[];
}

export interface Claim {
  id: string;
  claim: string;
  paper: string;
  verdict: Verdict;
  /** one sentence with the numbers behind the verdict */
  why: string;
  /** the intervals behind it, by label */
  numbers: Record<string, Interval | Paired>;
}

const f = (x: number | null | undefined, d = 2): string => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d));
/** Equal differences up to float rounding (10.71 - 10.66 and 10.11 - 10.06 differ by 1e-15). */
const noSpread = (d: { sd: number; mean: number }): boolean => d.sd <= 1e-9 * Math.max(1, Math.abs(d.mean));
const sgn = (x: number, d = 2): string => `${x > 0 ? '+' : ''}${x.toFixed(d)}`;

export function fmtInterval(i: Interval, d = 2): string {
  if (i.n === 0) return 'no data';
  if (i.lo === null || i.hi === null) return `${sgn(i.mean, d)} (n = ${i.n}, no interval)`;
  return `${sgn(i.mean, d)} [${sgn(i.lo, d)}, ${sgn(i.hi, d)}] (n = ${i.n}${i.p !== null ? `, p = ${i.p < 0.001 ? i.p.toExponential(1) : i.p.toFixed(3)}` : ''})`;
}

function finals(runs: RunResult[], c: Config): Map<number, number> {
  return new Map(runs.filter((r) => r.config === c && r.complete && r.finalTestError !== null).map((r) => [r.seed, r.finalTestError!]));
}

/** "a lowers the test error vs b", with the paper's difference when it has one. */
export function lowerError(runs: RunResult[], a: Config, b: Config): Claim {
  const d = paired(finals(runs, a), finals(runs, b));
  const pa = PAPER[a];
  const pb = PAPER[b];
  const paperDiff = pa && pb ? pa.mean - pb.mean : null;
  const id = `error-${a}-vs-${b}`;
  const claim = `${CONFIG_LABELS[a].label} ends with a lower test error than ${CONFIG_LABELS[b].label}`;
  const paper = paperDiff === null ? 'no number in the authors’ README for this pair' : `${f(pa!.mean)} vs ${f(pb!.mean)} %: ${sgn(paperDiff)} points`;
  let verdict: Verdict = 'undecided';
  let why: string;
  if (d.lo === null || d.hi === null) why = `${d.n} complete seed pair(s); an interval needs 2`;
  // Test errors move in steps of 0.01 points (10,000 test images): a few pairs can differ by
  // exactly the same amount, and a t-interval of zero width then "decides" on no evidence.
  else if (noSpread(d)) why = `all ${d.n} paired differences are ${sgn(d.mean)} points: no spread to form an interval from; more seeds`;
  else if (d.hi < 0) {
    verdict = 'supported';
    why = `paired difference ${fmtInterval(d)} points lies below 0`;
  } else if (d.lo > 0) {
    verdict = 'contradicted';
    why = `paired difference ${fmtInterval(d)} points lies above 0: higher error`;
  } else if (paperDiff !== null && d.lo > paperDiff) {
    verdict = 'contradicted';
    why = `paired difference ${fmtInterval(d)} points excludes the paper’s ${sgn(paperDiff)} and does not lie below 0`;
  } else why = `paired difference ${fmtInterval(d)} points contains 0${paperDiff !== null ? ` and the paper’s ${sgn(paperDiff)}` : ''}`;
  return { id, claim, paper, verdict, why, numbers: { [`${a} - ${b}`]: d } };
}

/** Trained checkpoints (epoch > 0) of a run whose layer distances are known. */
function trained(r: RunResult): CheckpointSummary[] {
  return r.sweep.filter((c) => c.epoch > 0 && c.scopes.some((s) => s.kind === 'layer' && s.wasserstein1 !== null));
}

/** A layer in the middle half of the network's depth (normalized depth 0 = first layer, 1 = last). */
export function isMiddleDepth(depth: number): boolean {
  return depth >= 0.25 - 1e-9 && depth <= 0.75 + 1e-9;
}

/** Per checkpoint: is the closest layer (by metric) a middle one? the chance level, and the mean distance of the middle layers minus the others'. */
export function closestIsMiddle(c: CheckpointSummary, metric: 'wasserstein1' | 'jensenShannon'): { middle: boolean; chance: number; gap: number } | null {
  const layers = c.scopes.filter((s) => s.kind === 'layer' && s.depth !== null && s[metric] !== null);
  if (layers.length < 3) return null;
  const isMid = (s: (typeof layers)[number]) => isMiddleDepth(s.depth!);
  const closest = layers.reduce((a, b) => (b[metric]! < a[metric]! ? b : a));
  const mid = layers.filter(isMid).map((s) => s[metric]!);
  const ends = layers.filter((s) => !isMid(s)).map((s) => s[metric]!);
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { middle: isMid(closest), chance: mid.length / layers.length, gap: avg(mid) - avg(ends) };
}

export function middleClosest(runs: RunResult[], metric: 'wasserstein1' | 'jensenShannon' = 'wasserstein1'): Claim {
  const seeds = [...new Set(runs.map((r) => r.seed))].sort((a, b) => a - b);
  const frac: number[] = [];
  const gaps: number[] = [];
  let chance = NaN;
  let points = 0;
  let hits = 0;
  for (const s of seeds) {
    const cs = runs.filter((r) => r.seed === s).flatMap(trained);
    const v = cs.map((c) => closestIsMiddle(c, metric)).filter((x): x is NonNullable<typeof x> => x !== null);
    if (!v.length) continue;
    const k = v.filter((x) => x.middle).length;
    points += v.length;
    hits += k;
    chance = v[0].chance;
    frac.push(k / v.length);
    gaps.push(v.reduce((a, x) => a + x.gap, 0) / v.length);
  }
  const fr = meanInterval(frac, 0.95, Number.isFinite(chance) ? chance : 0);
  const w = wilson(hits, points);
  const pooled: Interval = { n: points, mean: w?.p ?? NaN, sd: NaN, se: NaN, lo: w?.lo ?? null, hi: w?.hi ?? null, level: 0.95, p: null };
  const gap = meanInterval(gaps);
  const name = metric === 'wasserstein1' ? 'W1' : 'JS';
  let verdict: Verdict = 'undecided';
  let why: string;
  if (fr.lo === null || fr.hi === null || !w) why = `${frac.length} seed(s) with swept trained checkpoints; an interval needs 2`;
  else {
    const txt =
      `the ${name}-closest layer is a middle one at ${hits} of ${points} trained checkpoints (every config): ${f(w.p)}, Wilson [${f(w.lo)}, ${f(w.hi)}]; ` +
      `per seed ${f(fr.mean)} [${f(fr.lo)}, ${f(fr.hi)}] over ${fr.n} seeds; chance ${f(chance)}; mean ${name} of middle minus other layers ${fmtInterval(gap, 3)}`;
    // Both intervals must agree: the pooled one does not collapse at 0 or 1, the per-seed one respects that checkpoints of a seed are related.
    if (w.lo > chance && fr.lo > chance) {
      verdict = 'supported';
      why = `${txt}: both above chance`;
    } else if (w.hi < chance && fr.hi < chance) {
      verdict = 'contradicted';
      why = `${txt}: both below chance`;
    } else why = `${txt}: an interval contains chance`;
  }
  return {
    id: `esd-middle-closest-${name.toLowerCase()}`,
    claim: `The middle layers’ ESDs are the closest to the full network’s (${name}; middle = depth 0.25..0.75)`,
    paper: 'middle layers’ ESDs resemble the full network’s most (their figures, several networks)',
    verdict,
    why,
    numbers: { 'closest is middle (pooled, Wilson)': pooled, 'closest is middle (per seed)': fr, 'middle minus other layers distance': gap },
  };
}

/** Per run: slope of ln(full-network quantity) per epoch over the trained sweep checkpoints. */
export function runSlope(r: RunResult, q: 'trace' | 'top'): number {
  const pts = r.sweep.filter((c) => c.epoch > 0).map((c) => [c.epoch, c.scopes.find((s) => s.kind === 'full')?.[q] ?? null] as const);
  const ok = pts.filter((p): p is readonly [number, number] => p[1] !== null);
  return ok.length >= 2 ? logSlope(ok.map((p) => p[0]), ok.map((p) => p[1])) : NaN;
}

export function falls(runs: RunResult[], configs: Config[], q: 'trace' | 'top'): Claim {
  const numbers: Record<string, Interval> = {};
  const parts: string[] = [];
  let anyUp = false;
  let allDown = true;
  let any = false;
  for (const c of configs) {
    // % per epoch: 100 * slope of ln(value)
    const slopes = runs.filter((r) => r.config === c).map((r) => 100 * runSlope(r, q)).filter(Number.isFinite);
    const i = meanInterval(slopes);
    numbers[c] = i;
    if (i.lo === null || i.hi === null) {
      allDown = false;
      parts.push(`${CONFIG_LABELS[c].short} ${i.n ? fmtInterval(i) : 'no run'}`);
      continue;
    }
    any = true;
    if (i.lo > 0) anyUp = true;
    if (!(i.hi < 0)) allDown = false;
    parts.push(`${CONFIG_LABELS[c].short} ${fmtInterval(i)}`);
  }
  const what = q === 'trace' ? 'Hessian trace' : 'top Hessian eigenvalue';
  const verdict: Verdict = !any ? 'undecided' : anyUp ? 'contradicted' : allDown ? 'supported' : 'undecided';
  const rule = !any ? 'no config has 2 runs with 2 swept trained checkpoints yet' : verdict === 'supported' ? 'every interval lies below 0' : verdict === 'contradicted' ? 'an interval lies above 0' : 'not every interval lies below 0, none above';
  return {
    id: `${q}-falls`,
    claim: `The full network’s ${what} falls during training (after the first checkpoints)`,
    paper: `${what} decreases as training proceeds (their curves)`,
    verdict,
    why: `slope of ln(${q}) per epoch in % over the trained sweep checkpoints, per seed, by config: ${parts.join('; ')}: ${rule}`,
    numbers,
  };
}

/** HTR (a config) ends at a lower full-network trace than SGD: paired ln(trace) at the last common swept epoch. */
export function htrFlatter(runs: RunResult[], a: Config): Claim {
  const last = (r: RunResult) => (r.complete ? r.sweep.filter((c) => c.scopes.some((s) => s.kind === 'full' && s.trace !== null && s.trace > 0)).at(-1) : undefined);
  const val = (c: Config) => new Map(runs.filter((r) => r.config === c && last(r)).map((r) => [r.seed, Math.log(last(r)!.scopes.find((s) => s.kind === 'full')!.trace!)]));
  const d = paired(val(a), val('sgd'));
  let verdict: Verdict = 'undecided';
  let why: string;
  if (d.lo === null || d.hi === null) why = `${d.n} complete seed pair(s) with a final sweep; an interval needs 2`;
  else if (noSpread(d)) why = `all ${d.n} paired ln(final trace) differences are ${sgn(d.mean, 3)}: no spread to form an interval from; more seeds`;
  else {
    const ratio = `trace ratio ${f(Math.exp(d.mean))} [${f(Math.exp(d.lo))}, ${f(Math.exp(d.hi))}]`;
    if (d.hi < 0) verdict = 'supported';
    else if (d.lo > 0) verdict = 'contradicted';
    why = `paired ln(final trace) difference ${fmtInterval(d, 3)}, ${ratio}${verdict === 'undecided' ? ': contains 1' : ''}`;
  }
  return {
    id: `flatter-${a}`,
    claim: `${CONFIG_LABELS[a].label} ends at a smaller Hessian trace (flatter) than SGD`,
    paper: 'HTR penalizes the layerwise traces, hence flatter minima',
    verdict,
    why,
    numbers: { [`ln trace ${a} - sgd`]: d },
  };
}

/** Every claim the report states, in order. */
export function allClaims(runs: RunResult[], configs: Config[]): Claim[] {
  const has = (c: Config) => configs.includes(c);
  const out: Claim[] = [];
  if (has('htr') && has('sgd')) out.push(lowerError(runs, 'htr', 'sgd'));
  if (has('htr') && has('l2')) out.push(lowerError(runs, 'htr', 'l2'));
  if (has('htr-middle') && has('sgd')) out.push(lowerError(runs, 'htr-middle', 'sgd'));
  out.push(middleClosest(runs, 'wasserstein1'), middleClosest(runs, 'jensenShannon'));
  out.push(falls(runs, configs, 'trace'), falls(runs, configs, 'top'));
  for (const c of ['htr', 'htr-middle'] as const) if (has(c) && has('sgd')) out.push(htrFlatter(runs, c));
  return out;
}
