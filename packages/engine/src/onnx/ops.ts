/**
 * The ONNX operators the engine interprets, each from tfjs ops with gradients of every order
 * (convolution via layers.ts' conv2d, depthwise via depthwise.ts, pooling via pool.ts).
 * `checkSupported` names the first unsupported operator before anything runs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '@hessian/linalg';
import { depthwiseConv2d, samePads } from '../depthwise.js';
import { conv2d } from '../layers.js';
import { pool2d, poolGeometry } from '../pool.js';
import { attrNum, attrStr, fail, host, ints, need, type OpContext } from './node-args.js';
import { layerNorm, reduceMean, slice } from './ops-norm.js';
import type { AttrValue, OnnxNode, OnnxTensor } from './read.js';
import { aligned, hostValue, logicalShape, nchw, nhwc, normAxis, prod, tensorValue, type Value } from './values.js';

export type { OpContext } from './node-args.js';

export const SUPPORTED_ONNX_OPS = [
  'Conv', 'Gemm', 'MatMul', 'Add', 'Sub', 'Mul', 'Div', 'Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Erf', 'Gelu',
  'Softmax', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'BatchNormalization', 'Flatten', 'Reshape',
  'Transpose', 'Concat', 'Pad', 'Dropout', 'Identity', 'Constant', 'Shape', 'Gather', 'Unsqueeze', 'Squeeze', 'Cast',
  'LayerNormalization', 'ReduceMean', 'Slice',
] as const;

const SUPPORTED = new Set<string>(SUPPORTED_ONNX_OPS);

export function checkSupported(nodes: OnnxNode[], source: string): void {
  for (const n of nodes) {
    if (n.domain && n.domain !== 'ai.onnx' || !SUPPORTED.has(n.opType)) {
      throw new UserError(`ONNX node '${n.name}' in ${source} uses operator ${n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.` : ''}${n.opType}, which the engine does not support; supported operators: ${SUPPORTED_ONNX_OPS.join(', ')}.`);
    }
  }
}

/** Explicit 2-D pads [top, bottom, left, right] from ONNX attributes (pads are [t, l, b, r]). */
function pads2d(n: OnnxNode, h: number, w: number, k: [number, number], s: [number, number], d: [number, number]): [number, number, number, number] {
  const auto = attrStr(n, 'auto_pad', 'NOTSET');
  if (auto === 'VALID') return [0, 0, 0, 0];
  if (auto === 'SAME_UPPER') return samePads(h, w, k[0], k[1], s, d);
  if (auto === 'SAME_LOWER') {
    const [a, b, c, e] = samePads(h, w, k[0], k[1], s, d);
    return [b, a, e, c];
  }
  const p = ints(n, 'pads', [0, 0, 0, 0]);
  if (p.length !== 4) fail(n, `pads ${JSON.stringify(p)} are not 2-D`);
  return [p[0], p[2], p[1], p[3]];
}

function conv(n: OnnxNode, ctx: OpContext): Value {
  const xv = need(n, ctx, 0);
  const x = nhwc(xv);
  const k = ctx.weight(n.inputs[1]) as tf.Tensor4D;
  const [, h, w, c] = x.shape;
  const ks = ints(n, 'kernel_shape', [k.shape[0], k.shape[1]]) as [number, number];
  const s = ints(n, 'strides', [1, 1]) as [number, number];
  const d = ints(n, 'dilations', [1, 1]) as [number, number];
  const group = attrNum(n, 'group', 1);
  const p = pads2d(n, h, w, ks, s, d);
  let y: tf.Tensor4D;
  if (group === 1) {
    const same = samePads(h, w, ks[0], ks[1], s, d);
    const isSame = p.every((v, i) => v === same[i]);
    const xp = isSame || p.every((v) => v === 0) ? x : tf.pad(x, [[0, 0], [p[0], p[1]], [p[2], p[3]], [0, 0]]);
    y = conv2d(xp, k, s, isSame ? 'same' : 'valid', d);
  } else if (k.shape[2] === c && group === c) {
    y = depthwiseConv2d(x, k, { strides: s, pads: p, dilation: d });
  } else {
    if (c % group !== 0) fail(n, `${c} input channels do not split into ${group} groups`);
    const xp = p.every((v) => v === 0) ? x : tf.pad(x, [[0, 0], [p[0], p[1]], [p[2], p[3]], [0, 0]]);
    const xs = tf.split(xp, group, 3);
    const ksplit = tf.split(k, group, 3);
    y = tf.concat(xs.map((xi, i) => conv2d(xi as tf.Tensor4D, ksplit[i] as tf.Tensor4D, s, 'valid', d)), 3) as tf.Tensor4D;
  }
  const b = n.inputs[2] ? ctx.weight(n.inputs[2]) : undefined;
  return tensorValue(b ? tf.add(y, b) : y, true);
}

function pool(n: OnnxNode, ctx: OpContext, kind: 'max' | 'avg'): Value {
  const x = nhwc(need(n, ctx, 0));
  const [, h, w] = x.shape;
  const k = ints(n, 'kernel_shape', []) as [number, number];
  if (k.length !== 2) fail(n, `kernel_shape ${JSON.stringify(k)} is not 2-D`);
  const s = ints(n, 'strides', [1, 1]) as [number, number];
  if (ints(n, 'dilations', [1, 1]).some((v) => v !== 1)) fail(n, 'dilated pooling is not supported');
  const p = pads2d(n, h, w, k, s, [1, 1]);
  const floorOut = (size: number, a: number, b: number, kk: number, ss: number): number => Math.floor((size + a + b - kk) / ss) + 1;
  if (attrNum(n, 'ceil_mode', 0) === 1) {
    const ceilOut = (size: number, a: number, b: number, kk: number, ss: number): number => Math.ceil((size + a + b - kk) / ss) + 1;
    if (ceilOut(h, p[0], p[1], k[0], s[0]) !== floorOut(h, p[0], p[1], k[0], s[0]) || ceilOut(w, p[2], p[3], k[1], s[1]) !== floorOut(w, p[2], p[3], k[1], s[1])) {
      fail(n, 'ceil_mode=1 changes the output size here; export with ceil_mode=False');
    }
  }
  if (p.every((v) => v === 0)) return tensorValue(pool2d(kind, x, { pool: k, strides: s, padding: 'valid' }), true);
  const same = samePads(h, w, k[0], k[1], s, [1, 1]);
  const includePad = attrNum(n, 'count_include_pad', 0) === 1;
  if (p.every((v, i) => v === same[i]) && (kind === 'max' || !includePad)) {
    const g = poolGeometry(h, w, { pool: k, strides: s, padding: 'same' });
    if (g.outH === floorOut(h, p[0], p[1], k[0], s[0]) && g.outW === floorOut(w, p[2], p[3], k[1], s[1])) {
      return tensorValue(pool2d(kind, x, { pool: k, strides: s, padding: 'same' }), true);
    }
  }
  if (kind === 'avg' && !includePad) fail(n, 'average pooling with padding excluded from the count is supported only for TF-style same padding');
  // Max: padding never wins a window that holds a real pixel (PyTorch requires pad <= k/2).
  const xp = tf.pad(x, [[0, 0], [p[0], p[1]], [p[2], p[3]], [0, 0]], kind === 'max' ? -1e30 : 0);
  return tensorValue(pool2d(kind, xp, { pool: k, strides: s, padding: 'valid' }), true);
}

function batchNorm(n: OnnxNode, ctx: OpContext): Value {
  const xv = need(n, ctx, 0);
  if (attrNum(n, 'training_mode', 0) === 1) fail(n, 'training-mode batch normalization is not supported; export with the model in eval() mode');
  const eps = attrNum(n, 'epsilon', 1e-5);
  const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => ctx.weight(n.inputs[i]) ?? fail(n, `input ${i} must be an initializer`));
  const r = logicalShape(xv).length;
  const lastAxis = (xv.k === 't' && xv.nhwc) || r === 2;
  const x = lastAxis && xv.k === 't' ? xv.t : nchw(xv);
  const shape = lastAxis ? [-1] : [-1, ...new Array<number>(r - 2).fill(1)];
  const rs = (t: tf.Tensor): tf.Tensor => tf.reshape(t, shape);
  const mult = tf.mul(rs(scale), tf.rsqrt(tf.add(rs(variance), eps)));
  const y = tf.add(tf.mul(tf.sub(x, rs(mean)), mult), rs(bias));
  return tensorValue(y, xv.k === 't' && xv.nhwc);
}

function gemm(n: OnnxNode, ctx: OpContext): Value {
  let a = nchw(need(n, ctx, 0));
  if (a.rank !== 2) fail(n, `input A has rank ${a.rank}; Gemm needs a matrix (add a Flatten)`);
  if (attrNum(n, 'transA', 0) === 1) a = tf.transpose(a);
  const bw = ctx.weight(n.inputs[1]);
  // A parameter B is already [K, N] (params.ts); a computed B keeps ONNX's transB.
  const b = bw ?? (attrNum(n, 'transB', 0) === 1 ? tf.transpose(nchw(need(n, ctx, 1))) : nchw(need(n, ctx, 1)));
  let y = tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D) as tf.Tensor;
  const alpha = attrNum(n, 'alpha', 1);
  if (alpha !== 1) y = tf.mul(y, alpha);
  const cv = n.inputs[2] ? ctx.weight(n.inputs[2]) ?? (ctx.input(2) ? nchw(ctx.input(2) as Value) : undefined) : undefined;
  if (cv) {
    const beta = attrNum(n, 'beta', 1);
    y = tf.add(y, beta === 1 ? cv : tf.mul(cv, beta));
  }
  return tensorValue(y);
}

function matmul(n: OnnxNode, ctx: OpContext): Value {
  const a = nchw(need(n, ctx, 0));
  const b = ctx.weight(n.inputs[1]) ?? nchw(need(n, ctx, 1));
  if (b.rank === 2 && a.rank > 2) {
    const as = a.shape as number[];
    const y = tf.matMul(tf.reshape(a, [-1, as[as.length - 1]]) as tf.Tensor2D, b as tf.Tensor2D);
    return tensorValue(tf.reshape(y, [...as.slice(0, -1), (b.shape as number[])[1]]));
  }
  return tensorValue(tf.matMul(a, b));
}

function binary(n: OnnxNode, ctx: OpContext): Value {
  const a = operand(n, ctx, 0);
  const b = operand(n, ctx, 1);
  if (a.k === 'host' && b.k === 'host') {
    // shape arithmetic: broadcast a scalar against a vector
    const len = Math.max(a.data.length, b.data.length);
    const at = (v: number[], i: number): number => (v.length === 1 ? v[0] : v[i]);
    const f = { Add: (x: number, y: number) => x + y, Sub: (x: number, y: number) => x - y, Mul: (x: number, y: number) => x * y, Div: (x: number, y: number) => Math.trunc(x / y) }[n.opType as 'Add'];
    return hostValue(a.data.length >= b.data.length ? a.dims : b.dims, Array.from({ length: len }, (_, i) => f(at(a.data, i), at(b.data, i))));
  }
  const { x, y, nhwc: keep } = aligned(a, b);
  const op = { Add: tf.add, Sub: tf.sub, Mul: tf.mul, Div: tf.div }[n.opType as 'Add'];
  return tensorValue(op(x, y), keep);
}

/** An input, or the initializer of that name in our layout (a bias, a BN-free constant). */
function operand(n: OnnxNode, ctx: OpContext, i: number): Value {
  const w = n.inputs[i] ? ctx.weight(n.inputs[i]) : undefined;
  return w ? tensorValue(w) : need(n, ctx, i);
}

function unary(v: Value, f: (t: tf.Tensor) => tf.Tensor): Value {
  if (v.k === 'host') return tensorValue(f(nchw(v)));
  return tensorValue(f(v.t), v.nhwc);
}

function gelu(t: tf.Tensor, approximate: string): tf.Tensor {
  if (approximate === 'tanh') {
    const inner = tf.mul(tf.add(t, tf.mul(tf.pow(t, 3), 0.044715)), Math.sqrt(2 / Math.PI));
    return tf.mul(tf.mul(t, 0.5), tf.add(tf.tanh(inner), 1));
  }
  return tf.mul(tf.mul(t, 0.5), tf.add(tf.erf(tf.mul(t, Math.SQRT1_2)), 1));
}

function constantOf(n: OnnxNode): Value {
  const v: AttrValue | undefined = n.attrs.get('value') ?? n.attrs.get('value_float') ?? n.attrs.get('value_floats') ?? n.attrs.get('value_int') ?? n.attrs.get('value_ints');
  if (v === undefined) fail(n, 'only value, value_float(s) and value_int(s) constants are supported');
  if (typeof v === 'number') return n.attrs.has('value_int') ? hostValue([], [v]) : tensorValue(tf.scalar(v));
  if (Array.isArray(v)) return n.attrs.has('value_ints') ? hostValue([v.length], v as number[]) : tensorValue(tf.tensor1d(v as number[]));
  if (typeof v === 'string') fail(n, 'string constants are not supported');
  const t = v as OnnxTensor;
  return t.kind === 'int' ? hostValue(t.dims, t.values as number[]) : tensorValue(tf.tensor(t.values as Float32Array, t.dims));
}

function axesOf(n: OnnxNode, ctx: OpContext, rank: number): number[] {
  const a = n.attrs.has('axes') ? ints(n, 'axes', []) : host(n, ctx.input(1), 'axes');
  return a.map((x) => normAxis(x, rank));
}

function reshapeTarget(n: OnnxNode, ctx: OpContext, inShape: number[]): number[] {
  const spec = host(n, ctx.input(1), 'the shape input').slice();
  // A file traced with a fixed batch may carry that batch size as a constant in the target.
  if (ctx.tracedBatch !== null && spec[0] === ctx.tracedBatch && inShape[0] !== ctx.tracedBatch && ctx.input(1)?.k === 'host') spec[0] = inShape[0];
  const allowZero = attrNum(n, 'allowzero', 0) === 1;
  return spec.map((d, i) => (d === 0 && !allowZero ? inShape[i] : d));
}

/** Runs one node; returns its outputs' values (in order). */
export function runNode(n: OnnxNode, ctx: OpContext): Value[] {
  switch (n.opType) {
    case 'Conv':
      return [conv(n, ctx)];
    case 'MaxPool':
    case 'AveragePool':
      if (n.outputs.length > 1 && n.outputs[1]) fail(n, 'the Indices output is not supported');
      return [pool(n, ctx, n.opType === 'MaxPool' ? 'max' : 'avg')];
    case 'GlobalAveragePool':
      return [tensorValue(tf.mean(nhwc(need(n, ctx, 0)), [1, 2], true), true)];
    case 'BatchNormalization':
      return [batchNorm(n, ctx)];
    case 'Gemm':
      return [gemm(n, ctx)];
    case 'MatMul':
      return [matmul(n, ctx)];
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div':
      return [binary(n, ctx)];
    case 'Relu':
      return [unary(need(n, ctx, 0), (t) => tf.relu(t))];
    case 'LeakyRelu':
      return [unary(need(n, ctx, 0), (t) => tf.leakyRelu(t, attrNum(n, 'alpha', 0.01)))];
    case 'Sigmoid':
      return [unary(need(n, ctx, 0), (t) => tf.sigmoid(t))];
    case 'Tanh':
      return [unary(need(n, ctx, 0), (t) => tf.tanh(t))];
    case 'Erf':
      return [unary(need(n, ctx, 0), (t) => tf.erf(t))];
    case 'Gelu':
      return [unary(need(n, ctx, 0), (t) => gelu(t, attrStr(n, 'approximate', 'none')))];
    case 'Dropout':
      if (n.outputs.length > 1 && n.outputs[1]) fail(n, 'the mask output of Dropout is not supported');
      return [need(n, ctx, 0)];
    case 'Identity':
      return [need(n, ctx, 0)];
    case 'Cast': // float stays float; shape arithmetic stays on the host
      return [need(n, ctx, 0)];
    case 'Softmax': {
      const v = need(n, ctx, 0);
      const shape = logicalShape(v);
      const axis = normAxis(attrNum(n, 'axis', ctx.opset >= 13 ? -1 : 1), shape.length);
      const lastOnly = axis === shape.length - 1 || (ctx.opset < 13 && shape.slice(axis + 1).every((d) => d === 1));
      if (!lastOnly) fail(n, `softmax over axis ${axis} of a rank-${shape.length} tensor is not supported (only the last axis)`);
      if (ctx.isOutput) {
        ctx.note(`final softmax of node '${n.name}' stripped: the engine works on logits`);
        return [v];
      }
      return [tensorValue(tf.softmax(nchw(v)))];
    }
    case 'Flatten': {
      const v = need(n, ctx, 0);
      const shape = logicalShape(v);
      const axis = normAxis(attrNum(n, 'axis', 1), shape.length);
      return [tensorValue(tf.reshape(nchw(v), [prod(shape.slice(0, axis)), prod(shape.slice(axis))]))];
    }
    case 'Reshape': {
      const v = need(n, ctx, 0);
      const target = reshapeTarget(n, ctx, logicalShape(v));
      if (v.k === 'host') return [hostValue(target.includes(-1) ? [v.data.length] : target, v.data)];
      return [tensorValue(tf.reshape(nchw(v), target))];
    }
    case 'Transpose': {
      const v = need(n, ctx, 0);
      const r = logicalShape(v).length;
      const perm = ints(n, 'perm', Array.from({ length: r }, (_, i) => r - 1 - i));
      if (v.k === 't' && v.nhwc && perm.join() === '0,2,3,1') return [tensorValue(v.t)];
      return [tensorValue(tf.transpose(nchw(v), perm))];
    }
    case 'Concat': {
      const vs = n.inputs.map((_, i) => operand(n, ctx, i));
      const r = logicalShape(vs[0]).length;
      const axis = normAxis(attrNum(n, 'axis', 0), r);
      if (vs.every((v) => v.k === 'host')) {
        const data = vs.flatMap((v) => (v as { data: number[] }).data);
        return [hostValue([data.length], data)];
      }
      if (vs.every((v) => v.k === 't' && v.nhwc)) return [tensorValue(tf.concat(vs.map((v) => (v as { t: tf.Tensor }).t), [0, 3, 1, 2][axis]), true)];
      return [tensorValue(tf.concat(vs.map(nchw), axis))];
    }
    case 'Pad': {
      const v = need(n, ctx, 0);
      const mode = attrStr(n, 'mode', 'constant');
      if (mode !== 'constant') fail(n, `pad mode '${mode}' is not supported (only constant)`);
      const r = logicalShape(v).length;
      const p = n.attrs.has('pads') ? ints(n, 'pads', []) : host(n, ctx.input(1), 'pads');
      if (p.length !== 2 * r || p.some((x) => x < 0)) fail(n, `pads ${JSON.stringify(p)} must be ${2 * r} non-negative numbers`);
      const cv = ctx.input(2);
      const value = n.attrs.has('value') ? attrNum(n, 'value', 0) : cv ? (cv.k === 'host' ? cv.data[0] : fail(n, 'the pad value must be a constant')) : 0;
      const pairs = Array.from({ length: r }, (_, i) => [p[i], p[i + r]] as [number, number]);
      if (v.k === 't' && v.nhwc) return [tensorValue(tf.pad(v.t, [0, 2, 3, 1].map((i) => pairs[i]), value), true)];
      return [tensorValue(tf.pad(nchw(v), pairs, value))];
    }
    case 'Constant':
      return [constantOf(n)];
    case 'LayerNormalization':
      return [layerNorm(n, ctx)];
    case 'ReduceMean':
      return [reduceMean(n, ctx)];
    case 'Slice':
      return [slice(n, ctx)];
    case 'Shape': {
      const s = logicalShape(need(n, ctx, 0));
      const start = normAxis(attrNum(n, 'start', 0), s.length);
      const end = n.attrs.has('end') ? normAxis(attrNum(n, 'end', s.length), s.length) : s.length;
      return [hostValue([end - start], s.slice(start, end))];
    }
    case 'Gather': {
      const v = need(n, ctx, 0);
      const idxV = ctx.input(1);
      const idx = host(n, idxV, 'indices');
      const scalar = (idxV as { dims: number[] }).dims.length === 0;
      const shape = logicalShape(v);
      const axis = normAxis(attrNum(n, 'axis', 0), shape.length);
      const ix = idx.map((i) => (i < 0 ? i + shape[axis] : i));
      if (v.k === 'host') {
        if (shape.length !== 1) fail(n, 'gathering from a constant of rank above 1 is not supported');
        return [hostValue(scalar ? [] : [ix.length], ix.map((i) => v.data[i]))];
      }
      const g = tf.gather(nchw(v), tf.tensor1d(ix, 'int32'), axis);
      return [tensorValue(scalar ? tf.squeeze(g, [axis]) : g)];
    }
    case 'Unsqueeze':
    case 'Squeeze': {
      const v = need(n, ctx, 0);
      const shape = logicalShape(v);
      let out: number[];
      if (n.opType === 'Unsqueeze') {
        const raw = n.attrs.has('axes') ? ints(n, 'axes', []) : host(n, ctx.input(1), 'axes');
        const axes = raw.map((a) => normAxis(a, shape.length + raw.length));
        out = shape.slice();
        for (const a of [...axes].sort((x, y) => x - y)) out.splice(a, 0, 1);
      } else {
        const axes = n.attrs.has('axes') || ctx.input(1) ? axesOf(n, ctx, shape.length) : shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
        out = shape.filter((_, i) => !axes.includes(i));
      }
      if (v.k === 'host') return [hostValue(out, v.data)];
      return [tensorValue(tf.reshape(nchw(v), out))];
    }
    default:
      fail(n, 'operator not supported');
  }
}
