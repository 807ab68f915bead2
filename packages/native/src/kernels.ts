import {
  backend_util,
  util,
  type DataType,
  type KernelFunc,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from './addon.js';

type Backend = MathBackendCPU;
type Values = backend_util.BackendValues;
interface KernelArgs {
  inputs: Record<string, TensorInfo>;
  backend: Backend;
  attrs?: NamedAttrMap;
}
/** A native kernel returns null when it cannot handle the inputs; the cpu kernel then runs. */
type NativeKernel = (args: KernelArgs) => TensorInfo | TensorInfo[] | null;

function vals(b: Backend, t: TensorInfo): Values | undefined {
  return b.data.get(t.dataId)?.values;
}
function f32(b: Backend, t: TensorInfo): Float32Array | null {
  if (t.dtype !== 'float32') return null;
  const v = vals(b, t);
  return v instanceof Float32Array ? v : null;
}
function out(b: Backend, shape: number[], values: Float32Array | Uint8Array, dtype: DataType = 'float32'): TensorInfo {
  return b.makeTensorInfo(shape, dtype, values);
}

// Codes shared with addon/native.cc.
const BIN: Record<string, number> = {
  Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, Maximum: 4, Minimum: 5, SquaredDifference: 6, Pow: 7,
  Equal: 16, NotEqual: 17, Greater: 18, GreaterEqual: 19, Less: 20, LessEqual: 21,
};
const UN: Record<string, number> = {
  Neg: 0, Exp: 1, Log: 2, Sqrt: 3, Rsqrt: 4, Square: 5, Relu: 6, Step: 7, Abs: 8, Sigmoid: 9, Tanh: 10,
  Reciprocal: 11, Relu6: 12, Elu: 13, Log1p: 14, LeakyRelu: 16, Sign: 17,
};
const RED: Record<string, number> = { Sum: 0, Max: 1, Min: 2, Mean: 3, Prod: 4 };
const ACT: Record<string, number> = { linear: 0, relu: 1, relu6: 2, leakyrelu: 3, sigmoid: 4, elu: 5 };

function binaryKernel(addon: NativeAddon, name: string): NativeKernel {
  const op = BIN[name];
  const cmp = op >= 16;
  return ({ inputs, backend }) => {
    const { a, b } = inputs;
    const av = f32(backend, a), bv = f32(backend, b);
    if (!av || !bv) return null;
    const shape = a.shape.length === b.shape.length && util.arraysEqual(a.shape, b.shape)
      ? a.shape
      : backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const size = util.sizeFromShape(shape);
    const o = cmp ? new Uint8Array(size) : new Float32Array(size);
    if (size > 0) addon.binary(op, av, a.shape, bv, b.shape, o, shape);
    return out(backend, shape, o, cmp ? 'bool' : 'float32');
  };
}

function unaryKernel(addon: NativeAddon, name: string): NativeKernel {
  const op = UN[name];
  return ({ inputs, backend, attrs }) => {
    const x = inputs.x;
    const xv = f32(backend, x);
    if (!xv) return null;
    let alpha = 0;
    if (name === 'Step') alpha = (attrs?.alpha as number | undefined) ?? 0;
    if (name === 'LeakyRelu') alpha = (attrs?.alpha as number | undefined) ?? 0.2;
    const o = new Float32Array(xv.length);
    addon.unary(op, xv, o, alpha);
    return out(backend, x.shape, o);
  };
}

function reduceKernel(addon: NativeAddon, name: string): NativeKernel {
  const op = RED[name];
  return ({ inputs, backend, attrs }) => {
    const x = inputs.x;
    const xv = f32(backend, x);
    if (!xv) return null;
    const axisAttr = (name === 'Max' ? attrs?.reductionIndices : attrs?.axis) as number | number[];
    const keepDims = Boolean(attrs?.keepDims);
    const axes = util.parseAxisParam(axisAttr, x.shape);
    const mask = x.shape.map((_, i) => (axes.includes(i) ? 1 : 0));
    const shape: number[] = [];
    x.shape.forEach((d, i) => {
      if (mask[i]) {
        if (keepDims) shape.push(1);
      } else shape.push(d);
    });
    const size = util.sizeFromShape(shape);
    if (xv.length === 0) return null;
    const o = new Float32Array(size);
    addon.reduce(op, xv, x.shape, mask, o);
    return out(backend, shape, o);
  };
}

function batchMatMulCore(
  addon: NativeAddon, backend: Backend, a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean,
  bias: TensorInfo | undefined, activation: string, alpha: number,
): TensorInfo | null {
  const av = f32(backend, a), bv = f32(backend, b);
  if (!av || !bv) return null;
  const ra = a.shape.length, rb = b.shape.length;
  if (ra < 2 || rb < 2) return null;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const k2 = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== k2) return null; // let the cpu kernel throw its error
  const aBatchShape = a.shape.slice(0, -2), bBatchShape = b.shape.slice(0, -2);
  const batchA = util.sizeFromShape(aBatchShape), batchB = util.sizeFromShape(bBatchShape);
  const outBatch = backend_util.assertAndGetBroadcastShape(aBatchShape, bBatchShape);
  const batch = util.sizeFromShape(outBatch);
  if (batch !== Math.max(batchA, batchB) || (batchA !== batchB && batchA !== 1 && batchB !== 1)) return null;
  const act = ACT[activation];
  if (act === undefined) return null;
  let biasV: Float32Array | null = null;
  let biasLen = 0;
  const shape = [...outBatch, m, n];
  if (bias) {
    biasV = f32(backend, bias);
    if (!biasV) return null;
    biasLen = biasV.length;
    const simple = (biasLen === n || biasLen === 1) && bias.shape.length <= 2 &&
      (bias.shape.length < 2 || bias.shape[0] === 1);
    if (!simple) return null;
  }
  const o = new Float32Array(batch * m * n);
  if (o.length > 0) {
    if (k === 0) {
      // Empty contraction: leave zeros (plus bias and activation below are rare; defer to cpu).
      if (bias || act !== 0) return null;
    } else {
      addon.gemm(av, bv, o, batchA, batchB, m, n, k, transposeA, transposeB, biasV, biasLen, act, alpha);
    }
  }
  return out(backend, shape, o);
}

function convParams(ci: backend_util.Conv2DInfo): number[] {
  return [
    ci.batchSize, ci.inHeight, ci.inWidth, ci.inChannels, ci.filterHeight, ci.filterWidth, ci.outChannels,
    ci.outHeight, ci.outWidth, ci.strideHeight, ci.strideWidth, ci.dilationHeight, ci.dilationWidth,
    ci.padInfo.top, ci.padInfo.left,
  ];
}
function poolParams(ci: backend_util.Conv2DInfo): number[] {
  return [
    ci.batchSize, ci.inHeight, ci.inWidth, ci.inChannels, ci.filterHeight, ci.filterWidth,
    ci.outHeight, ci.outWidth, ci.strideHeight, ci.strideWidth, ci.dilationHeight, ci.dilationWidth,
    ci.padInfo.top, ci.padInfo.left,
  ];
}
type Pad = 'valid' | 'same' | number | backend_util.ExplicitPadding;
type Round = 'floor' | 'round' | 'ceil' | undefined;
type Pair = [number, number] | number;

/** The native kernels, by tfjs kernel name. */
export function nativeKernels(addon: NativeAddon): Partial<Record<string, NativeKernel>> {
  const k: Record<string, NativeKernel> = {};
  for (const name of Object.keys(BIN)) k[name] = binaryKernel(addon, name);
  for (const name of Object.keys(UN)) k[name] = unaryKernel(addon, name);
  for (const name of Object.keys(RED)) k[name] = reduceKernel(addon, name);

  k.BatchMatMul = ({ inputs, backend, attrs }) =>
    batchMatMulCore(addon, backend, inputs.a, inputs.b, Boolean(attrs?.transposeA), Boolean(attrs?.transposeB),
      undefined, 'linear', 0);

  k._FusedMatMul = ({ inputs, backend, attrs }) => {
    if (inputs.preluActivationWeights as TensorInfo | undefined) return null;
    return batchMatMulCore(addon, backend, inputs.a, inputs.b, Boolean(attrs?.transposeA),
      Boolean(attrs?.transposeB), inputs.bias as TensorInfo | undefined, (attrs?.activation as string | undefined) ?? 'linear',
      (attrs?.leakyreluAlpha as number | undefined) ?? 0.2);
  };

  k.Conv2D = ({ inputs, backend, attrs }) => {
    const { x, filter } = inputs;
    const xv = f32(backend, x), wv = f32(backend, filter);
    if (!xv || !wv || !attrs) return null;
    if ((attrs.dataFormat ?? 'NHWC') !== 'NHWC') return null;
    const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number], attrs.strides as Pair,
      ((attrs.dilations as Pair | undefined) ?? 1), attrs.pad as Pad, attrs.dimRoundingMode as Round, false,
      'channelsLast');
    const o = new Float32Array(util.sizeFromShape(info.outShape));
    if (o.length > 0 && xv.length > 0) addon.conv2d(xv, wv, o, convParams(info));
    return out(backend, info.outShape, o);
  };

  k.Conv2DBackpropInput = ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs;
    const dyv = f32(backend, dy), wv = f32(backend, filter);
    if (!dyv || !wv || !attrs) return null;
    if ((attrs.dataFormat ?? 'NHWC') !== 'NHWC') return null;
    const inputShape = attrs.inputShape as [number, number, number, number];
    const info = backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number],
      attrs.strides as Pair, 1, attrs.pad as Pad, attrs.dimRoundingMode as Round, false, 'channelsLast');
    const o = new Float32Array(util.sizeFromShape(inputShape));
    if (o.length > 0 && dyv.length > 0) addon.conv2dBackpropInput(dyv, wv, o, convParams(info));
    return out(backend, [...inputShape], o);
  };

  k.Conv2DBackpropFilter = ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs;
    const xv = f32(backend, x), dyv = f32(backend, dy);
    if (!xv || !dyv || !attrs) return null;
    if ((attrs.dataFormat ?? 'NHWC') !== 'NHWC') return null;
    const filterShape = attrs.filterShape as [number, number, number, number];
    const info = backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape,
      attrs.strides as Pair, 1, attrs.pad as Pad, attrs.dimRoundingMode as Round, false, 'channelsLast');
    const o = new Float32Array(util.sizeFromShape(filterShape));
    if (o.length > 0 && dyv.length > 0) addon.conv2dBackpropFilter(xv, dyv, o, convParams(info));
    return out(backend, [...filterShape], o);
  };

  const poolInfo = (x: TensorInfo, attrs: NamedAttrMap) =>
    backend_util.computePool2DInfo(x.shape as [number, number, number, number], attrs.filterSize as Pair,
      attrs.strides as Pair, 1, attrs.pad as Pad, attrs.dimRoundingMode as Round);

  k.MaxPool = ({ inputs, backend, attrs }) => {
    const x = inputs.x;
    const xv = f32(backend, x);
    if (!xv || !attrs) return null;
    const info = poolInfo(x, attrs);
    const o = new Float32Array(util.sizeFromShape(info.outShape));
    if (o.length > 0) addon.maxPool(xv, o, poolParams(info));
    return out(backend, info.outShape, o);
  };
  k.MaxPoolGrad = ({ inputs, backend, attrs }) => {
    const { dy, input } = inputs;
    const dyv = f32(backend, dy), xv = f32(backend, input);
    if (!dyv || !xv || !attrs) return null;
    const info = poolInfo(input, attrs);
    const o = new Float32Array(xv.length);
    if (dyv.length > 0) addon.maxPoolGrad(dyv, xv, o, poolParams(info));
    return out(backend, input.shape, o);
  };
  k.AvgPool = ({ inputs, backend, attrs }) => {
    const x = inputs.x;
    const xv = f32(backend, x);
    if (!xv || !attrs) return null;
    const info = poolInfo(x, attrs);
    const o = new Float32Array(util.sizeFromShape(info.outShape));
    if (o.length > 0) addon.avgPool(xv, o, poolParams(info));
    return out(backend, info.outShape, o);
  };
  k.AvgPoolGrad = ({ inputs, backend, attrs }) => {
    const { dy, input } = inputs;
    const dyv = f32(backend, dy);
    if (!dyv || input.dtype !== 'float32' || !attrs) return null;
    const info = poolInfo(input, attrs);
    const o = new Float32Array(util.sizeFromShape(input.shape));
    if (dyv.length > 0) addon.avgPoolGrad(dyv, o, poolParams(info));
    return out(backend, input.shape, o);
  };

  k.MaxPoolWithArgmax = ({ inputs, backend, attrs }) => {
    const x = inputs.x;
    const xv = f32(backend, x);
    if (!xv || !attrs) return null;
    const info = poolInfo(x, attrs);
    const size = util.sizeFromShape(info.outShape);
    const o = new Float32Array(size);
    const idx = new Int32Array(size);
    if (size > 0) addon.maxPoolWithArgmax(xv, o, idx, poolParams(info), Boolean(attrs.includeBatchInIndex));
    return [out(backend, info.outShape, o), backend.makeTensorInfo(info.outShape, 'int32', idx)];
  };

  k.GatherV2 = ({ inputs, backend, attrs }) => {
    const { x, indices } = inputs;
    const xv = f32(backend, x);
    const iv = vals(backend, indices);
    if (!xv || !(iv instanceof Int32Array) || indices.dtype !== 'int32' || !attrs) return null;
    if (((attrs.batchDims as number | undefined) ?? 0) !== 0) return null;
    const axis = util.parseAxisParam(attrs.axis as number, x.shape)[0];
    const outer = util.sizeFromShape(x.shape.slice(0, axis));
    const inner = util.sizeFromShape(x.shape.slice(axis + 1));
    const shape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
    const o = new Float32Array(util.sizeFromShape(shape));
    if (o.length > 0 && !addon.gather(xv, outer, x.shape[axis], inner, iv, o)) return null;
    return out(backend, shape, o);
  };

  k.Transpose = ({ inputs, backend, attrs }) => {
    const x = inputs.x;
    const xv = f32(backend, x);
    if (!xv || !attrs) return null;
    const perm = attrs.perm as number[];
    const shape = perm.map((p) => x.shape[p]);
    const o = new Float32Array(xv.length);
    if (o.length > 0) addon.transpose(xv, x.shape, perm, o);
    return out(backend, shape, o);
  };

  k.AddN = ({ inputs, backend }) => {
    // AddN's inputs are a list (an array at run time), their values in order
    const ts = Object.values(inputs);
    const arrays: Float32Array[] = [];
    for (const t of ts) {
      const v = f32(backend, t);
      if (!v || !util.arraysEqual(t.shape, ts[0].shape)) return null;
      arrays.push(v);
    }
    if (arrays.length === 0) return null;
    const o = new Float32Array(arrays[0].length);
    addon.addN(arrays, o);
    return out(backend, ts[0].shape, o);
  };

  k.Select = ({ inputs, backend }) => {
    const { condition, t, e } = inputs;
    const cv = vals(backend, condition);
    const tv = f32(backend, t), ev = f32(backend, e);
    if (!(cv instanceof Uint8Array) || !tv || !ev || !util.arraysEqual(t.shape, e.shape)) return null;
    const sameShape = util.arraysEqual(condition.shape, t.shape);
    const rank1 = condition.shape.length === 1 && t.shape.length >= 1 && condition.shape[0] === t.shape[0];
    if (!sameShape && !rank1) return null;
    const o = new Float32Array(tv.length);
    if (o.length > 0) addon.select(cv, tv, ev, o);
    return out(backend, t.shape, o);
  };

  // Softmax in one pass per row, in JavaScript: the cpu kernel composes max, sub, exp, sum and div
  // through its generic broadcasting path (an index computation per element), about 2.5 ms for
  // 256 x 10 logits, called once or twice per Hessian-vector product (a fifth of a second over
  // the MLP race's 404 products). The same float32 roundings in the same order as the cpu kernel,
  // so the values are identical.
  k.Softmax = ({ inputs, backend, attrs }) => {
    const x = inputs.logits;
    const xv = f32(backend, x);
    const rank = x.shape.length;
    const dim = (attrs?.dim as number | undefined) ?? -1;
    if (!xv || rank === 0 || (dim !== -1 && dim !== rank - 1)) return null;
    const c = x.shape[rank - 1];
    if (c === 0 || xv.length === 0) return null;
    const o = new Float32Array(xv.length);
    const f = Math.fround;
    for (let base = 0; base < xv.length; base += c) {
      let m = xv[base];
      for (let j = 0; j < c; j++) {
        const v = xv[base + j];
        if (Number.isNaN(v) || v > m) m = v;
      }
      let s = 0;
      for (let j = 0; j < c; j++) {
        const e = f(Math.exp(f(xv[base + j] - m)));
        o[base + j] = e;
        s += e;
      }
      const s32 = f(s);
      for (let j = 0; j < c; j++) o[base + j] = o[base + j] / s32;
    }
    return out(backend, x.shape, o);
  };

  k.Cast = ({ inputs, backend, attrs }) => {
    const x = inputs.x;
    if (attrs?.dtype !== 'float32' || (x.dtype !== 'bool' && x.dtype !== 'int32')) return null;
    const v = vals(backend, x);
    if (!(v instanceof Uint8Array) && !(v instanceof Int32Array)) return null;
    const o = new Float32Array(v.length);
    addon.castToFloat(v, o);
    return out(backend, x.shape, o);
  };

  return k;
}

/** Combines a native kernel with the cpu kernel it replaces (used when the native one declines). */
export function withFallback(native: NativeKernel, cpu: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    // native kernels read the cpu backend's storage and need every input present
    if (!(backend instanceof MathBackendCPU) || !allPresent(inputs)) return cpu(args);
    return native({ inputs, backend, attrs }) ?? cpu(args);
  };
}

function allPresent(inputs: NamedTensorInfoMap): inputs is Record<string, TensorInfo> {
  return Object.values(inputs).every((t) => t !== undefined);
}
