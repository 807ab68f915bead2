import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { available, reason, nativeKernelNames, threads, setThreads } from '../src/index.js';
import { assertSame, onBoth, randArray, randInt, rng } from './helpers.js';

const skip = available ? false : `native addon unavailable: ${reason ?? ''}`;
/** A tensor factory with fixed random contents (the same on every backend). */
const t = (shape: number[], r: () => number, lo = -1, hi = 1) => {
  const data = randArray(shape.reduce((a, b) => a * b, 1), r, lo, hi);
  return () => tf.tensor(data, shape);
};

test('addon is available where HESSIAN_NATIVE_REQUIRED is set', () => {
  if (process.env.HESSIAN_NATIVE_REQUIRED) assert.equal(available, true, reason);
});

test('module reports availability and threads', { skip }, () => {
  assert.equal(available, true);
  assert.ok(nativeKernelNames.includes('BatchMatMul'));
  assert.ok(nativeKernelNames.includes('Conv2DBackpropFilter'));
  const n0 = threads();
  setThreads(2);
  assert.equal(threads(), 2);
  setThreads(n0);
  assert.equal(threads(), n0);
  assert.throws(() => setThreads(0), RangeError);
  // every cpu kernel is registered for native
  const cpu = new Set(tf.getKernelsForBackend('cpu').map((k) => k.kernelName));
  const nat = new Set(tf.getKernelsForBackend('native').map((k) => k.kernelName));
  for (const k of cpu) assert.ok(nat.has(k), k);
});

const shapePairs: [number[], number[]][] = [
  [[3, 4], [3, 4]], [[2, 3, 4], [4]], [[2, 1, 4], [1, 3, 1]], [[5], []], [[], [2, 3]], [[1], [2, 3]],
  [[2, 3, 4, 5], [2, 1, 4, 1]], [[4, 1], [1, 6]], [[7, 8], [7, 1]], [[2, 3, 1, 5], [3, 4, 1]],
];

test('binary ops with broadcasting match cpu', { skip }, async () => {
  const r = rng(1);
  const ops: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, number, number][] = [
    ['add', tf.add, -1, 1], ['sub', tf.sub, -1, 1], ['mul', tf.mul, -1, 1], ['div', tf.div, 0.5, 2],
    ['maximum', tf.maximum, -1, 1], ['minimum', tf.minimum, -1, 1], ['squaredDifference', tf.squaredDifference, -1, 1],
    ['pow', tf.pow, 0.5, 2],
  ];
  for (const [sa, sb] of shapePairs) {
    for (const [name, f, lo, hi] of ops) {
      const a = randArray(sa.reduce((x, y) => x * y, 1), r, lo, hi);
      const b = randArray(sb.reduce((x, y) => x * y, 1), r, lo, hi);
      await assertSame(`${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`, () => f(tf.tensor(a, sa), tf.tensor(b, sb)));
      await assertSame(`${name} swapped`, () => f(tf.tensor(b, sb), tf.tensor(a, sa)));
    }
  }
});

test('comparisons match cpu exactly', { skip }, async () => {
  const r = rng(2);
  const ops = [tf.equal, tf.notEqual, tf.greater, tf.greaterEqual, tf.less, tf.lessEqual];
  for (const [sa, sb] of shapePairs) {
    // values on a coarse grid so that equality happens
    const a = randArray(sa.reduce((x, y) => x * y, 1), r, 0, 4).map(Math.floor);
    const b = randArray(sb.reduce((x, y) => x * y, 1), r, 0, 4).map(Math.floor);
    for (const f of ops) {
      const { cpu, native } = await onBoth(() => f(tf.tensor(a, sa), tf.tensor(b, sb)));
      assert.deepEqual(Array.from(native[0]), Array.from(cpu[0]), `${f.name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`);
    }
  }
});

test('unary ops match cpu', { skip }, async () => {
  const r = rng(3);
  const shape = [3, 5, 7];
  const x = randArray(105, r, -3, 3);
  x[0] = 0; x[1] = -0;
  const pos = randArray(105, r, 0.1, 4);
  const ops: [string, (v: tf.Tensor) => tf.Tensor, Float32Array][] = [
    ['neg', tf.neg, x], ['exp', tf.exp, x], ['log', tf.log, pos], ['sqrt', tf.sqrt, pos], ['rsqrt', tf.rsqrt, pos],
    ['square', tf.square, x], ['relu', tf.relu, x], ['step', (v) => tf.step(v), x], ['step0.3', (v) => tf.step(v, 0.3), x],
    ['abs', tf.abs, x], ['sigmoid', tf.sigmoid, x], ['tanh', tf.tanh, x], ['reciprocal', tf.reciprocal, pos],
    ['relu6', tf.relu6, randArray(105, r, -8, 8)], ['elu', tf.elu, x], ['log1p', tf.log1p, pos],
    ['leakyRelu', (v) => tf.leakyRelu(v, 0.1), x], ['sign', tf.sign, x],
  ];
  for (const [name, f, data] of ops) await assertSame(name, () => f(tf.tensor(data, shape)));
  // NaN propagation
  await assertSame('relu NaN', () => tf.relu(tf.tensor([NaN, -1, 2])));
  await assertSame('step NaN', () => tf.step(tf.tensor([NaN, -1, 2])));
});

test('reductions match cpu over random axes', { skip }, async () => {
  const r = rng(4);
  const ops: [string, (x: tf.Tensor, axis: number[] | undefined, keep: boolean) => tf.Tensor][] = [
    ['sum', tf.sum], ['max', tf.max], ['min', tf.min], ['mean', tf.mean], ['prod', tf.prod],
  ];
  for (let trial = 0; trial < 12; trial++) {
    const rank = randInt(r, 1, 4);
    const shape = Array.from({ length: rank }, () => randInt(r, 1, 6));
    const axes = [...Array(rank).keys()].filter(() => r() < 0.5);
    const axis = r() < 0.15 ? undefined : axes;
    const keep = r() < 0.5;
    const data = randArray(shape.reduce((a, b) => a * b, 1), r, 0.5, 1.5);
    for (const [name, f] of ops) {
      await assertSame(`${name} ${JSON.stringify(shape)} axis ${JSON.stringify(axis)} keep ${keep}`, () => f(tf.tensor(data, shape), axis, keep));
    }
  }
  const big = t([256, 300], r);
  await assertSame('sum large axis 0', () => tf.sum(big(), 0));
  await assertSame('sum large axis 1', () => tf.sum(big(), 1));
});

test('matMul with transposes, batches and fused bias/activation matches cpu', { skip }, async () => {
  const r = rng(5);
  for (let trial = 0; trial < 16; trial++) {
    const m = randInt(r, 1, 17), n = randInt(r, 1, 17), k = randInt(r, 1, 17);
    const tA = r() < 0.5, tB = r() < 0.5;
    const bs = randInt(r, 1, 3);
    const bA = r() < 0.3 ? 1 : bs, bB = r() < 0.3 ? 1 : bs;
    const aShape = [bA, ...(tA ? [k, m] : [m, k])], bShape = [bB, ...(tB ? [n, k] : [k, n])];
    const ad = randArray(aShape.reduce((x, y) => x * y, 1), r), bd = randArray(bShape.reduce((x, y) => x * y, 1), r);
    const a2 = trial % 2 === 0 && bA === 1 ? aShape.slice(1) : aShape;
    const b2 = trial % 2 === 0 && bB === 1 ? bShape.slice(1) : bShape;
    await assertSame(`matMul ${JSON.stringify(a2)} ${JSON.stringify(b2)} ${tA} ${tB}`,
      () => tf.matMul(tf.tensor(ad, a2), tf.tensor(bd, b2), tA, tB));
    const bias = randArray(n, r);
    for (const activation of ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu'] as const) {
      await assertSame(`fused ${activation}`, () => tf.fused.matMul({
        a: tf.tensor(ad, a2), b: tf.tensor(bd, b2), transposeA: tA, transposeB: tB, bias: tf.tensor(bias, [n]), activation,
      }));
    }
  }
  const m1 = t([2, 3, 4, 5], r), m2 = t([2, 3, 5, 2], r);
  await assertSame('4d batch', () => tf.matMul(m1(), m2()));
  await assertSame('int32 falls back to cpu', () => tf.matMul(tf.tensor2d([[1, 2], [3, 4]], undefined, 'int32'), tf.tensor2d([[5], [6]], undefined, 'int32')));
});

test('conv2d forward, input and filter gradients match cpu (strides, paddings, dilations)', { skip }, async () => {
  const r = rng(6);
  for (let trial = 0; trial < 24; trial++) {
    const N = randInt(r, 1, 3), H = randInt(r, 4, 11), W = randInt(r, 4, 11), C = randInt(r, 1, 4), O = randInt(r, 1, 5);
    const fH = randInt(r, 1, 4), fW = randInt(r, 1, 4);
    const s = randInt(r, 1, 3);
    const strides: [number, number] = r() < 0.5 ? [s, s] : [s, randInt(r, 1, 2)];
    const dil = trial % 3 === 0 ? randInt(r, 1, 2) : 1;
    const dilations: [number, number] = [dil, dil];
    const pk = trial % 4;
    const pad: 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]] =
      pk === 0 ? 'same' : pk === 1 ? 'valid'
        : [[0, 0], [randInt(r, 0, 2), randInt(r, 0, 2)], [randInt(r, 0, 2), randInt(r, 0, 2)], [0, 0]];
    if (dil > 1 && (strides[0] > 1 || strides[1] > 1)) { strides[0] = 1; strides[1] = 1; }
    const effH = (fH - 1) * dil + 1, effW = (fW - 1) * dil + 1;
    if (pad === 'valid' && (effH > H || effW > W)) continue;
    const x = randArray(N * H * W * C, r), w = randArray(fH * fW * C * O, r);
    const label = `conv N${N} ${H}x${W}x${C} f${fH}x${fW}x${O} s${strides} d${dil} pad ${JSON.stringify(pad)}`;
    await assertSame(label, () => tf.conv2d(tf.tensor4d(x, [N, H, W, C]), tf.tensor4d(w, [fH, fW, C, O]), strides, pad, 'NHWC', dilations));
    if (dil === 1) {
      const y = tf.tidy(() => tf.conv2d(tf.tensor4d(x, [N, H, W, C]), tf.tensor4d(w, [fH, fW, C, O]), strides, pad));
      const dy = randArray(y.size, r);
      const yShape = y.shape as [number, number, number, number];
      y.dispose();
      await assertSame(`${label} grads`, () => {
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, pad), tf.tensor4d(dy, yShape))));
        return g([tf.tensor4d(x, [N, H, W, C]), tf.tensor4d(w, [fH, fW, C, O])]);
      });
    }
  }
  // 1x1 pointwise path
  const px = t([2, 5, 5, 3], r), pw = t([1, 1, 3, 4], r), tx = t([2, 4, 4, 3], r), tw = t([3, 3, 2, 3], r);
  await assertSame('pointwise conv', () => tf.conv2d(px() as tf.Tensor4D, pw() as tf.Tensor4D, 1, 'valid'));
  await assertSame('pointwise conv grads', () => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'valid'))))([px(), pw()]));
  await assertSame('conv2dTranspose', () => tf.conv2dTranspose(tx() as tf.Tensor4D, tw() as tf.Tensor4D, [2, 8, 8, 2], 2, 'same'));
});

test('pooling forward and gradients match cpu', { skip }, async () => {
  const r = rng(7);
  for (let trial = 0; trial < 12; trial++) {
    const N = randInt(r, 1, 2), H = randInt(r, 4, 9), W = randInt(r, 4, 9), C = randInt(r, 1, 3);
    const f = randInt(r, 1, 3), s = randInt(r, 1, 3);
    const pad = trial % 2 === 0 ? 'same' : 'valid';
    const x = randArray(N * H * W * C, r);
    if (trial % 3 === 0) for (let i = 0; i < x.length; i += 3) x[i] = 0; // ties
    const label = `pool N${N} ${H}x${W}x${C} f${f} s${s} ${pad}`;
    for (const pool of [tf.maxPool, tf.avgPool]) {
      await assertSame(`${pool.name} ${label}`, () => pool(tf.tensor4d(x, [N, H, W, C]), f, s, pad));
      const yShape = tf.tidy(() => pool(tf.tensor4d(x, [N, H, W, C]), f, s, pad)).shape;
      const wts = randArray(yShape.reduce((a, b) => a * b, 1), r);
      await assertSame(`${pool.name} grad ${label}`, () => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(pool(a as tf.Tensor4D, f, s, pad), tf.tensor(wts, yShape))))(tf.tensor4d(x, [N, H, W, C])));
    }
    await assertSame(`maxPoolWithArgmax ${label}`, () => {
      const o = tf.maxPoolWithArgmax(tf.tensor4d(x, [N, H, W, C]), f, s, pad === 'same' ? 'same' : 'valid', trial % 2 === 0);
      return [o.result, tf.cast(o.indexes, 'float32')];
    });
  }
});

test('transpose, addN, select, cast, gather match cpu', { skip }, async () => {
  const r = rng(8);
  for (const [shape, perm] of [[[2, 3, 4], [2, 0, 1]], [[5, 6], [1, 0]], [[2, 3, 4, 5], [0, 2, 1, 3]], [[3, 1, 4], [1, 2, 0]]] as [number[], number[]][]) {
    const x = randArray(shape.reduce((a, b) => a * b, 1), r);
    await assertSame(`transpose ${perm}`, () => tf.transpose(tf.tensor(x, shape), perm));
  }
  const a = randArray(24, r), b = randArray(24, r), c = randArray(24, r);
  await assertSame('addN', () => tf.addN([tf.tensor(a, [4, 6]), tf.tensor(b, [4, 6]), tf.tensor(c, [4, 6])]));
  await assertSame('where', () => tf.where(tf.greater(tf.tensor(a, [4, 6]), 0), tf.tensor(b, [4, 6]), tf.tensor(c, [4, 6])));

  await assertSame('cast bool', () => tf.cast(tf.greater(tf.tensor(a, [4, 6]), 0), 'float32'));
  await assertSame('cast int32', () => tf.cast(tf.tensor1d([1, -2, 3], 'int32'), 'float32'));
  const idx = tf.tensor1d([3, 0, 2, 2, 1], 'int32').dataSync();
  await assertSame('gather axis 0', () => tf.gather(tf.tensor(a, [4, 6]), tf.tensor1d(idx, 'int32')));
  await assertSame('gather axis 1', () => tf.gather(tf.tensor(a, [4, 6]), tf.tensor1d(idx, 'int32'), 1));
  await assertSame('int32 add falls back', () => tf.add(tf.tensor1d([1, 2], 'int32'), tf.tensor1d([3, 4], 'int32')));
});

test('softmax is the cpu kernel bit for bit (rows of 1, 10 and 1000, rank 1 to 3, large and -Infinity logits, NaN); its gradient matches', { skip }, async () => {
  assert.ok(nativeKernelNames.includes('Softmax'));
  const r = rng(11);
  const cases: [number[], number, number][] = [[[10], -3, 3], [[256, 10], -20, 20], [[4, 3, 1000], -5, 5], [[7, 1], -1, 1], [[3, 5], 80, 100]];
  for (const [shape, lo, hi] of cases) {
    const data = randArray(shape.reduce((a, b) => a * b, 1), r, lo, hi);
    const { cpu, native } = await onBoth(() => tf.softmax(tf.tensor(data, shape)));
    assert.deepEqual(Array.from(native[0]), Array.from(cpu[0]), `softmax ${JSON.stringify(shape)}`);
  }
  const special = [1, -Infinity, 2, NaN, 0, 0, -Infinity, 3, 88, -88, 1e-30, 5];
  const { cpu, native } = await onBoth(() => tf.softmax(tf.tensor(special, [3, 4])));
  assert.deepEqual(Array.from(native[0]), Array.from(cpu[0]), 'softmax with -Infinity and NaN');
  const g = randArray(24, r, -1, 1);
  const x = randArray(24, r, -4, 4);
  await assertSame('softmax gradient', () => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.softmax(t), tf.tensor(g, [4, 6]))))(tf.tensor(x, [4, 6])), 1e-6);
});
