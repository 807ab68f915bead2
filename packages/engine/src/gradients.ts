/**
 * Registers the higher-order gradients that tfjs-core 4.22 lacks, so that double (and
 * triple) backprop through the models of this package works. Idempotent: a kernel that
 * already has a gradient (from tfjs, or from an earlier import of this module) is left alone.
 *
 * Gaps found (see README.md):
 *  - Conv2DBackpropFilter: no gradient, so conv nets fail at the second backward pass.
 *  - Equal / NotEqual / Greater / Less / LessEqual: no gradient; Max/Min reductions (and so
 *    tf.max inside logSumExp) use a cast(equal(x, y)) mask whose gradient is needed.
 *  - MaxPoolGrad, AvgPoolGrad: no gradient (the interpreter uses pool.ts instead; these are
 *    for code that calls tf.maxPool / tf.avgPool directly).
 *  - Gradients that use the kernel's saved OUTPUT (Exp, Tanh, Sigmoid, Softmax, Elu, Pow):
 *    the engine saves a clone of the output whose tape node is recorded before the node
 *    that produces the output, so the second backward pass finds no path through it and
 *    silently drops that term (d2/dx2 sum(exp(x)) even throws "Cannot compute gradient").
 *    These are re-registered (overriding tfjs's) to recompute the output from the input.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone registers no gradients: the tfjs-layers (and @tensorflow/tfjs) bundles
// register tfjs's gradient set when imported. Import it first so ours come after.
import '@tensorflow/tfjs-layers';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';
import { maxPoolGather, type Pool2DSpec } from './pool.js';
import './cpu-kernels.js';

function pair(v: unknown): [number, number] {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length >= 2) return [Number(v[0]), Number(v[1])];
  throw new Error(`expected a number or a pair, got ${JSON.stringify(v)}`);
}

function poolSpec(attrs: NamedAttrMap): Pool2DSpec {
  const pad = attrs['pad'];
  if (pad !== 'same' && pad !== 'valid') {
    throw new Error(`second-order pooling gradient supports pad 'same' or 'valid', got ${JSON.stringify(pad)}`);
  }
  return { pool: pair(attrs['filterSize']), strides: pair(attrs['strides']), padding: pad as 'same' | 'valid' };
}

type Conv2DPad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

function zeroGrad(kernelName: string): GradConfig {
  return {
    kernelName,
    inputsToSave: ['a', 'b'],
    gradFunc: (_dy: Tensor | Tensor[], saved: Tensor[]) => {
      const [a, b] = saved;
      return { a: () => tf.zerosLike(a), b: () => tf.zerosLike(b) };
    },
  };
}

const configs: GradConfig[] = [
  {
    kernelName: tf.Conv2DBackpropFilter,
    inputsToSave: ['x', 'dy'],
    gradFunc: (ddw: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const [x, dy] = saved as [tf.Tensor4D, tf.Tensor4D];
      const strides = attrs['strides'] as [number, number] | number;
      const pad = attrs['pad'] as Conv2DPad;
      const dataFormat = (attrs['dataFormat'] as 'NHWC' | 'NCHW' | undefined) ?? 'NHWC';
      const rounding = attrs['dimRoundingMode'] as 'floor' | 'round' | 'ceil' | undefined;
      const w = ddw as tf.Tensor4D;
      if (dataFormat !== 'NHWC') throw new Error('second-order Conv2DBackpropFilter supports NHWC only');
      return {
        // dW = conv2DBackpropFilter(x, dy) is bilinear: d<ddw, dW>/dx = conv2DBackpropInput(dy, ddw),
        // d<ddw, dW>/ddy = conv2d(x, ddw).
        x: () => tf.conv2dTranspose(dy, w, x.shape, strides, pad as 'same', rounding),
        dy: () => tf.conv2d(x, w, strides, pad as 'same', dataFormat, 1, rounding),
      };
    },
  },
  zeroGrad(tf.Equal),
  zeroGrad(tf.NotEqual),
  zeroGrad(tf.Greater),
  zeroGrad(tf.GreaterEqual),
  zeroGrad(tf.Less),
  zeroGrad(tf.LessEqual),
  {
    kernelName: tf.AvgPoolGrad,
    inputsToSave: ['input'],
    gradFunc: (ddx: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const [input] = saved as [tf.Tensor4D];
      const f = attrs['filterSize'] as [number, number] | number;
      const s = attrs['strides'] as [number, number] | number;
      const pad = attrs['pad'] as 'same' | 'valid';
      // AvgPoolGrad is linear in dy; its transpose is average pooling (exact for 'valid';
      // cpu's and native's AvgPoolGrad are wrong at 'same' borders anyway, see pool.ts).
      return { dy: () => tf.avgPool(ddx as tf.Tensor4D, f, s, pad), input: () => tf.zerosLike(input) };
    },
  },
];

/**
 * MaxPoolGrad's gradient, always ours (it replaces @hessian/native's opt-in copy): the
 * interpreter's fast pooling path relies on its tie rule matching the kernels' (first
 * maximum), and it uses the backend's MaxPoolWithArgmax where that is verified (pool.ts).
 */
const maxPoolGradGradient: GradConfig = {
  kernelName: tf.MaxPoolGrad,
  inputsToSave: ['dy', 'input', 'output'],
  gradFunc: (ddx: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [, input, output] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
    const spec = poolSpec(attrs);
    return {
      dy: () => maxPoolGather(input, ddx as tf.Tensor4D, spec),
      input: () => tf.zerosLike(input),
      output: () => tf.zerosLike(output),
    };
  },
};

/**
 * Sum's and Mean's gradients, as tfjs's (dy broadcast back over the reduced axes by a
 * product with ones) but with the ones made by the backend (onesLike) instead of
 * tf.ones(shape), which fills a JavaScript array and uploads it: on webgpu that upload was
 * a third of an HVP's time (74 of 217 ms, lenet batch 1024 on an H200), since the pooling
 * windows' sums are large. Same numbers on every backend.
 */
function expandedDy(dy: Tensor, x: Tensor, axis: unknown): Tensor {
  const axes = tf.util.parseAxisParam(axis as number | number[], x.shape);
  const shape = x.shape.slice();
  for (const a of axes) shape[a] = 1;
  return tf.reshape(dy, shape);
}
const reductionGradients: GradConfig[] = [
  {
    kernelName: tf.Sum,
    inputsToSave: ['x'],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const [x] = saved;
      return { x: () => tf.mul(expandedDy(dy as Tensor, x, attrs['axis']), tf.onesLike(x)) };
    },
  },
  {
    kernelName: tf.Mean,
    inputsToSave: ['x'],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const [x] = saved;
      const axes = tf.util.parseAxisParam(attrs['axis'] as number | number[], x.shape);
      const reduceSize = axes.reduce((a, ax) => a * x.shape[ax], 1);
      return { x: () => tf.div(tf.mul(expandedDy(dy as Tensor, x, attrs['axis']), tf.onesLike(x)), reduceSize) };
    },
  },
];

/** Replacements for tfjs gradients that read saved outputs (see the header), MaxPoolGrad's, Sum's and Mean's. */
const recomputing: GradConfig[] = [
  maxPoolGradGradient,
  ...reductionGradients,
  {
    kernelName: tf.Exp,
    inputsToSave: ['x'],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
      const [x] = saved;
      return { x: () => tf.mul(dy as Tensor, tf.exp(x)) };
    },
  },
  {
    kernelName: tf.Tanh,
    inputsToSave: ['x'],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
      const [x] = saved;
      return { x: () => tf.mul(dy as Tensor, tf.sub(1, tf.square(tf.tanh(x)))) };
    },
  },
  {
    kernelName: tf.Sigmoid,
    inputsToSave: ['x'],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
      const [x] = saved;
      return {
        x: () => {
          const s = tf.sigmoid(x);
          return tf.mul(dy as Tensor, tf.mul(s, tf.sub(1, s)));
        },
      };
    },
  },
  {
    kernelName: tf.Softmax,
    inputsToSave: ['logits'],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const [logits] = saved;
      const dim = attrs['dim'] as number;
      return {
        logits: () => {
          const y = tf.softmax(logits, dim);
          const dyy = tf.mul(dy as Tensor, y);
          return tf.sub(dyy, tf.mul(tf.sum(dyy, [dim], true), y));
        },
      };
    },
  },
  {
    kernelName: tf.Elu,
    inputsToSave: ['x'],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
      const [x] = saved;
      // elu'(x) = 1 for x > 0, exp(x) otherwise (alpha = 1 in tfjs)
      return { x: () => tf.mul(dy as Tensor, tf.where(tf.greater(x, 0), tf.onesLike(x), tf.exp(tf.minimum(x, 0)))) };
    },
  },
  {
    kernelName: tf.Pow,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
      const [a, b] = saved;
      const d = dy as Tensor;
      const outShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
      const reduceTo = (t: Tensor, shape: number[]): Tensor => {
        const axes = tf.broadcast_util.getReductionAxes(shape, outShape);
        return tf.reshape(axes.length > 0 ? tf.sum(t, axes) : t, shape);
      };
      return {
        a: () => {
          const bf = tf.cast(b, 'float32');
          return reduceTo(tf.mul(d, tf.mul(bf, tf.pow(a, tf.sub(bf, 1)))), a.shape);
        },
        b: () => {
          const logA = tf.where(tf.greater(a, 0), tf.log(a), tf.zerosLike(a));
          return reduceTo(tf.mul(d, tf.mul(tf.pow(a, b), logA)), b.shape);
        },
      };
    },
  },
];

/**
 * Registers the missing gradients and the output-recomputing replacements. Idempotent;
 * safe to call again after something re-registers tfjs's own set (importing
 * @tensorflow/tfjs or tfjs-node does), which would silently undo the replacements.
 * Returns the kernel names (re-)registered by this call.
 */
export function registerHigherOrderGradients(): string[] {
  const added: string[] = [];
  for (const c of configs) {
    if (tf.getGradient(c.kernelName) === undefined) {
      tf.registerGradient(c);
      added.push(c.kernelName);
    }
  }
  for (const c of recomputing) {
    if (tf.getGradient(c.kernelName) !== c) {
      tf.registerGradient(c);
      added.push(c.kernelName);
    }
  }
  return added;
}

/** Kernel names whose gradients this module supplies. */
export const HIGHER_ORDER_GRADIENT_KERNELS: readonly string[] = [...configs, ...recomputing].map((c) => c.kernelName);

registerHigherOrderGradients();
