/**
 * Second-order exactness of every ONNX operator the engine interprets: tiny graphs written by
 * onnx-builder.ts, explicit Hessian (one product per column) symmetric and equal to the
 * operator, central finite differences of the gradient, and every layer block.
 */
import { test, describe, before, after } from 'node:test';
import type { Scalar, Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { initBackend, modelFromFileBytes } from '../src/index.js';
import { buildOnnx, type GraphSpec } from './onnx-builder.js';
import { randomBatch, randomVector, relErr, exactCase, exactHessianTests, type ExactCase } from './helpers.js';

/** Depthwise (multiplier 2) + BN + LeakyRelu + grouped conv + padded max pool + Pad + AveragePool + Sigmoid + Concat + SAME conv + GAP + Flatten. */
const CONVS: GraphSpec = {
  input: [2, 6, 6],
  output: 'logits',
  seed: 3,
  nodes: [
    { op: 'Conv', inputs: ['x', 'dw.weight'], outputs: ['a'], attrs: { group: 2, kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
    { op: 'BatchNormalization', inputs: ['a', 'bn.weight', 'bn.bias', 'bn.mean', 'bn.var'], outputs: ['b'], attrs: { epsilon: 1e-5 } },
    { op: 'LeakyRelu', inputs: ['b'], outputs: ['c'], attrs: { alpha: 0.1 } },
    { op: 'Conv', inputs: ['c', 'g.weight', 'g.bias'], outputs: ['d'], attrs: { group: 2, kernel_shape: [1, 1] } },
    { op: 'MaxPool', inputs: ['d'], outputs: ['e'], attrs: { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1] } },
    { op: 'Pad', inputs: ['e', 'pads'], outputs: ['f'] },
    { op: 'AveragePool', inputs: ['f'], outputs: ['g'], attrs: { kernel_shape: [2, 2], count_include_pad: 1 } },
    { op: 'Sigmoid', inputs: ['g'], outputs: ['h'] },
    { op: 'Concat', inputs: ['g', 'h'], outputs: ['i'], attrs: { axis: 1 } },
    { op: 'Conv', inputs: ['i', 'head.weight', 'head.bias'], outputs: ['j'], attrs: { kernel_shape: [1, 1], strides: [2, 2], auto_pad: 'SAME_UPPER' } },
    { op: 'GlobalAveragePool', inputs: ['j'], outputs: ['k'] },
    { op: 'Flatten', inputs: ['k'], outputs: ['logits'] },
  ],
  floats: {
    'dw.weight': { dims: [4, 1, 3, 3] },
    'bn.weight': { dims: [4], offset: 1, scale: 0.2 },
    'bn.bias': { dims: [4], scale: 0.1 },
    'bn.mean': { dims: [4], scale: 0.2 },
    'bn.var': { dims: [4], values: [0.6, 1.2, 0.9, 1.5] },
    'g.weight': { dims: [4, 2, 1, 1] },
    'g.bias': { dims: [4], scale: 0.1 },
    'head.weight': { dims: [3, 8, 1, 1] },
    'head.bias': { dims: [3], scale: 0.1 },
  },
  ints: { pads: { dims: [8], values: [0, 0, 1, 1, 0, 0, 0, 0] } },
};

/** Transpose + torch's flatten pattern (Shape, Gather, Unsqueeze, Concat, Reshape) + MatMul/Add + Tanh + Gemm + GELU as Div/Erf/Add/Mul/Mul + Sub/Mul/Div + mid-graph Softmax + Gemm + Identity/Dropout + final Softmax. */
const DENSE: GraphSpec = {
  input: [2, 3, 3],
  output: 'probs',
  seed: 5,
  nodes: [
    { op: 'Transpose', inputs: ['x'], outputs: ['t'], attrs: { perm: [0, 2, 3, 1] } },
    { op: 'Shape', inputs: ['t'], outputs: ['s'] },
    { op: 'Constant', inputs: [], outputs: ['zero'], attrs: { value: { tensor: { dims: [], ints: [0] } } } },
    { op: 'Gather', inputs: ['s', 'zero'], outputs: ['n'], attrs: { axis: 0 } },
    { op: 'Unsqueeze', inputs: ['n', 'axes0'], outputs: ['n1'] },
    { op: 'Concat', inputs: ['n1', 'minus1'], outputs: ['shape'], attrs: { axis: 0 } },
    { op: 'Reshape', inputs: ['t', 'shape'], outputs: ['flat'] },
    { op: 'MatMul', inputs: ['flat', 'fc1.weight'], outputs: ['m'] },
    { op: 'Add', inputs: ['m', 'fc1.bias'], outputs: ['m1'] },
    { op: 'Tanh', inputs: ['m1'], outputs: ['a'] },
    { op: 'Gemm', inputs: ['a', 'fc2.weight', 'fc2.bias'], outputs: ['b'], attrs: { transB: 1 } },
    { op: 'Div', inputs: ['b', 'sqrt2'], outputs: ['g1'] },
    { op: 'Erf', inputs: ['g1'], outputs: ['g2'] },
    { op: 'Add', inputs: ['g2', 'one'], outputs: ['g3'] },
    { op: 'Mul', inputs: ['b', 'g3'], outputs: ['g4'] },
    { op: 'Mul', inputs: ['g4', 'half'], outputs: ['gelu'] },
    { op: 'Sub', inputs: ['gelu', 'shift'], outputs: ['u'] },
    { op: 'Mul', inputs: ['u', 'u'], outputs: ['u2'] },
    { op: 'Div', inputs: ['u2', 'three'], outputs: ['u3'] },
    { op: 'Softmax', inputs: ['u3'], outputs: ['sm'], attrs: { axis: -1 } },
    { op: 'Identity', inputs: ['sm'], outputs: ['id'] },
    { op: 'Dropout', inputs: ['id'], outputs: ['dr'] },
    { op: 'Gemm', inputs: ['dr', 'fc3.weight', 'fc3.bias'], outputs: ['z'], attrs: { alpha: 2 } },
    { op: 'Softmax', inputs: ['z'], outputs: ['probs'], attrs: { axis: 1 } },
  ],
  floats: {
    'fc1.weight': { dims: [18, 6] },
    'fc1.bias': { dims: [6], scale: 0.1 },
    'fc2.weight': { dims: [5, 6] },
    'fc2.bias': { dims: [5], scale: 0.1 },
    sqrt2: { dims: [], values: [Math.SQRT2] },
    one: { dims: [], values: [1] },
    half: { dims: [], values: [0.5] },
    shift: { dims: [5], scale: 0.3 },
    three: { dims: [], values: [3] },
    'fc3.weight': { dims: [5, 3], scale: 2 },
    'fc3.bias': { dims: [3], scale: 0.1 },
  },
  ints: { axes0: { dims: [1], values: [0] }, minus1: { dims: [1], values: [-1] } },
};

/** Slice (constant inputs, on NHWC and NCHW values) + Conv + LayerNormalization (scale, bias: parameters) + Tanh + ReduceMean (NCHW and NHWC, keepdims 0 and 1) + Flatten + Concat + Gemm. */
const NORM: GraphSpec = {
  input: [2, 3, 4],
  output: 'logits',
  seed: 7,
  opset: 17,
  nodes: [
    { op: 'Slice', inputs: ['x', 'one', 'big', 'axis2'], outputs: ['a'] },
    { op: 'Conv', inputs: ['a', 'c1.weight', 'c1.bias'], outputs: ['b'], attrs: { kernel_shape: [1, 1] } },
    { op: 'Slice', inputs: ['b', 'minus2', 'big', 'axis1'], outputs: ['b2'] },
    { op: 'LayerNormalization', inputs: ['b2', 'ln.weight', 'ln.bias'], outputs: ['c'], attrs: { axis: -1, epsilon: 1e-5 } },
    { op: 'Tanh', inputs: ['c'], outputs: ['d'] },
    { op: 'ReduceMean', inputs: ['d'], outputs: ['e'], attrs: { axes: [2, 3], keepdims: 0 } },
    { op: 'ReduceMean', inputs: ['b2'], outputs: ['f'], attrs: { axes: [2, 3], keepdims: 1 } },
    { op: 'Flatten', inputs: ['f'], outputs: ['g'] },
    { op: 'Concat', inputs: ['e', 'g'], outputs: ['h'], attrs: { axis: 1 } },
    { op: 'Gemm', inputs: ['h', 'fc.weight', 'fc.bias'], outputs: ['logits'], attrs: { transB: 1 } },
  ],
  floats: {
    'c1.weight': { dims: [3, 2, 1, 1] },
    'c1.bias': { dims: [3], scale: 0.1 },
    'ln.weight': { dims: [4], offset: 1, scale: 0.2 },
    'ln.bias': { dims: [4], scale: 0.1 },
    'fc.weight': { dims: [3, 4] },
    'fc.bias': { dims: [3], scale: 0.1 },
  },
  ints: { one: { dims: [1], values: [1] }, minus2: { dims: [1], values: [-2] }, big: { dims: [1], values: [1000] }, axis1: { dims: [1], values: [1] }, axis2: { dims: [1], values: [2] } },
};

for (const [name, spec, groups] of [['convs', CONVS, ['dw/Conv', 'bn/BatchNormalization', 'g/Conv', 'head/Conv']], ['dense', DENSE, ['fc1/MatMul', 'fc2/Gemm', 'fc3/Gemm']], ['norm', NORM, ['c1/Conv', 'ln/LayerNormalization', 'fc/Gemm']]] as const) {
  describe(`ONNX operators at second order: ${name}`, () => {
    let c: ExactCase;

    before(async () => {
      await initBackend('cpu');
      const named = { ...spec, nodes: spec.nodes.map((nd, i) => ({ ...nd, name: nd.inputs[1]?.includes('.weight') ? `/${nd.inputs[1].split('.')[0]}/${nd.op}` : `/${nd.op}_${i}` })) };
      const model = modelFromFileBytes(buildOnnx(named), `${name}.onnx`);
      c = await exactCase(model, randomBatch(model, 4, 17));
    });
    after(() => {
      c.engine.dispose();
      c.model.dispose();
    });

    test('parameters are grouped by their consuming node, in node order', () => {
      assert.deepEqual(c.model.groups('layer').map((g) => g.name), groups);
      if (name === 'dense') assert.match(c.model.notes.join(' '), /final softmax .* stripped/);
    });

    exactHessianTests(() => c, { operator: [101], fd: 7, block: 200 });
  });
}

describe('LayerNormalization, ReduceMean and Slice compute what ONNX says', () => {
  test('x[..., 1:] normalized over the last axis, scaled, shifted, averaged over H and W', async () => {
    await initBackend('cpu');
    const gamma = [1.5, -0.5];
    const beta = [0.25, -1];
    const spec: GraphSpec = {
      input: [2, 2, 3],
      output: 'y',
      opset: 17,
      nodes: [
        { op: 'Slice', inputs: ['x', 'one', 'big', 'axis3'], outputs: ['a'], name: '/Slice' },
        { op: 'LayerNormalization', inputs: ['a', 'ln.weight', 'ln.bias'], outputs: ['b'], attrs: { axis: -1, epsilon: 1e-5 }, name: '/ln/LayerNormalization' },
        { op: 'ReduceMean', inputs: ['b'], outputs: ['y'], attrs: { axes: [2, 3], keepdims: 0 }, name: '/ReduceMean' },
      ],
      floats: { 'ln.weight': { dims: [2], values: gamma }, 'ln.bias': { dims: [2], values: beta } },
      ints: { one: { dims: [1], values: [1] }, big: { dims: [1], values: [9e15] }, axis3: { dims: [1], values: [3] } },
    };
    const model = modelFromFileBytes(buildOnnx(spec), 'ln.onnx');
    assert.deepEqual(model.params.map((p) => [p.name, p.origin?.name]), [['ln/LayerNormalization/gamma', 'ln.weight'], ['ln/LayerNormalization/beta', 'ln.bias']]);
    const nchw = Array.from(randomVector(2 * 2 * 2 * 3, 31));
    // the engine's input is NHWC
    const nhwc = new Float32Array(nchw.length);
    for (let b = 0; b < 2; b++) for (let c = 0; c < 2; c++) for (let h = 0; h < 2; h++) for (let w = 0; w < 3; w++) nhwc[((b * 2 + h) * 3 + w) * 2 + c] = nchw[((b * 2 + c) * 2 + h) * 3 + w];
    const { tf } = await import('../src/index.js');
    const x = tf.tensor(nhwc, [2, 2, 3, 2]);
    const got = tf.tidy(() => model.forward(model.paramTensors(), x).dataSync());
    const want: number[] = [];
    for (let b = 0; b < 2; b++)
      for (let c = 0; c < 2; c++) {
        let acc = 0;
        for (let h = 0; h < 2; h++) {
          const row = [1, 2].map((w) => nchw[((b * 2 + c) * 2 + h) * 3 + w]);
          const mean = (row[0] + row[1]) / 2;
          const sd = Math.sqrt(((row[0] - mean) ** 2 + (row[1] - mean) ** 2) / 2 + 1e-5);
          acc += row.reduce((s, v, w) => s + ((v - mean) / sd) * gamma[w] + beta[w], 0);
        }
        want.push(acc / 4);
      }
    assert.ok(relErr(got, want) < 1e-5, `${Array.from(got)} vs ${want}`);
    x.dispose();
    model.dispose();
  });
});

describe('ONNX load errors are one sentence naming what to change', () => {
  const good = buildOnnx({ ...DENSE });
  const err = (bytes: Uint8Array, re: RegExp): void => {
    assert.throws(() => modelFromFileBytes(bytes, 'm.onnx'), (e: Error) => e.name === 'UserError' && re.test(e.message) && !e.message.includes('\n'));
  };
  before(async () => {
    await initBackend('cpu');
  });

  test('an unsupported operator names the operator and the node', () => {
    const spec: GraphSpec = { ...DENSE, nodes: DENSE.nodes.map((nd) => (nd.op === 'Tanh' ? { ...nd, op: 'Softsign', name: '/act/Softsign' } : nd)) };
    err(buildOnnx(spec), /ONNX node '\/act\/Softsign' .* uses operator Softsign, which the engine does not support/);
  });

  test('a truncated or corrupt file is refused', () => {
    for (const cut of [10, Math.floor(good.length / 2), good.length - 3]) err(good.subarray(0, cut), /truncated or corrupt/);
    err(new TextEncoder().encode('{"modelTopology": {}}'), /truncated or corrupt/);
    err(new Uint8Array(64).fill(0xff), /truncated or corrupt/);
  });

  test('NaN weights are refused naming the initializer', () => {
    const nan: GraphSpec = { ...DENSE, floats: { ...DENSE.floats, 'fc2.bias': { dims: [5], values: [0, NaN, 0, 0, 0] } } };
    err(buildOnnx(nan), /Weight 'fc2.bias' .* contains NaN/);
  });
});

describe('depthwise convolution: the block-diagonal conv form equals the slice form', () => {
  test('forward, gradient and a second derivative agree (stride 2, padding, multiplier 2)', async () => {
    await initBackend('cpu');
    const { depthwiseConv2d, depthwiseBySlices } = await import('../src/depthwise.js');
    const { tf } = await import('../src/index.js');
    const x = tf.tensor(randomVector(2 * 7 * 7 * 3, 1), [2, 7, 7, 3]) as Tensor4D;
    const k = tf.tensor(randomVector(3 * 3 * 3 * 2, 2), [3, 3, 3, 2]) as Tensor4D;
    const u = tf.tensor(randomVector(3 * 3 * 3 * 2, 3), [3, 3, 3, 2]);
    const spec = { strides: [2, 2] as [number, number], pads: [1, 0, 1, 1] as [number, number, number, number], dilation: [1, 1] as [number, number] };
    const probe = (f: typeof depthwiseConv2d): Float32Array[] => {
      const loss = (kk: Tensor): Scalar => tf.sum(tf.tanh(f(x, kk as Tensor4D, spec)));
      const y = f(x, k, spec).dataSync() as Float32Array;
      const g = tf.grad(loss)(k).dataSync() as Float32Array;
      const hu = tf.grad((kk: Tensor) => tf.sum(tf.mul(tf.grad(loss)(kk), u)))(k).dataSync() as Float32Array;
      return [y, g, hu];
    };
    const a = probe(depthwiseConv2d);
    const b = probe(depthwiseBySlices);
    for (let i = 0; i < 3; i++) assert.ok(relErr(a[i], b[i]) < 1e-5, `part ${i}: ${relErr(a[i], b[i])}`);
  });
});
