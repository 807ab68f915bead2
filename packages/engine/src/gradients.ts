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
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';
import { maxPoolGather, type Pool2DSpec } from './pool.js';

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
  },
  {
    kernelName: tf.AvgPoolGrad,
    inputsToSave: ['input'],
    gradFunc: (ddx: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const [input] = saved as [tf.Tensor4D];
      const f = attrs['filterSize'] as [number, number] | number;
      const s = attrs['strides'] as [number, number] | number;
      const pad = attrs['pad'] as 'same' | 'valid';
      // AvgPoolGrad is linear in dy; its transpose is average pooling (exact for 'valid').
      return { dy: () => tf.avgPool(ddx as tf.Tensor4D, f, s, pad), input: () => tf.zerosLike(input) };
    },
  },
];

let registered = false;

/** Registers the missing gradients (no-op when already done, or when tfjs has its own). */
export function registerHigherOrderGradients(): string[] {
  const added: string[] = [];
  if (registered) return added;
  for (const c of configs) {
    if (tf.getGradient(c.kernelName) === undefined) {
      tf.registerGradient(c);
      added.push(c.kernelName);
    }
  }
  registered = true;
  return added;
}

/** Kernel names whose gradients this module supplies. */
export const HIGHER_ORDER_GRADIENT_KERNELS: readonly string[] = configs.map((c) => c.kernelName);

registerHigherOrderGradients();
