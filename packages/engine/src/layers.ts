/**
 * The layer vocabulary of the functional interpreter: for each supported Keras/tfjs layer
 * class, its output shape, the weights it expects (role, shape, trainable) and its forward
 * computation from explicit weight tensors. Every op used here has gradients of all orders
 * (with gradients.ts registered); pooling comes from pool.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '@hessian/linalg';
import { conv2dIm2col, pool2d, poolGeometry, type Pool2DSpec } from './pool.js';
import { activation, bool, channelsLast, fail, need, num, pair, padding, prod, sameShape, zeroPadding } from './layer-config.js';
import { compileExtraLayer, EXTRA_LAYERS } from './layers-extra.js';

export { activationName, SUPPORTED_ACTIVATIONS } from './layer-config.js';

export type ConvImplementation = 'auto' | 'im2col' | 'kernel';
let convImpl: ConvImplementation = 'auto';

/**
 * How Conv2D layers compute: 'kernel' = tf.conv2d (its second derivative needs the
 * Conv2DBackpropFilter gradient from gradients.ts), 'im2col' = gather + matMul, 'auto' =
 * im2col on wasm (which has no Conv2DBackpropFilter kernel), kernel elsewhere. Both give the same function, so the same derivatives.
 */
export function setConvImplementation(impl: ConvImplementation): void {
  convImpl = impl;
}

/** Whether Conv2D layers run as im2col on the active backend (else tf.conv2d). */
export function convUsesIm2col(): boolean {
  return useIm2col();
}

function useIm2col(): boolean {
  if (convImpl !== 'auto') return convImpl === 'im2col';
  return tf.getBackend() === 'wasm';
}

export type Json = Record<string, unknown>;

export interface GraphNode {
  name: string;
  className: string;
  config: Json;
  inbound: string[];
}

export interface ExpectedWeight {
  role: string;
  shape: number[];
  trainable: boolean;
}

export type WeightGetter = (role: string) => tf.Tensor;

export interface CompiledLayer {
  node: GraphNode;
  outShape: number[];
  weights: ExpectedWeight[];
  trainable: boolean;
  /** Note about a change made to the layer (e.g. a final softmax stripped). */
  note?: string;
  apply(inputs: tf.Tensor[], w: WeightGetter): tf.Tensor;
}

/** Whether compiling replaced the layer's activation (a final softmax: the engine works on logits). */
export function isStripped(c: CompiledLayer): boolean {
  return c.note !== undefined && c.note.includes('stripped');
}

export const SUPPORTED_LAYERS = [
  'InputLayer',
  'Dense',
  'Conv2D',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'Flatten',
  'Dropout',
  'BatchNormalization',
  'Activation',
  'ReLU',
  'Softmax',
  'Add',
  'ZeroPadding2D',
] as const;

const ALIASES: Record<string, string> = {
  Convolution2D: 'Conv2D',
  MaxPool2D: 'MaxPooling2D',
  AvgPool2D: 'AveragePooling2D',
  AveragePool2D: 'AveragePooling2D',
  GlobalAvgPool2D: 'GlobalAveragePooling2D',
  GlobalAveragePool2D: 'GlobalAveragePooling2D',
  GlobalMaxPool2D: 'GlobalMaxPooling2D',
};

/** Conv kernel with zeros inserted between taps: dilated conv as plain conv (second-order safe). */
function dilateKernel(k: tf.Tensor4D, d: [number, number]): tf.Tensor4D {
  if (d[0] === 1 && d[1] === 1) return k;
  const [kh, kw, ci, co] = k.shape;
  const r = tf.reshape(k, [kh, 1, kw, 1, ci, co]);
  const p = tf.pad(r, [[0, 0], [0, d[0] - 1], [0, 0], [0, d[1] - 1], [0, 0], [0, 0]]);
  const full = tf.reshape(p, [kh * d[0], kw * d[1], ci, co]);
  return tf.slice(full, [0, 0, 0, 0], [(kh - 1) * d[0] + 1, (kw - 1) * d[1] + 1, ci, co]) as tf.Tensor4D;
}

/** A plain (HWIO kernel, NHWC) convolution by the implementation `setConvImplementation` chose. */
export function conv2d(x: tf.Tensor4D, k: tf.Tensor4D, s: [number, number], pad: 'same' | 'valid', d: [number, number]): tf.Tensor4D {
  return useIm2col() ? conv2dIm2col(x, k, s, pad, d) : tf.conv2d(x, dilateKernel(k, d), s, pad);
}

/** What differs between the affine layers (Dense and the convolutions): their linear part. */
export interface AffineParts {
  outShape: number[];
  /** the linear part's weights; a bias of `bias` entries (null: none) follows them, as Keras orders `layer.weights` */
  weights: ExpectedWeight[];
  bias: number | null;
  linear(x: tf.Tensor[], w: WeightGetter): tf.Tensor;
  /** applied after the bias, before the activation (Dense's reshape back to its input's rank) */
  after?(y: tf.Tensor, x: tf.Tensor[]): tf.Tensor;
}

/** A layer computing activation(linear(x) + bias): Dense, Conv2D, DepthwiseConv2D, SeparableConv2D. */
export function affineLayer(node: GraphNode, trainable: boolean, isOutput: boolean, p: AffineParts): CompiledLayer {
  const act = activation(node, isOutput);
  const bias = p.bias;
  const weights = bias === null ? p.weights : [...p.weights, { role: 'bias', shape: [bias], trainable }];
  return {
    node,
    trainable,
    outShape: p.outShape,
    weights,
    note: act.note,
    apply: (x, w) => {
      let y = p.linear(x, w);
      if (bias !== null) y = tf.add(y, w('bias'));
      if (p.after) y = p.after(y, x);
      return act.fn(y);
    },
  };
}

/** What both normalization layers read: they normalize over the last axis only, with gamma / beta weights when scale / center. */
export function lastAxisNorm(node: GraphNode, inShape: number[], trainable: boolean, axisName: string): { c: number; eps: number; center: boolean; scale: boolean; weights: ExpectedWeight[] } {
  const rank = inShape.length;
  const axisCfg = node.config['axis'];
  const axis = Array.isArray(axisCfg) && axisCfg.length === 1 ? Number(axisCfg[0]) : axisCfg === undefined || axisCfg === null ? -1 : Number(axisCfg);
  if (!(axis === -1 || axis === rank)) fail(node, `only normalization over the ${axisName} is supported, got axis ${JSON.stringify(axisCfg)}`);
  const c = inShape[rank - 1];
  const center = bool(node, 'center', true);
  const scale = bool(node, 'scale', true);
  const weights: ExpectedWeight[] = [];
  if (scale) weights.push({ role: 'gamma', shape: [c], trainable });
  if (center) weights.push({ role: 'beta', shape: [c], trainable });
  return { c, eps: num(node, 'epsilon', 1e-3), center, scale, weights };
}

function convOut(size: number, k: number, s: number, d: number, pad: 'same' | 'valid'): number {
  return pad === 'same' ? Math.ceil(size / s) : Math.ceil((size - (k - 1) * d) / s);
}

function poolSpec(node: GraphNode): Pool2DSpec {
  channelsLast(node);
  const pool = pair(node, 'pool_size', [2, 2]);
  return { pool, strides: pair(node, 'strides', pool), padding: padding(node) };
}

/** Compiles one graph node, given its input shapes (without batch). */
export function compileLayer(node: GraphNode, inShapes: number[][], isOutput: boolean): CompiledLayer {
  const cls = ALIASES[node.className] ?? node.className;
  const trainable = node.config['trainable'] !== false;
  const base = { node, trainable };
  switch (cls) {
    case 'InputLayer':
      return { ...base, outShape: inShapes[0], weights: [], apply: (x) => x[0] };
    case 'Dropout':
    case 'SpatialDropout2D':
    case 'GaussianDropout':
    case 'GaussianNoise':
    case 'AlphaDropout':
      need(node, inShapes, 1);
      return { ...base, outShape: inShapes[0], weights: [], apply: (x) => x[0] };
    case 'Flatten': {
      need(node, inShapes, 1);
      const n = prod(inShapes[0]);
      return { ...base, outShape: [n], weights: [], apply: (x) => tf.reshape(x[0], [x[0].shape[0], n]) };
    }
    case 'Dense': {
      need(node, inShapes, 1);
      const units = num(node, 'units');
      const useBias = bool(node, 'use_bias', true);
      const inDim = inShapes[0][inShapes[0].length - 1];
      const outShape = [...inShapes[0].slice(0, -1), units];
      return affineLayer(node, trainable, isOutput, {
        outShape,
        weights: [{ role: 'kernel', shape: [inDim, units], trainable }],
        bias: useBias ? units : null,
        linear: (x, w) => tf.matMul(x[0].rank === 2 ? (x[0] as tf.Tensor2D) : (tf.reshape(x[0], [-1, inDim]) as tf.Tensor2D), w('kernel') as tf.Tensor2D),
        // higher-rank inputs were flattened to rows; the bias is added before their shape is restored
        after: (y, x) => (x[0].rank === 2 ? y : tf.reshape(y, [x[0].shape[0], ...outShape])),
      });
    }
    case 'Conv2D': {
      need(node, inShapes, 1, 3);
      channelsLast(node);
      const filters = num(node, 'filters');
      const k = pair(node, 'kernel_size');
      const s = pair(node, 'strides', [1, 1]);
      const d = pair(node, 'dilation_rate', [1, 1]);
      const pad = padding(node);
      const groups = num(node, 'groups', 1);
      if (groups !== 1) fail(node, `grouped convolution (groups=${groups}) is not supported`);
      const useBias = bool(node, 'use_bias', true);
      const [h, w0, cin] = inShapes[0];
      const oh = convOut(h, k[0], s[0], d[0], pad);
      const ow = convOut(w0, k[1], s[1], d[1], pad);
      if (oh <= 0 || ow <= 0) fail(node, `kernel ${k.join('x')} (dilation ${d.join('x')}) does not fit the input ${h}x${w0}`);
      return affineLayer(node, trainable, isOutput, {
        outShape: [oh, ow, filters],
        weights: [{ role: 'kernel', shape: [k[0], k[1], cin, filters], trainable }],
        bias: useBias ? filters : null,
        linear: (x, w) => conv2d(x[0] as tf.Tensor4D, w('kernel') as tf.Tensor4D, s, pad, d),
      });
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      need(node, inShapes, 1, 3);
      const spec = poolSpec(node);
      const [h, w0, c] = inShapes[0];
      const g = poolGeometry(h, w0, spec);
      if (g.outH <= 0 || g.outW <= 0) fail(node, `pool ${spec.pool.join('x')} does not fit the input ${h}x${w0}`);
      const kind = cls === 'MaxPooling2D' ? 'max' : 'avg';
      return { ...base, outShape: [g.outH, g.outW, c], weights: [], apply: (x) => pool2d(kind, x[0] as tf.Tensor4D, spec) };
    }
    case 'GlobalAveragePooling2D': {
      need(node, inShapes, 1, 3);
      channelsLast(node);
      const keep = bool(node, 'keepdims', false);
      const c = inShapes[0][2];
      return {
        ...base,
        outShape: keep ? [1, 1, c] : [c],
        weights: [],
        apply: (x) => tf.mean(x[0], [1, 2], keep),
      };
    }
    case 'BatchNormalization': {
      need(node, inShapes, 1);
      const { c, eps, center, scale, weights } = lastAxisNorm(node, inShapes[0], trainable, 'last (channel) axis');
      weights.push({ role: 'moving_mean', shape: [c], trainable: false }, { role: 'moving_variance', shape: [c], trainable: false });
      return {
        ...base,
        outShape: inShapes[0],
        weights,
        // Inference mode: the moving statistics are constants.
        apply: (x, w) => {
          const inv = tf.rsqrt(tf.add(w('moving_variance'), eps));
          const mult = scale ? tf.mul(w('gamma'), inv) : inv;
          let y = tf.mul(tf.sub(x[0], w('moving_mean')), mult);
          if (center) y = tf.add(y, w('beta'));
          return y;
        },
      };
    }
    case 'Activation': {
      need(node, inShapes, 1);
      const act = activation(node, isOutput);
      return { ...base, outShape: inShapes[0], weights: [], note: act.note, apply: (x) => act.fn(x[0]) };
    }
    case 'Softmax': {
      need(node, inShapes, 1);
      const ax = node.config['axis'];
      if (ax !== undefined && ax !== null && ax !== -1 && !(Array.isArray(ax) && ax.length === 1 && ax[0] === -1)) {
        fail(node, `softmax over axis ${JSON.stringify(ax)} is not supported (only the last axis)`);
      }
      if (isOutput) {
        return {
          ...base,
          outShape: inShapes[0],
          weights: [],
          note: `final softmax of layer '${node.name}' stripped: the engine works on logits`,
          apply: (x) => x[0],
        };
      }
      return { ...base, outShape: inShapes[0], weights: [], apply: (x) => tf.softmax(x[0]) };
    }
    case 'ReLU': {
      need(node, inShapes, 1);
      const maxValue = node.config['max_value'];
      const slope = num(node, 'negative_slope', 0);
      const threshold = num(node, 'threshold', 0);
      if (threshold !== 0) fail(node, `ReLU with threshold ${threshold} is not supported`);
      const mv = typeof maxValue === 'number' ? maxValue : null;
      return {
        ...base,
        outShape: inShapes[0],
        weights: [],
        apply: (x) => {
          let y = slope !== 0 ? tf.leakyRelu(x[0], slope) : tf.relu(x[0]);
          if (mv !== null) y = tf.minimum(y, mv);
          return y;
        },
      };
    }
    case 'Add': {
      need(node, inShapes, 'many');
      for (const s of inShapes) {
        if (!sameShape(s, inShapes[0])) fail(node, `inputs have different shapes [${inShapes.map((x) => x.join(',')).join('] vs [')}]`);
      }
      return { ...base, outShape: inShapes[0], weights: [], apply: (x) => x.slice(1).reduce((a, b) => tf.add(a, b), x[0]) };
    }
    case 'ZeroPadding2D': {
      need(node, inShapes, 1, 3);
      channelsLast(node);
      const [[t, b], [l, r]] = zeroPadding(node);
      const [h, w0, c] = inShapes[0];
      return { ...base, outShape: [h + t + b, w0 + l + r, c], weights: [], apply: (x) => tf.pad(x[0], [[0, 0], [t, b], [l, r], [0, 0]]) };
    }
    default: {
      const extra = compileExtraLayer(cls, node, inShapes, isOutput);
      if (extra) return extra;
      throw new UserError(
        `Layer '${node.name}' has class ${node.className}, which the engine does not support; supported layer classes: ${[...SUPPORTED_LAYERS, ...EXTRA_LAYERS].join(', ')}.`,
      );
    }
  }
}
