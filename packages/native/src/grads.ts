import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, NamedAttrMap, Tensor, Tensor4D } from '@tensorflow/tfjs-core';

type Pad = 'valid' | 'same' | number;

/**
 * Registers the gradients tfjs 4.22 lacks for second-order (double backprop) work:
 * Conv2DBackpropFilter, MaxPoolGrad, and zero gradients for the comparisons.
 * Global (backend-independent) and opt-in: only kernels without a gradient are touched.
 * The engine may own its own copy; this one exists so that HVP tests and benchmarks here run.
 */
export function registerSecondOrderGradients(): string[] {
  const added: string[] = [];
  const add = (g: GradConfig) => {
    if (tf.getGradient(g.kernelName) == null) {
      tf.registerGradient(g);
      added.push(g.kernelName);
    }
  };
  add({
    kernelName: 'Conv2DBackpropFilter',
    inputsToSave: ['x', 'dy'],
    gradFunc: (ddw: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const [x, dy] = saved as Tensor4D[];
      const g = ddw as Tensor4D;
      const strides = attrs.strides as [number, number];
      const pad = attrs.pad as Pad;
      const rounding = attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined;
      return {
        x: () => tf.conv2dTranspose(dy, g, x.shape, strides, pad, rounding),
        dy: () => tf.conv2d(x, g, strides, pad, 'NHWC', 1, rounding),
      };
    },
  });
  add({
    kernelName: 'MaxPoolGrad',
    inputsToSave: ['input', 'output'],
    gradFunc: (ddx: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const [input, output] = saved as Tensor4D[];
      const g = ddx as Tensor;
      const filterSize = attrs.filterSize as [number, number];
      const strides = attrs.strides as [number, number];
      const pad = attrs.pad as 'valid' | 'same' | number;
      return {
        // maxPoolGrad is linear in dy (dx = P^T dy); its adjoint gathers ddx at each window's argmax.
        dy: () => {
          const { indexes } = tf.maxPoolWithArgmax(input, filterSize, strides, pad, true);
          return tf.reshape(tf.gather(tf.reshape(g, [-1]), tf.reshape(indexes, [-1])), indexes.shape);
        },
        input: () => tf.zerosLike(input),
        output: () => tf.zerosLike(output),
      };
    },
  });
  for (const name of ['Equal', 'NotEqual', 'Greater', 'Less', 'LessEqual']) {
    add({
      kernelName: name,
      inputsToSave: ['a', 'b'],
      gradFunc: (_dy: Tensor | Tensor[], saved: Tensor[]) => {
        const [a, b] = saved;
        return { a: () => tf.zerosLike(a), b: () => tf.zerosLike(b) };
      },
    });
  }
  return added;
}
