import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { available, reason, registerSecondOrderGradients } from '../src/index.js';
import { randArray, relErr, rng } from './helpers.js';

const skip = available ? false : `native addon unavailable: ${reason ?? ''}`;
registerSecondOrderGradients();

type Loss = (p: tf.Tensor[], x: tf.Tensor, y: tf.Tensor) => tf.Scalar;
interface Model { shapes: number[][]; xShape: number[]; classes: number; loss: Loss }

function ce(logits: tf.Tensor, y: tf.Tensor): tf.Scalar {
  const m = tf.max(logits, 1, true);
  const lse = tf.add(tf.log(tf.sum(tf.exp(tf.sub(logits, m)), 1, true)), m);
  return tf.mean(tf.sub(tf.reshape(lse, [-1]), tf.sum(tf.mul(y, logits), 1)));
}
const dense = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.add(tf.matMul(x, w), b);

const mlp: Model = {
  shapes: [[20, 12], [12], [12, 8], [8], [8, 3], [3]],
  xShape: [16, 20],
  classes: 3,
  loss: (p, x, y) => ce(dense(tf.relu(dense(tf.relu(dense(x, p[0], p[1])), p[2], p[3])), p[4], p[5]), y),
};
const convnet: Model = {
  shapes: [[3, 3, 2, 4], [4], [3, 3, 4, 5], [5], [5, 6], [6], [6, 3], [3]],
  xShape: [4, 10, 10, 2],
  classes: 3,
  loss: (p, x, y) => {
    const c1 = tf.relu(tf.add(tf.conv2d(x as tf.Tensor4D, p[0] as tf.Tensor4D, 1, 'same'), p[1])) as tf.Tensor4D;
    const h1 = tf.maxPool(c1, 2, 2, 'valid');
    const c2 = tf.relu(tf.add(tf.conv2d(h1, p[2] as tf.Tensor4D, [1, 1], 'valid'), p[3])) as tf.Tensor4D;
    const h2 = tf.reshape(tf.maxPool(c2, 2, 2, 'valid'), [x.shape[0], 5]);
    return ce(dense(tf.tanh(dense(h2, p[4], p[5])), p[6], p[7]), y);
  },
};

interface Data { params: Float32Array[]; v: Float32Array[]; x: Float32Array; y: Float32Array }
function data(m: Model, seed: number): Data {
  const r = rng(seed);
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const batch = m.xShape[0];
  const y = new Float32Array(batch * m.classes);
  for (let i = 0; i < batch; i++) y[i * m.classes + Math.floor(r() * m.classes)] = 1;
  return {
    params: m.shapes.map((s) => randArray(size(s), r, -0.6, 0.6)),
    v: m.shapes.map((s) => randArray(size(s), r)),
    x: randArray(size(m.xShape), r),
    y,
  };
}

function hvp(m: Model, d: Data): tf.Tensor[] {
  return tf.tidy(() => {
    const x = tf.tensor(d.x, m.xShape), y = tf.tensor(d.y, [m.xShape[0], m.classes]);
    const v = d.v.map((a, i) => tf.tensor(a, m.shapes[i]));
    const params = d.params.map((a, i) => tf.tensor(a, m.shapes[i]));
    return tf.grads((...p: tf.Tensor[]) => {
      const g = tf.grads((...q: tf.Tensor[]) => m.loss(q, x, y))(p);
      return tf.addN(g.map((gi, i) => tf.sum(tf.mul(gi, v[i])))) as tf.Scalar;
    })(params);
  });
}

async function compare(m: Model, label: string): Promise<void> {
  for (const seed of [1, 2, 3]) {
    const d = data(m, seed);
    const out: Record<string, Float32Array[]> = {};
    for (const be of ['cpu', 'native']) {
      await tf.setBackend(be);
      const h = hvp(m, d);
      out[be] = h.map((t) => t.dataSync() as Float32Array);
      tf.dispose(h);
    }
    out.cpu.forEach((c, i) => {
      const e = relErr(out.native[i], c);
      assert.ok(e <= 1e-5, `${label} seed ${seed} param ${i}: relative error ${e}`);
      assert.ok(c.some((z) => z !== 0), `${label}: HVP block ${i} is all zeros`);
    });
  }
}

test('double-backprop HVP of a small MLP equals cpu', { skip }, async () => {
  await compare(mlp, 'mlp');
});

test('double-backprop HVP of a small conv net (conv, relu, maxPool, tanh) equals cpu', { skip }, async () => {
  await compare(convnet, 'convnet');
});

test('no tensor or native-memory leak over 1000 HVPs', { skip }, async () => {
  await tf.setBackend('native');
  for (const [m, label] of [[mlp, 'mlp'], [convnet, 'convnet']] as const) {
    const d = data(m, 9);
    for (let i = 0; i < 100; i++) tf.dispose(hvp(m, d)); // warm-up
    const tensors = tf.memory().numTensors;
    const rss0 = process.memoryUsage().rss;
    for (let i = 0; i < 1000; i++) tf.dispose(hvp(m, d));
    const grown = (process.memoryUsage().rss - rss0) / 2 ** 20;
    assert.equal(tf.memory().numTensors, tensors, `${label}: tensor count grew`);
    assert.ok(grown < 48, `${label}: RSS grew by ${grown.toFixed(1)} MiB over 1000 HVPs`);
  }
});
