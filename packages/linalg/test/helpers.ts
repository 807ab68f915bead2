/** Spectra and small numerical helpers shared by the tests (not part of the package API). */
import { Rng } from '../src/random.js';

/** n eigenvalues drawn from the Marchenko-Pastur law of ratio c (< 1), by rejection sampling. */
export function marchenkoPastur(n: number, c: number, rng: Rng): number[] {
  const a = (1 - Math.sqrt(c)) ** 2;
  const b = (1 + Math.sqrt(c)) ** 2;
  const pdf = (x: number) => Math.sqrt(Math.max(0, (b - x) * (x - a))) / (2 * Math.PI * c * x);
  let max = 0;
  for (let i = 1; i < 1000; i++) max = Math.max(max, pdf(a + ((b - a) * i) / 1000));
  max *= 1.1;
  const out: number[] = [];
  while (out.length < n) {
    const x = a + (b - a) * rng.uniform();
    if (rng.uniform() * max <= pdf(x)) out.push(x);
  }
  return out;
}

/** n values uniform in [lo, hi). */
export function uniformValues(n: number, lo: number, hi: number, rng: Rng): number[] {
  return Array.from({ length: n }, () => lo + (hi - lo) * rng.uniform());
}

export function sortedDescending(xs: ArrayLike<number>): number[] {
  return Array.from(xs).sort((p, q) => q - p);
}

export function relErr(got: number, want: number): number {
  return Math.abs(got - want) / Math.abs(want);
}

export function sum(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s;
}

/** Upper tail P(X >= k) of Binomial(n, p), for statistically sound "at most so many misses" bounds. */
export function binomialTail(n: number, p: number, k: number): number {
  let term = (1 - p) ** n; // P(X = 0)
  let cdf = 0;
  for (let i = 0; i < k; i++) {
    cdf += term;
    term *= ((n - i) / (i + 1)) * (p / (1 - p));
  }
  return 1 - cdf;
}
