/**
 * Second-order-safe losses on logits, and the closed-form Hessians of the losses in the
 * logits (H_out) that the Gauss-Newton operator needs.
 *
 * tf.losses.softmaxCrossEntropy and tf.logSoftmax are built with tf.customGrad, whose
 * gradient is not itself differentiable: a Hessian through them silently loses the
 * curvature of the softmax. Here cross-entropy is logSumExp(logits) - logits[label], from
 * plain ops (max, sub, exp, sum, log), all with registered gradients.
 */
import * as tf from '@tensorflow/tfjs-core';
import './gradients.js';

export type LossName = 'cross-entropy' | 'mse';

/**
 * Sum over the examples of the per-example loss, divided by `denominator` (the size of
 * the whole batch, so that chunks of a batch add up to the mean loss of the batch).
 * For 'mse' the per-example loss is the mean over classes of (output - onehot)^2 (Keras).
 */
export function lossSum(loss: LossName, logits: tf.Tensor2D, oneHot: tf.Tensor2D, denominator: number): tf.Scalar {
  return tf.tidy(() => {
    if (loss === 'mse') {
      const c = logits.shape[1];
      return tf.div(tf.sum(tf.squaredDifference(logits, oneHot)), denominator * c) as tf.Scalar;
    }
    const lse = tf.logSumExp(logits, 1); // [N]
    const picked = tf.sum(tf.mul(logits, oneHot), 1); // [N]
    return tf.div(tf.sum(tf.sub(lse, picked)), denominator) as tf.Scalar;
  });
}

/** Mean softmax cross-entropy of logits [N, C] against one-hot targets [N, C]. */
export function softmaxCrossEntropy(logits: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Scalar {
  return lossSum('cross-entropy', logits, oneHot, logits.shape[0]);
}

/** Mean squared error of outputs [N, C] against one-hot targets, mean over N*C entries. */
export function meanSquaredError(outputs: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Scalar {
  return lossSum('mse', outputs, oneHot, outputs.shape[0]);
}

/**
 * H_out u: the Hessian of lossSum(loss, logits, y, denominator) in the logits, applied to
 * u [N, C], in closed form. Cross-entropy: per example (diag(p) - p p^T) u_n / denominator,
 * p = softmax(logits_n). MSE: 2 u / (denominator * C). Not differentiable on purpose
 * (it is a constant matrix for the Gauss-Newton product).
 */
export function outputHessianProduct(loss: LossName, logits: tf.Tensor2D, u: tf.Tensor2D, denominator: number, probs?: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    if (loss === 'mse') return tf.mul(u, 2 / (denominator * logits.shape[1])) as tf.Tensor2D;
    const p = probs ?? tf.softmax(logits);
    const pu = tf.mul(p, u);
    const dot = tf.sum(pu, 1, true);
    return tf.div(tf.sub(pu, tf.mul(p, dot)), denominator) as tf.Tensor2D;
  });
}
