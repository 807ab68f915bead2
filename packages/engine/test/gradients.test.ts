import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf, maxPool2d, avgPool2d, conv2dIm2col, softmaxCrossEntropy, HIGHER_ORDER_GRADIENT_KERNELS, registerHigherOrderGradients } from '../src/index.js';
import { relErr } from './helpers.js';
import { Rng } from '@hessian/linalg';

before(async () => {
  await initBackend('cpu');
});

function rand(shape: number[], seed: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(new Rng(seed).gaussian(n), shape);
}

/** Hessian-vector product of scalar f at x along v, by double backprop. */
function hvp(f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor, v: tf.Tensor): Float32Array {
  return tf.tidy(() => tf.grad((y: tf.Tensor) => tf.sum(tf.mul(tf.grad(f)(y), v)) as tf.Scalar)(x).dataSync() as Float32Array);
}

/** Central finite difference of the gradient along v (float32: eps 1e-2, tolerance 1e-3). */
function fd(f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor, v: tf.Tensor, eps = 1e-2): Float64Array {
  const gp = tf.tidy(() => tf.grad(f)(tf.add(x, tf.mul(v, eps)))).dataSync();
  const gm = tf.tidy(() => tf.grad(f)(tf.sub(x, tf.mul(v, eps)))).dataSync();
  return Float64Array.from(gp, (g, i) => (g - gm[i]) / (2 * eps));
}

test('registration is idempotent and names the kernels it covers', () => {
  assert.deepEqual(registerHigherOrderGradients(), []);
  for (const k of ['Conv2DBackpropFilter', 'Equal', 'MaxPoolGrad', 'AvgPoolGrad', 'Exp', 'Softmax']) {
    assert.ok(HIGHER_ORDER_GRADIENT_KERNELS.includes(k), k);
    assert.ok(tf.getGradient(k), `gradient for ${k}`);
  }
});

test('second derivatives through ops whose tfjs gradients read the saved output', () => {
  const x = rand([2, 5], 1);
  const v = rand([2, 5], 2);
  const w = rand([2, 5], 3);
  const fns: Record<string, (t: tf.Tensor) => tf.Scalar> = {
    exp: (t) => tf.sum(tf.mul(tf.exp(tf.mul(t, 0.5)), w)),
    tanh: (t) => tf.sum(tf.mul(tf.tanh(t), w)),
    sigmoid: (t) => tf.sum(tf.mul(tf.sigmoid(t), w)),
    softmax: (t) => tf.sum(tf.mul(tf.softmax(t), w)),
    elu: (t) => tf.sum(tf.mul(tf.elu(t), w)),
    pow: (t) => tf.sum(tf.mul(tf.pow(tf.add(tf.abs(t), 1), 3), w)),
    logSumExp: (t) => tf.sum(tf.mul(tf.logSumExp(t, 1), tf.tensor1d([0.7, -1.3]))),
    crossEntropy: (t) => softmaxCrossEntropy(t as tf.Tensor2D, tf.oneHot(tf.tensor1d([1, 4], 'int32'), 5, 1, 0, 'float32') as tf.Tensor2D),
  };
  for (const [name, f] of Object.entries(fns)) {
    const e = relErr(hvp(f, x, v), fd(f, x, v));
    assert.ok(e < 1e-3, `${name}: HVP vs finite differences ${e}`);
  }
});

test('tf.losses.softmaxCrossEntropy loses second-order terms (the gap our loss avoids)', () => {
  const x = rand([2, 5], 1);
  const v = rand([2, 5], 2);
  const y = tf.oneHot(tf.tensor1d([1, 4], 'int32'), 5, 1, 0, 'float32');
  const theirs = (t: tf.Tensor): tf.Scalar => tf.losses.softmaxCrossEntropy(y, t) as tf.Scalar;
  let broken = false;
  try {
    broken = relErr(hvp(theirs, x, v), fd(theirs, x, v)) > 1e-2;
  } catch {
    broken = true; // throws instead of returning a wrong answer: also a gap
  }
  assert.ok(broken, 'tfjs softmaxCrossEntropy now supports second order: the workaround may be revisited');
});

test('convolution: double backprop through tf.conv2d (Conv2DBackpropFilter gradient) and im2col agree with finite differences', () => {
  const x = rand([2, 7, 7, 3], 4);
  const vx = rand([2, 7, 7, 3], 5);
  const k = rand([3, 3, 3, 4], 6);
  const vk = rand([3, 3, 3, 4], 7);
  const wOut = (shape: number[]): tf.Tensor => rand(shape, 8);
  for (const [strides, pad] of [[1, 'same'], [2, 'same'], [2, 'valid']] as [number, 'same' | 'valid'][]) {
    const y0 = tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, strides, pad);
    const r = wOut(y0.shape);
    const viaKernel = (kk: tf.Tensor): tf.Scalar => tf.sum(tf.mul(tf.square(tf.conv2d(x as tf.Tensor4D, kk as tf.Tensor4D, strides, pad)), r));
    const viaIm2col = (kk: tf.Tensor): tf.Scalar => tf.sum(tf.mul(tf.square(conv2dIm2col(x as tf.Tensor4D, kk as tf.Tensor4D, [strides, strides], pad, [1, 1])), r));
    const a = hvp(viaKernel, k, vk);
    const b = hvp(viaIm2col, k, vk);
    const f = fd(viaKernel, k, vk);
    assert.ok(relErr(a, f) < 1e-3, `kernel conv ${strides}/${pad}: ${relErr(a, f)}`);
    assert.ok(relErr(b, a) < 1e-4, `im2col vs kernel ${strides}/${pad}: ${relErr(b, a)}`);
    // mixed input/filter curvature: d/dx of <dL/dk, vk>
    const mixed = (xx: tf.Tensor): tf.Scalar => tf.sum(tf.mul(tf.grad((kk: tf.Tensor) => tf.sum(tf.mul(tf.square(tf.conv2d(xx as tf.Tensor4D, kk as tf.Tensor4D, strides, pad)), r)) as tf.Scalar)(k), vk));
    const m = tf.tidy(() => tf.grad(mixed)(x).dataSync());
    const mf = ((): number => {
      const e = 1e-2;
      const g = (xx: tf.Tensor): Float32Array => tf.grad((kk: tf.Tensor) => tf.sum(tf.mul(tf.square(tf.conv2d(xx as tf.Tensor4D, kk as tf.Tensor4D, strides, pad)), r)) as tf.Scalar)(k).dataSync() as Float32Array;
      // directional check: <d mixed/dx, vx> = d/de <dL/dk(x + e vx), vk>
      const gp = g(tf.add(x, tf.mul(vx, e)));
      const gm = g(tf.sub(x, tf.mul(vx, e)));
      const vkv = vk.dataSync();
      let s = 0;
      for (let i = 0; i < gp.length; i++) s += ((gp[i] - gm[i]) / (2 * e)) * vkv[i];
      return s;
    })();
    const vxv = vx.dataSync();
    let dot = 0;
    for (let i = 0; i < m.length; i++) dot += m[i] * vxv[i];
    assert.ok(Math.abs(dot - mf) < 1e-3 * Math.max(1, Math.abs(mf)), `mixed conv curvature ${strides}/${pad}: ${dot} vs ${mf}`);
  }
});

test('second-order-safe pooling equals tfjs pooling forward and first-order (valid padding)', () => {
  const x = rand([2, 6, 7, 3], 9);
  for (const [k, s, pad] of [[2, 2, 'valid'], [3, 1, 'same'], [3, 2, 'same'], [2, 1, 'valid']] as [number, number, 'same' | 'valid'][]) {
    const spec = { pool: [k, k] as [number, number], strides: [s, s] as [number, number], padding: pad };
    assert.ok(relErr(maxPool2d(x as tf.Tensor4D, spec).dataSync(), tf.maxPool(x as tf.Tensor4D, k, s, pad).dataSync()) < 1e-7, `max ${k}/${s}/${pad}`);
    assert.ok(relErr(avgPool2d(x as tf.Tensor4D, spec).dataSync(), tf.avgPool(x as tf.Tensor4D, k, s, pad).dataSync()) < 1e-6, `avg ${k}/${s}/${pad}`);
    const r = rand(tf.maxPool(x as tf.Tensor4D, k, s, pad).shape, 10);
    const g1 = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(maxPool2d(t as tf.Tensor4D, spec), r)) as tf.Scalar)(x).dataSync();
    const g2 = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, k, s, pad), r)) as tf.Scalar)(x).dataSync();
    assert.ok(relErr(g1, g2) < 1e-6, `max grad ${k}/${s}/${pad}`);
    if (pad === 'valid') {
      const a1 = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(avgPool2d(t as tf.Tensor4D, spec), r)) as tf.Scalar)(x).dataSync();
      const a2 = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(t as tf.Tensor4D, k, s, pad), r)) as tf.Scalar)(x).dataSync();
      assert.ok(relErr(a1, a2) < 1e-6, `avg grad ${k}/${s}/${pad}`);
    }
  }
});

test('second order through tf.maxPool / tf.avgPool via the registered MaxPoolGrad / AvgPoolGrad gradients', () => {
  const x = rand([1, 6, 6, 2], 11);
  const v = rand([1, 6, 6, 2], 12);
  const r = rand([1, 3, 3, 2], 13);
  const f = (t: tf.Tensor): tf.Scalar => tf.sum(tf.mul(tf.square(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')), r)) as tf.Scalar;
  assert.ok(relErr(hvp(f, x, v), fd(f, x, v, 1e-3)) < 1e-3);
  const g = (t: tf.Tensor): tf.Scalar => tf.sum(tf.mul(tf.square(tf.avgPool(t as tf.Tensor4D, 2, 2, 'valid')), r)) as tf.Scalar;
  assert.ok(relErr(hvp(g, x, v), fd(g, x, v)) < 1e-3);
});
