/**
 * LayerNormalization (opset 17: torch.nn.LayerNorm; scale and bias are parameters, params.ts),
 * ReduceMean (axes as attribute before opset 18, as input after) and Slice (unit steps; shape
 * values on the host too), from tfjs ops with gradients of every order (mean, sub, mul, rsqrt,
 * slice), in ONNX's logical layout except where NHWC can be kept.
 */
import * as tf from '@tensorflow/tfjs-core';
import { attrNum, fail, host, ints, need, type OpContext } from './node-args.js';
import type { OnnxNode } from './read.js';
import { hostValue, logicalShape, nchw, normAxis, tensorValue, type Value } from './values.js';

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);
/** NHWC position of each logical (NCHW) axis of a rank-4 tensor. */
const NHWC_OF = [0, 3, 1, 2];

/** (x - mean) / sqrt(var + eps) * scale + bias over axes [axis, rank), like torch.nn.LayerNorm. */
export function layerNorm(n: OnnxNode, ctx: OpContext): Value {
  if (n.outputs.slice(1).some(Boolean)) fail(n, 'the Mean and InvStdDev outputs are not supported');
  const x = nchw(need(n, ctx, 0));
  const axes = range(normAxis(attrNum(n, 'axis', -1), x.rank), x.rank);
  const d = tf.sub(x, tf.mean(x, axes, true));
  const y = tf.mul(d, tf.rsqrt(tf.add(tf.mean(tf.mul(d, d), axes, true), attrNum(n, 'epsilon', 1e-5))));
  const arg = (i: number): tf.Tensor | undefined => (n.inputs[i] ? ctx.weight(n.inputs[i]) ?? nchw(need(n, ctx, i)) : undefined);
  const scale = arg(1) ?? fail(n, 'the Scale input is missing');
  const bias = arg(2);
  const scaled = tf.mul(y, scale);
  return tensorValue(bias ? tf.add(scaled, bias) : scaled);
}

export function reduceMean(n: OnnxNode, ctx: OpContext): Value {
  const v = need(n, ctx, 0);
  const r = logicalShape(v).length;
  const raw = n.attrs.has('axes') ? ints(n, 'axes', []) : ctx.input(1) ? host(n, ctx.input(1), 'axes') : [];
  if (raw.length === 0 && attrNum(n, 'noop_with_empty_axes', 0) === 1) return v;
  const axes = raw.length > 0 ? raw.map((a) => normAxis(a, r)) : range(0, r);
  const keep = attrNum(n, 'keepdims', 1) === 1;
  if (v.k === 't' && v.nhwc && keep) return tensorValue(tf.mean(v.t, axes.map((a) => NHWC_OF[a]), true), true);
  return tensorValue(tf.mean(nchw(v), axes, keep));
}

/** Starts and ends are clamped to the axis as ONNX says (torch exports INT64_MAX for "to the end"). */
export function slice(n: OnnxNode, ctx: OpContext): Value {
  const v = need(n, ctx, 0);
  const shape = logicalShape(v);
  const arg = (key: string, i: number, dflt: number[] | null): number[] =>
    n.attrs.has(key) ? ints(n, key, []) : ctx.input(i) ? host(n, ctx.input(i), key) : (dflt ?? fail(n, `${key} is missing`));
  const starts = arg('starts', 1, null);
  const ends = arg('ends', 2, null);
  const axes = arg('axes', 3, range(0, starts.length)).map((a) => normAxis(a, shape.length));
  const steps = arg('steps', 4, starts.map(() => 1));
  if (steps.some((s) => s !== 1)) fail(n, `steps ${JSON.stringify(steps)} are not supported (only 1)`);
  if (ends.length !== starts.length || axes.length !== starts.length) fail(n, 'starts, ends and axes differ in length');
  const begin = shape.map(() => 0);
  const size = shape.slice();
  axes.forEach((ax, i) => {
    const dim = shape[ax];
    const clamp = (p: number): number => Math.min(Math.max(p < 0 ? p + dim : p, 0), dim);
    begin[ax] = clamp(starts[i]);
    size[ax] = Math.max(0, clamp(ends[i]) - begin[ax]);
  });
  if (v.k === 'host') {
    if (shape.length !== 1) fail(n, 'slicing a constant of rank above 1 is not supported');
    return hostValue([size[0]], v.data.slice(begin[0], begin[0] + size[0]));
  }
  if (v.nhwc) {
    const perm = [0, 2, 3, 1];
    return tensorValue(tf.slice(v.t, perm.map((i) => begin[i]), perm.map((i) => size[i])), true);
  }
  return tensorValue(tf.slice(v.t, begin, size));
}
