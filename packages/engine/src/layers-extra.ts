/**
 * The Keras layers of mobile and modern nets beyond layers.ts' core: DepthwiseConv2D,
 * SeparableConv2D, Concatenate, Reshape, LayerNormalization, GlobalMaxPooling2D, LeakyReLU,
 * ELU. Each from ops with gradients of every order: depthwise convolution as shifted slices
 * (depthwise.ts), layer normalization from mean/sub/mul/rsqrt, global max through tf.max
 * (whose gradient's Equal mask has the zero gradient gradients.ts registers).
 * Weight roles and their order are Keras' (`layer.weights`), which .keras files rely on.
 */
import * as tf from '@tensorflow/tfjs-core';
import { depthwiseConv2d, depthwiseGeometry, samePads } from './depthwise.js';
import { bool, channelsLast, fail, need, num, pair, padding, prod } from './layer-config.js';
import type { CompiledLayer, ExpectedWeight, GraphNode } from './layers.js';
import { affineLayer, conv2d, lastAxisNorm } from './layers.js';

export const EXTRA_LAYERS = ['DepthwiseConv2D', 'SeparableConv2D', 'Concatenate', 'Reshape', 'LayerNormalization', 'GlobalMaxPooling2D', 'LeakyReLU', 'ELU'] as const;

function depthwisePart(node: GraphNode, inShape: number[]): { spec: { strides: [number, number]; pads: [number, number, number, number]; dilation: [number, number] }; k: [number, number]; m: number; outH: number; outW: number } {
  channelsLast(node);
  const k = pair(node, 'kernel_size');
  const s = pair(node, 'strides', [1, 1]);
  const d = pair(node, 'dilation_rate', [1, 1]);
  const m = num(node, 'depth_multiplier', 1);
  const [h, w] = inShape;
  const pads = padding(node) === 'same' ? samePads(h, w, k[0], k[1], s, d) : ([0, 0, 0, 0] as [number, number, number, number]);
  const spec = { strides: s, pads, dilation: d };
  const g = depthwiseGeometry(h, w, k[0], k[1], spec);
  if (g.outH <= 0 || g.outW <= 0) fail(node, `kernel ${k.join('x')} does not fit the input ${h}x${w}`);
  return { spec, k, m, ...g };
}

/** Compiles a layer of EXTRA_LAYERS; null for any other class. */
export function compileExtraLayer(cls: string, node: GraphNode, inShapes: number[][], isOutput: boolean): CompiledLayer | null {
  const trainable = node.config['trainable'] !== false;
  const base = { node, trainable };
  switch (cls) {
    case 'DepthwiseConv2D':
    case 'SeparableConv2D': {
      need(node, inShapes, 1, 3);
      const c = inShapes[0][2];
      const { spec, k, m, outH, outW } = depthwisePart(node, inShapes[0]);
      const useBias = bool(node, 'use_bias', true);
      const separable = cls === 'SeparableConv2D';
      const filters = separable ? num(node, 'filters') : c * m;
      const weights: ExpectedWeight[] = [{ role: 'depthwise_kernel', shape: [k[0], k[1], c, m], trainable }];
      if (separable) weights.push({ role: 'pointwise_kernel', shape: [1, 1, c * m, filters], trainable });
      return affineLayer(node, trainable, isOutput, {
        outShape: [outH, outW, filters],
        weights,
        bias: useBias ? filters : null,
        linear: (x, w) => {
          const y = depthwiseConv2d(x[0] as tf.Tensor4D, w('depthwise_kernel') as tf.Tensor4D, spec);
          return separable ? conv2d(y, w('pointwise_kernel') as tf.Tensor4D, [1, 1], 'valid', [1, 1]) : y;
        },
      });
    }
    case 'Concatenate': {
      need(node, inShapes, 'many');
      const r = inShapes[0].length;
      const ax = num(node, 'axis', -1);
      const axis = ax < 0 ? ax + r + 1 : ax; // Keras counts the batch axis
      if (axis < 1 || axis > r) fail(node, `axis ${ax} is outside the input rank ${r + 1}`);
      const out = inShapes[0].slice();
      for (const s of inShapes.slice(1)) {
        if (s.length !== r || s.some((d, i) => i !== axis - 1 && d !== inShapes[0][i])) fail(node, `inputs [${inShapes.map((x) => x.join(',')).join('] and [')}] differ outside axis ${ax}`);
        out[axis - 1] += s[axis - 1];
      }
      return { ...base, outShape: out, weights: [], apply: (x) => tf.concat(x, axis) };
    }
    case 'Reshape': {
      need(node, inShapes, 1);
      const t = node.config['target_shape'];
      if (!Array.isArray(t) || t.some((d) => typeof d !== 'number')) fail(node, `target_shape ${JSON.stringify(t)} must be a list of numbers`);
      const target = (t as number[]).slice();
      const n = prod(inShapes[0]);
      const free = target.indexOf(-1);
      if (free >= 0) target[free] = n / prod(target.filter((d) => d !== -1));
      if (prod(target) !== n || !Number.isInteger(target[free] ?? 0)) fail(node, `cannot reshape [${inShapes[0].join(', ')}] to [${(t as number[]).join(', ')}]`);
      return { ...base, outShape: target, weights: [], apply: (x) => tf.reshape(x[0], [x[0].shape[0], ...target]) };
    }
    case 'LayerNormalization': {
      need(node, inShapes, 1);
      const { eps, center, scale, weights } = lastAxisNorm(node, inShapes[0], trainable, 'last axis');
      return {
        ...base,
        outShape: inShapes[0],
        weights,
        apply: (x, w) => {
          const d = tf.sub(x[0], tf.mean(x[0], -1, true));
          let y = tf.mul(d, tf.rsqrt(tf.add(tf.mean(tf.mul(d, d), -1, true), eps)));
          if (scale) y = tf.mul(y, w('gamma'));
          if (center) y = tf.add(y, w('beta'));
          return y;
        },
      };
    }
    case 'GlobalMaxPooling2D': {
      need(node, inShapes, 1, 3);
      channelsLast(node);
      const keep = bool(node, 'keepdims', false);
      const c = inShapes[0][2];
      return { ...base, outShape: keep ? [1, 1, c] : [c], weights: [], apply: (x) => tf.max(x[0], [1, 2], keep) };
    }
    case 'LeakyReLU': {
      need(node, inShapes, 1);
      // Keras 2 / tfjs: alpha (default 0.3); Keras 3: negative_slope (default 0.3)
      const slope = num(node, node.config['negative_slope'] !== undefined ? 'negative_slope' : 'alpha', 0.3);
      return { ...base, outShape: inShapes[0], weights: [], apply: (x) => tf.leakyRelu(x[0], slope) };
    }
    case 'ELU': {
      need(node, inShapes, 1);
      const alpha = num(node, 'alpha', 1);
      return { ...base, outShape: inShapes[0], weights: [], apply: (x) => (alpha === 1 ? tf.elu(x[0]) : tf.where(tf.greater(x[0], 0), x[0], tf.mul(tf.sub(tf.exp(x[0]), 1), alpha))) };
    }
    default:
      return null;
  }
}
