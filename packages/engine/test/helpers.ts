import { Rng } from '@hessian/linalg';
import type { LinearOperator } from '@hessian/linalg';
import type { Batch, Model } from '../src/index.js';

export function randomBatch(model: Model, n: number, seed: number): Batch {
  const rng = new Rng(seed);
  const per = model.inputShape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n * per);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = rng.int(model.outputSize);
  return { x, shape: [n, ...model.inputShape], labels, numClasses: model.outputSize };
}

export function randomVector(n: number, seed: number): Float32Array {
  return new Rng(seed).gaussian(n);
}

export function unit(v: Float32Array): Float32Array {
  let s = 0;
  for (const a of v) s += a * a;
  const r = 1 / Math.sqrt(s);
  return v.map((a) => a * r);
}

/** Dense matrix (row-major Float64Array) of an operator, column j = A e_j. */
export async function explicitMatrix(op: LinearOperator): Promise<Float64Array> {
  const n = op.dim;
  const m = new Float64Array(n * n);
  const e = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    e.fill(0);
    e[j] = 1;
    const col = await op.matvec(e);
    for (let i = 0; i < n; i++) m[i * n + j] = col[i];
  }
  return m;
}

export function matvec(m: Float64Array, n: number, v: ArrayLike<number>): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += m[i * n + j] * v[j];
    out[i] = s;
  }
  return out;
}

/** ||a - b|| / ||b|| (Frobenius / Euclidean). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-300));
}

export function transpose(m: Float64Array, n: number): Float64Array {
  const t = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t[j * n + i] = m[i * n + j];
  return t;
}

/** Rows/cols `idx` of a square n x n matrix. */
export function subMatrix(m: Float64Array, n: number, idx: number[]): Float64Array {
  const k = idx.length;
  const out = new Float64Array(k * k);
  for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) out[a * k + b] = m[idx[a] * n + idx[b]];
  return out;
}

export function indicesOf(offsets: { offset: number; size: number }[]): number[] {
  const idx: number[] = [];
  for (const o of offsets) for (let i = 0; i < o.size; i++) idx.push(o.offset + i);
  return idx;
}
