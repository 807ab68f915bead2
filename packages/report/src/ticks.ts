/** Nice numbers and tick positions (Heckbert), their labels, and decade ticks for log axes. */
import { esc, isNum } from './svg.js';

/** Heckbert's nice number: 1, 2, 5 or 10 times a power of ten near `x` (x > 0). */
export function niceNum(x: number, round: boolean): number {
  if (!(x > 0) || !Number.isFinite(x)) return 1;
  const e = Math.floor(Math.log10(x));
  const f = x / 10 ** e;
  let nf: number;
  if (round) nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  else nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return nf * 10 ** e;
}

/** Orders, de-NaNs and widens a degenerate range so that ticks can be placed on it. */
export function saneRange(min: number, max: number): [number, number] {
  let lo = isNum(min) ? min : isNum(max) ? max : 0;
  let hi = isNum(max) ? max : lo;
  if (lo > hi) [lo, hi] = [hi, lo];
  if (hi - lo <= Math.abs(hi) * 1e-12 || hi === lo) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  return [lo, hi];
}

/** Tick spacing for about `count` ticks on [min, max]. */
export function niceStep(min: number, max: number, count = 5): number {
  const [lo, hi] = saneRange(min, max);
  const range = niceNum(hi - lo, false);
  return niceNum(range / Math.max(1, count - 1), true);
}

function decimalsOf(step: number): number {
  if (!(step > 0)) return 0;
  return Math.max(0, Math.min(20, -Math.floor(Math.log10(step) + 1e-9)));
}

function snap(v: number, step: number): number {
  const d = decimalsOf(step);
  const r = Number(v.toFixed(d));
  return Object.is(r, -0) ? 0 : r;
}

/**
 * Nice tick values (multiples of 1, 2 or 5 times a power of ten) that lie within [min, max],
 * about `count` of them. Degenerate, reversed or non-finite ranges give finite ticks.
 */
export function niceTicks(min: number, max: number, count = 5): number[] {
  const [lo, hi] = saneRange(min, max);
  const step = niceStep(lo, hi, count);
  const eps = step * 1e-9;
  const first = Math.ceil((lo - eps) / step);
  const last = Math.floor((hi + eps) / step);
  const out: number[] = [];
  for (let i = first; i <= last && out.length < 1000; i++) out.push(snap(i * step, step));
  return out;
}

/** The range [min, max] widened outwards to multiples of the nice step. */
export function niceDomain(min: number, max: number, count = 5): [number, number] {
  const [lo, hi] = saneRange(min, max);
  const step = niceStep(lo, hi, count);
  return [snap(Math.floor(lo / step + 1e-9) * step, step), snap(Math.ceil(hi / step - 1e-9) * step, step)];
}

/** Integer ticks (in log10 units) on [lo, hi] with a step of 1, 2, 5, 10... decades. */
export function decadeTicks(lo: number, hi: number, count = 6): number[] {
  const [a, b] = saneRange(lo, hi);
  const span = b - a;
  let step = 1;
  for (let e = 0; e < 400; e++) {
    const base = 10 ** Math.floor(e / 3) * [1, 2, 5][e % 3];
    step = base;
    if (span / base <= count + 2) break;
  }
  const out: number[] = [];
  for (let k = Math.ceil(a / step - 1e-9) * step; k <= b + 1e-9 && out.length < 1000; k += step) out.push(k);
  return out;
}

/** Unicode minus, like typeset figures. */
function minus(s: string): string {
  return s.replace(/^-/, '\u2212');
}

/** Label of a tick value at spacing `step`: fixed decimals, or exponent form for very large/small numbers. */
export function fmtTick(v: number, step: number): string {
  if (!isNum(v)) return '';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3 || step < 1e-4) {
    return minus(Number(v.toPrecision(6)).toExponential().replace('e+', 'e'));
  }
  return minus(v.toFixed(decimalsOf(step)));
}

/** "10^k" as SVG text content with a raised exponent. */
export function powerLabel(k: number): string {
  const e = minus(String(Math.round(k)));
  return `10<tspan dy="-0.45em" font-size="0.75em">${esc(e)}</tspan>`;
}
