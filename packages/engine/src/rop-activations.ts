/**
 * Activations of the R-op rules (rop-rules.ts): phi, phi' and phi'' in closed form from z
 * and y = phi(z), with the same definitions as the interpreter's (layer-config.ts) and the
 * same masks as tfjs's gradients for the piecewise-linear ones (ReLU: z > 0).
 */
import * as tf from '@tensorflow/tfjs-core';

export interface Act {
  fn(z: tf.Tensor): tf.Tensor;
  /** phi'(z) from z and y = phi(z); null = identity */
  d1(z: tf.Tensor, y: tf.Tensor): tf.Tensor | null;
  /** phi''(z); null = zero */
  d2(z: tf.Tensor, y: tf.Tensor): tf.Tensor | null;
}

/** Activations with cheap closed-form derivatives (tfjs's own masks for the piecewise-linear ones). */
export function actRule(name: string): Act | string {
  switch (name.toLowerCase()) {
    case 'linear':
      return { fn: (z) => z, d1: () => null, d2: () => null };
    case 'relu':
      return { fn: (z) => tf.relu(z), d1: (z) => tf.step(z), d2: () => null };
    case 'relu6':
      return { fn: (z) => tf.relu6(z), d1: (z) => tf.mul(tf.step(z), tf.cast(tf.lessEqual(z, 6), 'float32')), d2: () => null };
    case 'tanh':
      return { fn: (z) => tf.tanh(z), d1: (_z, y) => tf.sub(1, tf.square(y)), d2: (_z, y) => tf.mul(tf.mul(y, -2), tf.sub(1, tf.square(y))) };
    case 'sigmoid':
      return {
        fn: (z) => tf.sigmoid(z),
        d1: (_z, y) => tf.mul(y, tf.sub(1, y)),
        d2: (_z, y) => tf.mul(tf.mul(y, tf.sub(1, y)), tf.sub(1, tf.mul(y, 2))),
      };
    case 'elu':
      return eluRule(1);
    case 'softplus':
      return {
        fn: (z) => tf.softplus(z),
        d1: (z) => tf.sigmoid(z),
        d2: (z) => {
          const sg = tf.sigmoid(z);
          return tf.mul(sg, tf.sub(1, sg));
        },
      };
    case 'leaky_relu': // Keras 3's default slope, as layer-config.ts
      return { fn: (z) => tf.leakyRelu(z, 0.2), d1: (z) => tf.step(z, 0.2), d2: () => null };
    case 'swish':
    case 'silu':
      // y = z s(z): y' = s + z s (1 - s), y'' = s (1 - s) (2 + z (1 - 2 s))
      return {
        fn: (z) => tf.mul(z, tf.sigmoid(z)),
        d1: (z) => {
          const sg = tf.sigmoid(z);
          return tf.add(sg, tf.mul(tf.mul(z, sg), tf.sub(1, sg)));
        },
        d2: (z) => {
          const sg = tf.sigmoid(z);
          return tf.mul(tf.mul(sg, tf.sub(1, sg)), tf.add(2, tf.mul(z, tf.sub(1, tf.mul(sg, 2)))));
        },
      };
    case 'gelu': {
      // erf form (layer-config.ts): y = z Phi(z); y' = Phi(z) + z pdf(z), y'' = pdf(z) (2 - z^2)
      const pdf = (z: tf.Tensor): tf.Tensor => tf.mul(tf.exp(tf.mul(tf.square(z), -0.5)), 1 / Math.sqrt(2 * Math.PI));
      const cdf = (z: tf.Tensor): tf.Tensor => tf.mul(tf.add(tf.erf(tf.mul(z, Math.SQRT1_2)), 1), 0.5);
      return {
        fn: (z) => tf.mul(z, cdf(z)),
        d1: (z) => tf.add(cdf(z), tf.mul(z, pdf(z))),
        d2: (z) => tf.mul(pdf(z), tf.sub(2, tf.square(z))),
      };
    }
    default:
      return `activation '${name}' has no R-op rule`;
  }
}

/** ELU: y = z (z > 0), alpha (e^z - 1) else; y' = 1 or y + alpha, y'' = 0 or y + alpha (tfjs's mask: z > 0). */
export function eluRule(alpha: number): Act {
  const neg = (z: tf.Tensor, y: tf.Tensor): tf.Tensor => tf.where(tf.greater(z, 0), tf.onesLike(z), tf.add(y, alpha));
  return {
    fn: (z) => (alpha === 1 ? tf.elu(z) : tf.where(tf.greater(z, 0), z, tf.mul(tf.sub(tf.exp(z), 1), alpha))),
    d1: neg,
    d2: (z, y) => tf.where(tf.greater(z, 0), tf.zerosLike(z), tf.add(y, alpha)),
  };
}
