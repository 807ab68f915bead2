/**
 * Second-order-safe 2-D pooling (NHWC), written with ops whose gradients tfjs registers
 * (PadV2, Slice, Reshape, Pack, ArgMax, OneHot, Multiply, Sum), so that tf.grads can
 * differentiate through pooling to any order.
 *
 * Why not tf.maxPool / tf.avgPool: their gradients are the kernels MaxPoolGrad and
 * AvgPoolGrad, which have no gradient of their own (the second backward pass fails), and
 * the cpu backend's AvgPoolGrad divides by the full window size even where 'same' padding
 * makes the forward pass divide by the number of valid pixels (first-order gradient wrong
 * at the borders). Here max pooling selects the first maximum of each window through a
 * one-hot mask (TensorFlow's tie rule), and average pooling divides by the count of valid
 * pixels, exactly like Keras.
 *
 * Fast path (`pool2d`, what the interpreter calls): on backends whose pooling kernels are
 * verified right (see `poolKernelBackends`), tf.maxPool / tf.avgPool run the kernels and
 * gradients.ts supplies the missing second-order gradients (MaxPoolGrad's adjoint is a gather
 * at MaxPoolWithArgmax's first maxima, the same tie rule). The same function with the same
 * derivatives, 3-5x cheaper; `setPoolImplementation('portable')` forces the formulation here.
 */
import * as tf from '@tensorflow/tfjs-core';

export type PoolPadding = 'same' | 'valid';
export interface Pool2DSpec {
  pool: [number, number];
  strides: [number, number];
  padding: PoolPadding;
  /** spacing between window taps (convolution dilation); default [1, 1] */
  dilation?: [number, number];
}

export interface PoolGeometry {
  outH: number;
  outW: number;
  padTop: number;
  padLeft: number;
}

function axisGeometry(size: number, k0: number, s: number, padding: PoolPadding, d = 1): [number, number] {
  const k = (k0 - 1) * d + 1; // effective window extent
  if (padding === 'same') {
    const out = Math.ceil(size / s);
    const total = Math.max((out - 1) * s + k - size, 0);
    return [out, Math.floor(total / 2)];
  }
  const out = Math.ceil((size - k + 1) / s);
  return [Math.max(out, 0), 0];
}

export function poolGeometry(h: number, w: number, spec: Pool2DSpec): PoolGeometry {
  const d = spec.dilation ?? [1, 1];
  const [outH, padTop] = axisGeometry(h, spec.pool[0], spec.strides[0], spec.padding, d[0]);
  const [outW, padLeft] = axisGeometry(w, spec.pool[1], spec.strides[1], spec.padding, d[1]);
  return { outH, outW, padTop, padLeft };
}

const indexCache = new Map<string, Int32Array>();

function windowIndexGeometry(h: number, w: number, spec: Pool2DSpec): { g: PoolGeometry; padB: number; padR: number } {
  const [kh, kw] = spec.pool;
  const [sh, sw] = spec.strides;
  const [dh, dw] = spec.dilation ?? [1, 1];
  const g = poolGeometry(h, w, spec);
  const hp = Math.max((kh - 1) * dh + (g.outH - 1) * sh + 1, h + g.padTop);
  const wp = Math.max((kw - 1) * dw + (g.outW - 1) * sw + 1, w + g.padLeft);
  return { g, padB: hp - h - g.padTop, padR: wp - w - g.padLeft };
}

/**
 * Flat indices into the padded image [hp * wp] of every window tap, ordered
 * (out row, out col, tap row, tap col): gathering them is im2col in one GatherV2 op
 * (gather's gradient is UnsortedSegmentSum and back, all orders). Far faster on the cpu
 * backend than kh*kw strided Slice ops, whose cpu kernel indexes element by element.
 */
function windowIndex(h: number, w: number, spec: Pool2DSpec): { idx: Int32Array; g: PoolGeometry; padB: number; padR: number } {
  const [kh, kw] = spec.pool;
  const [sh, sw] = spec.strides;
  const [dh, dw] = spec.dilation ?? [1, 1];
  const { g, padB, padR } = windowIndexGeometry(h, w, spec);
  const wp = w + g.padLeft + padR;
  const key = `${h},${w},${kh},${kw},${sh},${sw},${dh},${dw},${spec.padding}`;
  let idx = indexCache.get(key);
  if (!idx) {
    idx = new Int32Array(g.outH * g.outW * kh * kw);
    let o = 0;
    for (let r = 0; r < g.outH; r++)
      for (let c = 0; c < g.outW; c++)
        for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) idx[o++] = (r * sh + i * dh) * wp + (c * sw + j * dw);
    indexCache.set(key, idx);
  }
  return { idx, g, padB, padR };
}

/** All window taps of x: [N, outH, outW, kh*kw, C], padding filled with padValue. */
export function poolWindows(x: tf.Tensor4D, spec: Pool2DSpec, padValue: number): tf.Tensor5D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    const { idx, g, padB, padR } = windowIndex(h, w, spec);
    const xp =
      g.padTop || padB || g.padLeft || padR
        ? tf.pad(x, [[0, 0], [g.padTop, padB], [g.padLeft, padR], [0, 0]], padValue)
        : x;
    const flat = tf.reshape(xp, [n, xp.shape[1] * xp.shape[2], c]);
    const taps = tf.gather(flat, tf.tensor1d(idx, 'int32'), 1);
    return tf.reshape(taps, [n, g.outH, g.outW, spec.pool[0] * spec.pool[1], c]) as tf.Tensor5D;
  });
}

/** One-hot mask [N, oh, ow, K, C] of the first maximum over the taps axis. */
function firstMaxMask(taps: tf.Tensor5D): tf.Tensor5D {
  const k = taps.shape[3];
  // wasm: int32 one-hot then cast (its OneHot with dtype float32 writes int bits). Elsewhere a
  // float32 one-hot: on webgpu the cast result keeps int32 storage and the rank-5 transpose
  // below then fails to compile (WGSL "expected f32, got i32"), silently in Dawn.
  const idx = tf.argMax(taps, 3);
  const oh = tf.getBackend() === 'wasm' ? tf.cast(tf.oneHot(idx, k), 'float32') : tf.oneHot(idx, k, 1, 0, 'float32'); // [N, oh, ow, C, K]
  return tf.transpose(oh, [0, 1, 2, 4, 3]) as tf.Tensor5D;
}

/** Max pooling whose derivatives of every order are defined (first maximum wins ties). */
export function maxPool2d(x: tf.Tensor4D, spec: Pool2DSpec): tf.Tensor4D {
  return tf.tidy(() => {
    const taps = poolWindows(x, spec, -3.0e38);
    if (taps.shape[3] === 1) return tf.squeeze(taps, [3]) as tf.Tensor4D;
    return tf.sum(tf.mul(taps, firstMaxMask(taps)), 3) as tf.Tensor4D;
  });
}

/**
 * How pooling layers compute: 'auto' = the backend's MaxPool / AvgPool kernels where they
 * and their gradients are right (`poolKernelBackends`), the portable formulation elsewhere;
 * 'portable' = always the gather formulation; 'kernel' = always tf.maxPool / tf.avgPool
 * (wrong first-order gradients for 'same' average pooling with padding on cpu and native;
 * for tests and experiments only).
 */
export type PoolImplementation = 'auto' | 'portable' | 'kernel';
let poolImpl: PoolImplementation = 'auto';

export function setPoolImplementation(impl: PoolImplementation): void {
  if (impl !== 'auto' && impl !== 'portable' && impl !== 'kernel') throw new Error(`unknown pool implementation '${String(impl)}'`);
  poolImpl = impl;
}

export function getPoolImplementation(): PoolImplementation {
  return poolImpl;
}

/**
 * Backends whose pooling kernels 'auto' uses, verified by the tests here (HVP = explicit
 * Hessian = finite differences, fast = portable):
 *  - max: MaxPool, MaxPoolGrad and MaxPoolWithArgmax (first maximum of each window, padding
 *    never selected) on 'cpu' (tfjs-backend-cpu) and 'native' (@hessian/native).
 *  - avg: only where no window overlaps the padding ('valid', or 'same' that pads nothing):
 *    the AvgPoolGrad of both cpu and native divides by the full window at 'same' borders
 *    while their forward divides by the valid count (first-order gradient wrong there).
 * Others (wasm, webgpu, tensorflow) keep the portable formulation until verified there.
 */
export const poolKernelBackends: { max: readonly string[]; avgUnpadded: readonly string[] } = {
  max: ['cpu', 'native'],
  avgUnpadded: ['cpu', 'native'],
};

function padded(h: number, w: number, spec: Pool2DSpec): boolean {
  const { g, padB, padR } = windowIndexGeometry(h, w, spec);
  return g.padTop > 0 || g.padLeft > 0 || padB > 0 || padR > 0;
}

/** Whether `pool2d` uses the backend's kernel for this pooling on the active backend. */
export function usePoolKernel(kind: 'max' | 'avg', h: number, w: number, spec: Pool2DSpec): boolean {
  if (poolImpl !== 'auto') return poolImpl === 'kernel';
  const d = spec.dilation ?? [1, 1];
  if (d[0] !== 1 || d[1] !== 1) return false;
  const be = tf.getBackend();
  if (kind === 'max') return poolKernelBackends.max.includes(be);
  return poolKernelBackends.avgUnpadded.includes(be) && !padded(h, w, spec);
}

/** Max or average pooling of a layer: the backend kernel where `usePoolKernel`, else portable. */
export function pool2d(kind: 'max' | 'avg', x: tf.Tensor4D, spec: Pool2DSpec): tf.Tensor4D {
  if (usePoolKernel(kind, x.shape[1], x.shape[2], spec)) {
    return kind === 'max' ? tf.maxPool(x, spec.pool, spec.strides, spec.padding) : tf.avgPool(x, spec.pool, spec.strides, spec.padding);
  }
  return kind === 'max' ? maxPool2d(x, spec) : avgPool2d(x, spec);
}

/** Reciprocal of the number of valid (non-padding) pixels in each window, [1, oh, ow, 1]. */
function avgDivisor(h: number, w: number, spec: Pool2DSpec): tf.Tensor4D {
  const g = poolGeometry(h, w, spec);
  const count = (size: number, out: number, k: number, s: number, pad: number): number[] => {
    const c: number[] = [];
    for (let r = 0; r < out; r++) {
      let n = 0;
      for (let d = 0; d < k; d++) {
        const i = r * s + d - pad;
        if (i >= 0 && i < size) n++;
      }
      c.push(n);
    }
    return c;
  };
  const ch = count(h, g.outH, spec.pool[0], spec.strides[0], g.padTop);
  const cw = count(w, g.outW, spec.pool[1], spec.strides[1], g.padLeft);
  const vals = new Float32Array(g.outH * g.outW);
  for (let r = 0; r < g.outH; r++) for (let c = 0; c < g.outW; c++) vals[r * g.outW + c] = 1 / Math.max(1, ch[r] * cw[c]);
  return tf.tensor4d(vals, [1, g.outH, g.outW, 1]);
}

/** Average pooling (Keras semantics: 'same' padding excluded from the mean), all orders. */
/** Gathers ddx (shaped like x) at each window's first maximum of x: the transpose of MaxPoolGrad in dy. */
export function maxPoolGather(x: tf.Tensor4D, ddx: tf.Tensor4D, spec: Pool2DSpec): tf.Tensor4D {
  return tf.tidy(() => {
    const be = tf.getBackend();
    const d = spec.dilation ?? [1, 1];
    if (poolKernelBackends.max.includes(be) && d[0] === 1 && d[1] === 1 && tf.getKernel(tf.MaxPoolWithArgmax, be)) {
      // Same tie rule as the portable mask (first maximum in row-major window order, padding
      // never selected): flat indices into x, batch included. The indices are copied into a
      // fresh tensor so that the tape does not link them to x (gather's gradient for its
      // indices is int32, which a third backward pass would reject); they are piecewise
      // constant in x anyway. A synchronous read: only on the CPU backends above.
      const { indexes } = tf.maxPoolWithArgmax(x, spec.pool, spec.strides, spec.padding, true);
      const cut = tf.tensor1d(indexes.dataSync() as Int32Array, 'int32');
      return tf.reshape(tf.gather(tf.reshape(ddx, [-1]), cut), indexes.shape as [number, number, number, number]);
    }
    const mask = firstMaxMask(poolWindows(x, spec, -3.0e38));
    return tf.sum(tf.mul(poolWindows(ddx, spec, 0), mask), 3) as tf.Tensor4D;
  });
}

export function avgPool2d(x: tf.Tensor4D, spec: Pool2DSpec): tf.Tensor4D {
  return tf.tidy(() => {
    const s = tf.sum(poolWindows(x, spec, 0), 3);
    return tf.mul(s, avgDivisor(x.shape[1], x.shape[2], spec)) as tf.Tensor4D;
  });
}

/**
 * 2-D convolution (NHWC, kernel [kh, kw, cin, cout]) as im2col + one matMul. Same result as
 * tf.conv2d; its derivatives of all orders use only Slice/Pad/Concat/MatMul, which is much
 * faster on the cpu backend than the Conv2DBackpropFilter kernel (a naive loop there) and
 * works on wasm, which has no Conv2DBackpropFilter at all.
 */
export function conv2dIm2col(
  x: tf.Tensor4D,
  kernel: tf.Tensor4D,
  strides: [number, number],
  padding: PoolPadding,
  dilation: [number, number],
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, ci, co] = kernel.shape;
    const [n, h, w] = x.shape;
    const spec: Pool2DSpec = { pool: [kh, kw], strides, padding, dilation };
    const g = poolGeometry(h, w, spec);
    const taps = poolWindows(x, spec, 0); // [n, oh, ow, kh*kw, ci]
    const m = tf.matMul(tf.reshape(taps, [n * g.outH * g.outW, kh * kw * ci]), tf.reshape(kernel, [kh * kw * ci, co]));
    return tf.reshape(m, [n, g.outH, g.outW, co]);
  });
}
