/**
 * Values flowing through the ONNX interpreter. Shape arithmetic (Shape, Gather, Unsqueeze,
 * Concat feeding Reshape: torch.onnx's flatten pattern) runs on the host as plain numbers;
 * tensors carry a layout flag: `nhwc` means a rank-4 tensor kept physically as NHWC while
 * ONNX sees it as NCHW. Convolutions, pooling, batch norm, element-wise ops and channel
 * concatenation work on NHWC directly; anything that depends on the element order (Flatten,
 * Reshape, Transpose, Gather ...) converts to NCHW first, so the semantics are ONNX's.
 */
import * as tf from '@tensorflow/tfjs-core';

export type Value = { k: 'host'; dims: number[]; data: number[] } | { k: 't'; t: tf.Tensor; nhwc: boolean };

export function tensorValue(t: tf.Tensor, nhwc = false): Value {
  return { k: 't', t, nhwc };
}

export function hostValue(dims: number[], data: number[]): Value {
  return { k: 'host', dims, data };
}

/** The ONNX (logical) shape of a value. */
export function logicalShape(v: Value): number[] {
  if (v.k === 'host') return v.dims;
  const s = v.t.shape as number[];
  return v.nhwc ? [s[0], s[3], s[1], s[2]] : s;
}

/** The value as a tensor in ONNX's own layout. */
export function nchw(v: Value): tf.Tensor {
  if (v.k === 'host') return tf.tensor(v.data, v.dims, 'float32');
  return v.nhwc ? tf.transpose(v.t, [0, 3, 1, 2]) : v.t;
}

/** A rank-4 value as an NHWC tensor. */
export function nhwc(v: Value): tf.Tensor4D {
  if (v.k === 't' && v.nhwc) return v.t as tf.Tensor4D;
  const t = nchw(v);
  if (t.rank !== 4) throw new Error(`expected a rank-4 (NCHW) tensor, got shape [${t.shape.join(', ')}]`);
  return tf.transpose(t, [0, 2, 3, 1]) as tf.Tensor4D;
}

/**
 * Brings two operands of a broadcasting element-wise op to one layout: both NHWC when one is
 * and the other is a scalar, NHWC, or rank 3-4 (permuted alike); otherwise both NCHW.
 */
export function aligned(a: Value, b: Value): { x: tf.Tensor; y: tf.Tensor; nhwc: boolean } {
  const isN = (v: Value): boolean => v.k === 't' && v.nhwc;
  if (isN(a) || isN(b)) {
    const [n, o] = isN(a) ? [a, b] : [b, a];
    const other = nchw(o);
    let otherN: tf.Tensor | null = null;
    if (other.size === 1 && other.rank <= 1) otherN = tf.reshape(other, []);
    else if (isN(o)) otherN = (o as { t: tf.Tensor }).t;
    else if (other.rank === 4) otherN = tf.transpose(other, [0, 2, 3, 1]);
    else if (other.rank === 3) otherN = tf.transpose(other, [1, 2, 0]);
    if (otherN !== null) {
      const nt = (n as { t: tf.Tensor }).t;
      return isN(a) ? { x: nt, y: otherN, nhwc: true } : { x: otherN, y: nt, nhwc: true };
    }
  }
  return { x: nchw(a), y: nchw(b), nhwc: false };
}

export function prod(s: number[]): number {
  return s.reduce((a, b) => a * b, 1);
}

export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}
