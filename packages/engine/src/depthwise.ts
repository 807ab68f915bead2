/**
 * Depthwise 2-D convolution (NHWC input, [kh, kw, C, multiplier] kernel, TF's layout) from ops
 * with gradients of every order. Why not tf.depthwiseConv2d: its gradients are the
 * DepthwiseConv2dNativeBackpropInput/Filter kernels, which have no gradients of their own in
 * tfjs (the second backward pass fails). Two equal formulations:
 *  - a plain convolution with the block-diagonal kernel K[i,j,c,c*m+k] = w[i,j,c,k] (w times a
 *    constant 0/1 mask): C times the arithmetic, but one fast conv kernel; used while that
 *    kernel stays small (C*C*m*kh*kw <= 2^20);
 *  - a sum over taps of shifted, strided slices times per-channel weights (pad, slice, reshape,
 *    mul, add): no extra arithmetic, but tfjs-cpu's strided Slice is slow (measured: 3 s of a
 *    9 s HVP of a small depthwise block, against ~10 ms for the conv form).
 */
import * as tf from '@tensorflow/tfjs-core';
import { conv2d } from './layers.js';

const DENSE_LIMIT = 1 << 20;
const masks = new Map<string, tf.Tensor>();

/** Constant [1, 1, C, C, 1] identity mask (kept; one per channel count and backend). */
function channelMask(c: number): tf.Tensor {
  const key = `${tf.getBackend()}:${c}`;
  let m = masks.get(key);
  if (!m || m.isDisposed) {
    m = tf.keep(tf.reshape(tf.eye(c), [1, 1, c, c, 1]));
    masks.set(key, m);
  }
  return m;
}

export interface DepthwiseSpec {
  strides: [number, number];
  /** explicit zero padding [top, bottom, left, right] */
  pads: [number, number, number, number];
  dilation: [number, number];
}

export function depthwiseGeometry(h: number, w: number, kh: number, kw: number, spec: DepthwiseSpec): { outH: number; outW: number } {
  const [pt, pb, pl, pr] = spec.pads;
  const eh = (kh - 1) * spec.dilation[0] + 1;
  const ew = (kw - 1) * spec.dilation[1] + 1;
  return { outH: Math.floor((h + pt + pb - eh) / spec.strides[0]) + 1, outW: Math.floor((w + pl + pr - ew) / spec.strides[1]) + 1 };
}

/** TF 'same' padding as explicit pads (the extra pixel goes bottom/right). */
export function samePads(h: number, w: number, kh: number, kw: number, s: [number, number], d: [number, number]): [number, number, number, number] {
  const one = (size: number, k: number, st: number, dl: number): [number, number] => {
    const out = Math.ceil(size / st);
    const total = Math.max((out - 1) * st + (k - 1) * dl + 1 - size, 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  };
  const [a, b] = one(h, kh, s[0], d[0]);
  const [c, e] = one(w, kw, s[1], d[1]);
  return [a, b, c, e];
}

export function depthwiseConv2d(x: tf.Tensor4D, kernel: tf.Tensor4D, spec: DepthwiseSpec): tf.Tensor4D {
  const c = x.shape[3];
  const [kh, kw, kc, m] = kernel.shape;
  if (kc !== c) throw new Error(`depthwiseConv2d: kernel has ${kc} channels, input ${c}`);
  if (c * c * m * kh * kw <= DENSE_LIMIT) {
    const full = tf.reshape(tf.mul(tf.reshape(kernel, [kh, kw, c, 1, m]), channelMask(c)), [kh, kw, c, c * m]) as tf.Tensor4D;
    const [pt, pb, pl, pr] = spec.pads;
    const xp = pt || pb || pl || pr ? tf.pad(x, [[0, 0], [pt, pb], [pl, pr], [0, 0]]) : x;
    return conv2d(xp, full, spec.strides, 'valid', spec.dilation);
  }
  return depthwiseBySlices(x, kernel, spec);
}

/** The slice formulation (see the module comment); exported for the test that both agree. */
export function depthwiseBySlices(x: tf.Tensor4D, kernel: tf.Tensor4D, spec: DepthwiseSpec): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const [kh, kw, , m] = kernel.shape;
  const { outH, outW } = depthwiseGeometry(h, w, kh, kw, spec);
  const [sh, sw] = spec.strides;
  const [dh, dw] = spec.dilation;
  const [pt, pb, pl, pr] = spec.pads;
  // Pad so every tap's strided window [start, start + out*stride) lies inside the tensor.
  const needH = (kh - 1) * dh + outH * sh;
  const needW = (kw - 1) * dw + outW * sw;
  const padB = Math.max(pb, needH - h - pt);
  const padR = Math.max(pr, needW - w - pl);
  const xp = pt || padB || pl || padR ? tf.pad(x, [[0, 0], [pt, padB], [pl, padR], [0, 0]]) : x;
  let acc: tf.Tensor | null = null;
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      let win: tf.Tensor = tf.slice(xp, [0, i * dh, j * dw, 0], [n, outH * sh, outW * sw, c]);
      if (sh !== 1 || sw !== 1) {
        win = tf.slice(tf.reshape(win, [n, outH, sh, outW, sw, c]), [0, 0, 0, 0, 0, 0], [n, outH, 1, outW, 1, c]);
        win = tf.reshape(win, [n, outH, outW, c]);
      }
      const tap = tf.slice(kernel, [i, j, 0, 0], [1, 1, c, m]);
      const term =
        m === 1
          ? tf.mul(win, tf.reshape(tap, [c]))
          : tf.reshape(tf.mul(tf.reshape(win, [n, outH, outW, c, 1]), tf.reshape(tap, [c, m])), [n, outH, outW, c * m]);
      acc = acc === null ? term : tf.add(acc, term);
    }
  }
  return acc as tf.Tensor4D;
}
