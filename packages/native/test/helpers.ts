import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers tfjs's gradient configs (tfjs-core's node bundle lacks them)
import assert from 'node:assert/strict';

/** Deterministic LCG in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}
export function randArray(n: number, r: () => number, lo = -1, hi = 1): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = lo + (hi - lo) * r();
  return v;
}
export function randInt(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

type Out = tf.Tensor | tf.Tensor[];
/** Runs `fn` on `cpu` and on `native` (same inputs built by `fn`), returns the values. */
export async function onBoth(fn: () => Out): Promise<{ cpu: tf.backend_util.TypedArray[]; native: tf.backend_util.TypedArray[]; shapes: number[][] }> {
  const res: Record<string, tf.backend_util.TypedArray[]> = {};
  let shapes: number[][] = [];
  for (const be of ['cpu', 'native']) {
    await tf.setBackend(be);
    const o = tf.tidy(fn);
    const list = Array.isArray(o) ? o : [o];
    res[be] = list.map((t) => t.dataSync() as tf.backend_util.TypedArray);
    shapes = list.map((t) => t.shape);
    if (be === 'native') {
      assert.equal(tf.getBackend(), 'native');
    }
    tf.dispose(list);
  }
  return { cpu: res.cpu, native: res.native, shapes };
}

/** max |a - b| / max(max |b|, floor) over all outputs. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-6): number {
  assert.equal(a.length, b.length, 'length');
  let num = 0, den = floor;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (Number.isNaN(a[i]) !== Number.isNaN(b[i])) return Infinity;
    if (Number.isNaN(d)) continue;
    num = Math.max(num, d);
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

export async function assertSame(label: string, fn: () => Out, tol = 1e-5): Promise<void> {
  const { cpu, native } = await onBoth(fn);
  assert.equal(cpu.length, native.length);
  for (let i = 0; i < cpu.length; i++) {
    const e = relErr(native[i], cpu[i]);
    assert.ok(e <= tol, `${label} [output ${i}]: relative error ${e} > ${tol}`);
  }
}
