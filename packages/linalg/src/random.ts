/**
 * Seeded randomness. Numerical code takes an Rng argument and never calls Math.random,
 * so every estimate is reproducible from (job seed, task key) alone, whichever worker
 * runs the task and however many workers there are.
 *
 * Generator: xoshiro128** (32-bit state words, exact in JS integer arithmetic), seeded
 * through splitmix32 from a 32-bit seed. Keys are mixed in with FNV-1a.
 */

/** FNV-1a 32-bit hash of a string: stable across platforms and releases. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function splitmix32(state: number): [number, number] {
  state = (state + 0x9e3779b9) >>> 0;
  let z = state;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z = (z ^ (z >>> 16)) >>> 0;
  return [state, z];
}

/** Seed of a task from the job seed and the task's key, e.g. deriveSeed(7, "conv1/trace/3"). */
export function deriveSeed(seed: number, key: string): number {
  let [, a] = splitmix32((seed >>> 0) ^ hashString(key));
  [, a] = splitmix32(a ^ hashString(`${key}#${seed}`));
  return a >>> 0;
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;

  constructor(readonly seed: number) {
    let st = seed >>> 0;
    let z: number;
    [st, z] = splitmix32(st);
    this.s0 = z;
    [st, z] = splitmix32(st);
    this.s1 = z;
    [st, z] = splitmix32(st);
    this.s2 = z;
    [st, z] = splitmix32(st);
    this.s3 = z;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A new independent generator for a named sub-stream (does not advance this one). */
  fork(key: string): Rng {
    return new Rng(deriveSeed(this.seed, key));
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal (Box-Muller, caching the second value). */
  normal(): number {
    if (this.spareNormal !== null) {
      const s = this.spareNormal;
      this.spareNormal = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Vector of independent +1/-1 entries (Rademacher probe). */
  rademacher(n: number): Float32Array {
    const out = new Float32Array(n);
    let bits = 0;
    let left = 0;
    for (let i = 0; i < n; i++) {
      if (left === 0) {
        bits = this.nextU32();
        left = 32;
      }
      out[i] = bits & 1 ? 1 : -1;
      bits >>>= 1;
      left--;
    }
    return out;
  }

  /** Vector of independent standard normal entries. */
  gaussian(n: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal();
    return out;
  }

  /** Fisher-Yates shuffle of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
