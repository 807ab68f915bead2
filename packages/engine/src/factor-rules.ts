/**
 * Layer rules of the extended backward pass (factor-pass.ts): where a layer's linear
 * output can take a perturbation (its gradient there, delta, is what backpropagation
 * carries), the per-example gradients of its parameters from its input and delta, and
 * whether the curvature after that point is piecewise linear (then the layer's Hessian
 * block equals its Gauss-Newton block).
 *
 * Per-example gradients, for one column c of the loss factor (rows n = examples):
 *   Dense   kernel[i, j] = sum_p a[n,p,i] delta[n,p,j]   bias[j] = sum_p delta[n,p,j]
 *   Conv2D  the same on unfolded patches a[n,p,(kh,kw,cin)] (im2col by an identity conv)
 *   BN      gamma[k] = sum_p delta[n,p,k] xhat[n,p,k]      beta[k] = sum_p delta[n,p,k]
 * (p runs over the positions that share the weights: 1 for a Dense layer on vectors.)
 */
import * as tf from '@tensorflow/tfjs-core';
import { activationName, isStripped, type CompiledLayer } from './layers.js';
import { padding, pair, prod } from './layer-config.js';

/** Layer classes (and aliases) whose output is piecewise linear in their input. */
const PIECEWISE_LINEAR = new Set([
  'InputLayer', 'Flatten', 'Dropout', 'SpatialDropout2D', 'GaussianDropout', 'GaussianNoise', 'AlphaDropout',
  'MaxPooling2D', 'MaxPool2D', 'AveragePooling2D', 'AvgPool2D', 'AveragePool2D',
  'GlobalAveragePooling2D', 'GlobalAvgPool2D', 'GlobalAveragePool2D', 'BatchNormalization', 'ReLU', 'Add', 'ZeroPadding2D',
]);
const PIECEWISE_LINEAR_ACTIVATIONS = new Set(['linear', 'relu', 'relu6']);

/** The activation a layer applies after its linear part ('linear' when none or stripped). */
export function layerActivation(c: CompiledLayer): string {
  if (isStripped(c)) return 'linear';
  const cls = c.node.className;
  if (cls === 'Dense' || cls === 'Conv2D' || cls === 'Convolution2D' || cls === 'Activation') return activationName(c.node).toLowerCase();
  if (cls === 'Softmax') return 'softmax';
  return 'linear';
}

/** Why the layer's map from input to output is not piecewise linear, or null when it is. */
export function smoothPart(c: CompiledLayer): string | null {
  const act = layerActivation(c);
  if (!PIECEWISE_LINEAR_ACTIVATIONS.has(act)) return `layer '${c.node.name}' applies ${act}, a smooth nonlinearity whose second derivative adds terms the Gauss-Newton block lacks`;
  const cls = c.node.className;
  if (cls === 'Dense' || cls === 'Conv2D' || cls === 'Convolution2D' || cls === 'Activation' || cls === 'Softmax') return null;
  if (!PIECEWISE_LINEAR.has(cls)) return `layer '${c.node.name}' (${cls}) is not known to be piecewise linear`;
  return null;
}

export type Injection = 'output' | 'bias' | 'beta';

export interface LayerRule {
  layer: CompiledLayer;
  /** where delta is taken: the layer's output (linear activation) or added through its bias/beta */
  inject: Injection;
  /** shape of delta (batch m first) */
  deltaShape(m: number): number[];
  /**
   * Per-example gradients of the layer's parameter `role` for one factor column:
   * [m, size of the tensor], from the layer's captured input data and delta.
   */
  perExample(role: string, input: LayerInput, delta: tf.Tensor): tf.Tensor2D;
  /**
   * Dense on vectors: sum_{n,c} kernel gradient^2 = (a^2)^T (sum_c delta_c^2), from the
   * squared deltas summed over the columns, without per-example gradients.
   */
  kernelSquares?(input: LayerInput, deltaSqSum: tf.Tensor): tf.Tensor;
}

/** What the pass keeps of a layer's input: [m, P, K] rows (patches or vectors), BN's xhat. */
export interface LayerInput {
  rows: tf.Tensor3D;
}

/** Identity kernel that unfolds (kh x kw x cin) patches, dilated by zero taps. */
function patchKernel(kh: number, kw: number, cin: number, d: [number, number]): tf.Tensor4D {
  const h = (kh - 1) * d[0] + 1;
  const w = (kw - 1) * d[1] + 1;
  const k = kh * kw * cin;
  const buf = new Float32Array(h * w * cin * k);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      for (let ci = 0; ci < cin; ci++) buf[((i * d[0] * w + j * d[1]) * cin + ci) * k + (i * kw + j) * cin + ci] = 1;
    }
  }
  return tf.tensor4d(buf, [h, w, cin, k]);
}

/** sum_p rows[n,p,:]^T delta[n,p,:] per example: [m, K * F]. */
function outerPerExample(rows: tf.Tensor3D, delta: tf.Tensor3D): tf.Tensor2D {
  const m = rows.shape[0];
  return tf.reshape(tf.matMul(rows, delta, true, false), [m, -1]) as tf.Tensor2D;
}

/** The rule for a layer with trainable parameters, or a sentence saying why there is none. */
export function layerRule(c: CompiledLayer, inShape: number[]): LayerRule | string {
  const cls = c.node.className;
  const roles = c.weights.filter((w) => w.trainable).map((w) => w.role);
  const linear = layerActivation(c) === 'linear';
  if (cls === 'Dense') {
    const units = c.outShape[c.outShape.length - 1];
    const inDim = inShape[inShape.length - 1];
    const p = prod(inShape.slice(0, -1));
    if (!linear && !roles.includes('bias')) return `layer '${c.node.name}' has a fused ${layerActivation(c)} and no bias to carry the backward pass`;
    const inject: Injection = linear ? 'output' : 'bias';
    return {
      layer: c,
      inject,
      deltaShape: (m) => (inject === 'bias' ? [m * p, units] : [m, ...c.outShape]),
      perExample: (role, input, delta) => {
        const d = tf.reshape(delta, [input.rows.shape[0], p, units]) as tf.Tensor3D;
        return role === 'kernel' ? outerPerExample(input.rows, d) : (tf.sum(d, 1) as tf.Tensor2D);
      },
      kernelSquares:
        p !== 1
          ? undefined
          : (input, deltaSqSum) => {
              const a = tf.reshape(input.rows, [input.rows.shape[0], inDim]) as tf.Tensor2D;
              return tf.matMul(tf.square(a), tf.reshape(deltaSqSum, [-1, units]) as tf.Tensor2D, true, false);
            },
    };
  }
  if (cls === 'Conv2D' || cls === 'Convolution2D') {
    if (!linear && !roles.includes('bias')) return `layer '${c.node.name}' has a fused ${layerActivation(c)} and no bias to carry the backward pass`;
    const f = c.outShape[2];
    const p = c.outShape[0] * c.outShape[1];
    return {
      layer: c,
      inject: linear ? 'output' : 'bias',
      deltaShape: (m) => [m, ...c.outShape],
      perExample: (role, input, delta) => {
        const d = tf.reshape(delta, [input.rows.shape[0], p, f]) as tf.Tensor3D;
        return role === 'kernel' ? outerPerExample(input.rows, d) : (tf.sum(d, 1) as tf.Tensor2D);
      },
    };
  }
  if (cls === 'BatchNormalization') {
    const ch = c.outShape[c.outShape.length - 1];
    const p = prod(c.outShape.slice(0, -1));
    return {
      layer: c,
      inject: 'output',
      deltaShape: (m) => [m, ...c.outShape],
      perExample: (role, input, delta) => {
        const d = tf.reshape(delta, [input.rows.shape[0], p, ch]);
        return (role === 'gamma' ? tf.sum(tf.mul(d, input.rows), 1) : tf.sum(d, 1)) as tf.Tensor2D;
      },
    };
  }
  return `layer '${c.node.name}' (${cls}) has parameters the backward pass has no rule for`;
}

/**
 * The rows a rule needs from a layer's input x [m, ...inShape] (inside tf.tidy):
 * Dense: [m, P, in]; Conv2D: unfolded patches [m, P, kh*kw*cin]; BN: xhat [m, P, ch].
 */
export function layerRows(c: CompiledLayer, x: tf.Tensor, weight: (role: string) => tf.Tensor): tf.Tensor3D {
  const m = x.shape[0];
  const cls = c.node.className;
  if (cls === 'Dense') {
    const inDim = x.shape[x.rank - 1];
    return tf.reshape(x, [m, -1, inDim]) as tf.Tensor3D;
  }
  if (cls === 'BatchNormalization') {
    const eps = typeof c.node.config['epsilon'] === 'number' ? (c.node.config['epsilon'] as number) : 1e-3;
    const xhat = tf.mul(tf.sub(x, weight('moving_mean')), tf.rsqrt(tf.add(weight('moving_variance'), eps)));
    return tf.reshape(xhat, [m, -1, x.shape[x.rank - 1]]) as tf.Tensor3D;
  }
  const k = weight('kernel').shape as [number, number, number, number];
  const d = pair(c.node, 'dilation_rate', [1, 1]);
  const s = pair(c.node, 'strides', [1, 1]);
  const pad = padding(c.node);
  const eye = patchKernel(k[0], k[1], k[2], d);
  const patches = tf.conv2d(x as tf.Tensor4D, eye, s, pad);
  return tf.reshape(patches, [m, -1, k[0] * k[1] * k[2]]) as tf.Tensor3D;
}
