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
 */
import * as tf from '@tensorflow/tfjs-core';

export type PoolPadding = 'same' | 'valid';
export interface Pool2DSpec {
  pool: [number, number];
  strides: [number, number];
  padding: PoolPadding;
}

export interface PoolGeometry {
  outH: number;
  outW: number;
  padTop: number;
  padLeft: number;
}

function axisGeometry(size: number, k: number, s: number, padding: PoolPadding): [number, number] {
  if (padding === 'same') {
    const out = Math.ceil(size / s);
    const total = Math.max((out - 1) * s + k - size, 0);
    return [out, Math.floor(total / 2)];
  }
  const out = Math.ceil((size - k + 1) / s);
  return [Math.max(out, 0), 0];
}

export function poolGeometry(h: number, w: number, spec: Pool2DSpec): PoolGeometry {
  const [outH, padTop] = axisGeometry(h, spec.pool[0], spec.strides[0], spec.padding);
  const [outW, padLeft] = axisGeometry(w, spec.pool[1], spec.strides[1], spec.padding);
  return { outH, outW, padTop, padLeft };
}

/** Picks rows start, start+s, ..., start+(out-1)s along `axis` (1 or 2) without StridedSlice. */
function strided(x: tf.Tensor4D, axis: 1 | 2, start: number, out: number, s: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  if (s === 1) {
    return axis === 1 ? tf.slice(x, [0, start, 0, 0], [n, out, w, c]) : tf.slice(x, [0, 0, start, 0], [n, h, out, c]);
  }
  if (axis === 1) {
    const t = tf.slice(x, [0, start, 0, 0], [n, out * s, w, c]);
    const r = tf.reshape(t, [n, out, s, w, c]);
    return tf.reshape(tf.slice(r, [0, 0, 0, 0, 0], [n, out, 1, w, c]), [n, out, w, c]);
  }
  const t = tf.slice(x, [0, 0, start, 0], [n, h, out * s, c]);
  const r = tf.reshape(t, [n, h, out, s, c]);
  return tf.reshape(tf.slice(r, [0, 0, 0, 0, 0], [n, h, out, 1, c]), [n, h, out, c]);
}

/** The kh*kw shifted views of x, each [N, outH, outW, C], padding filled with padValue. */
export function poolWindows(x: tf.Tensor4D, spec: Pool2DSpec, padValue: number): tf.Tensor4D[] {
  const [, h, w] = x.shape;
  const [kh, kw] = spec.pool;
  const [sh, sw] = spec.strides;
  const g = poolGeometry(h, w, spec);
  // Rows needed so every window's strided slice (length out*s) fits.
  const needH = Math.max(kh - 1 + g.outH * sh, h + g.padTop);
  const needW = Math.max(kw - 1 + g.outW * sw, w + g.padLeft);
  const padB = needH - h - g.padTop;
  const padR = needW - w - g.padLeft;
  const xp =
    g.padTop || padB || g.padLeft || padR
      ? tf.pad(x, [[0, 0], [g.padTop, padB], [g.padLeft, padR], [0, 0]], padValue)
      : x;
  const out: tf.Tensor4D[] = [];
  for (let di = 0; di < kh; di++) {
    const rows = strided(xp, 1, di, g.outH, sh);
    for (let dj = 0; dj < kw; dj++) out.push(strided(rows, 2, dj, g.outW, sw));
  }
  return out;
}

/** Max pooling whose derivatives of every order are defined (first maximum wins ties). */
export function maxPool2d(x: tf.Tensor4D, spec: Pool2DSpec): tf.Tensor4D {
  return tf.tidy(() => {
    const wins = poolWindows(x, spec, -3.0e38);
    if (wins.length === 1) return wins[0];
    const stacked = tf.stack(wins, 4); // [N, oh, ow, C, K]
    const mask = tf.oneHot(tf.argMax(stacked, 4), wins.length, 1, 0, 'float32');
    return tf.sum(tf.mul(stacked, mask), 4) as tf.Tensor4D;
  });
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
    const wins = poolWindows(x, spec, -3.0e38);
    const dwins = poolWindows(ddx, spec, 0);
    if (wins.length === 1) return dwins[0];
    const mask = tf.oneHot(tf.argMax(tf.stack(wins, 4), 4), wins.length, 1, 0, 'float32');
    return tf.sum(tf.mul(tf.stack(dwins, 4), mask), 4) as tf.Tensor4D;
  });
}

export function avgPool2d(x: tf.Tensor4D, spec: Pool2DSpec): tf.Tensor4D {
  return tf.tidy(() => {
    const wins = poolWindows(x, spec, 0);
    // Sum via stack + sum, not addN (tfjs-webgpu's addN is wrong beyond 7 inputs).
    const s = wins.length === 1 ? wins[0] : tf.sum(tf.stack(wins, 4), 4);
    return tf.mul(s, avgDivisor(x.shape[1], x.shape[2], spec)) as tf.Tensor4D;
  });
}
