/**
 * The Hessian-trace regularizer: its value against v^T H_ll v from the engine's exact block
 * operator, its gradient (third-order autodiff) against finite differences of its value,
 * and the layer sets.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { HessianEngine, initBackend, loadModel, tf, type Model } from '@hessian/engine';
import { Rng } from '@hessian/linalg';
import { drawProbes, flattenGrads, objective, parseLayerSet, regularizerValue, selectBlocks, type HtrBlock, type ObjectiveInput, type Probes } from '../src/index.js';
import { disposeInput, dot, randomInput, smoothDerivative } from './helpers.js';

before(async () => {
  await initBackend('cpu');
});

async function engineReg(model: Model, input: ObjectiveInput, blocks: HtrBlock[], probes: Probes, convention: 'layer' | 'weights-only'): Promise<number> {
  const n = input.x.shape[0];
  const batch = { x: input.x.dataSync() as Float32Array, shape: input.x.shape, labels: Int32Array.from(tf.argMax(input.y, 1).dataSync()), numClasses: model.outputSize };
  const eng = new HessianEngine(model, batch);
  assert.equal(eng.n, n);
  let total = 0;
  for (const [bi, b] of blocks.entries()) {
    const op = eng.operator('hessian', { kind: 'group', group: b.name, convention });
    assert.equal(op.dim, b.size);
    let s = 0;
    for (const v of probes[bi]) s += dot(v, await op.matvec(v));
    total += s / probes[bi].length;
  }
  eng.dispose();
  return total;
}

/** grad of (CE + gamma reg) minus grad of CE = gamma * grad reg. */
async function regGradient(model: Model, input: ObjectiveInput, blocks: HtrBlock[], probes: Probes): Promise<{ reg: number; grad: Float32Array }> {
  const r = await objective(model, input, { blocks, probes, gamma: 1 });
  const g = await flattenGrads(model, r.grads);
  tf.dispose(r.grads);
  const c = await objective(model, input);
  const gc = await flattenGrads(model, c.grads);
  tf.dispose(c.grads);
  assert.ok(Math.abs(r.loss - c.loss) < 1e-6, 'the loss does not depend on the regularizer');
  return { reg: r.reg as number, grad: g.map((x, i) => x - gc[i]) };
}

for (const [name, convention] of [
  ['tiny-mlp', 'layer'],
  ['tiny-cnn', 'layer'],
  ['tiny-cnn', 'weights-only'],
] as const) {
  describe(`HTR on zoo:${name} (${convention})`, () => {
    test('value equals sum_l (1/K) sum_k v^T H_ll v from the engine operator', async () => {
      const model = await loadModel(`zoo:${name}`);
      const input = randomInput(model, 8, 1);
      for (const dist of ['rademacher', 'gaussian'] as const) {
        const blocks = selectBlocks(model, { select: 'all' }, convention);
        const probes = drawProbes(blocks, 3, dist, new Rng(7));
        const ours = await regularizerValue(model, input, blocks, probes);
        const ref = await engineReg(model, input, blocks, probes, convention);
        assert.ok(Math.abs(ours - ref) <= 1e-4 * Math.abs(ref) + 1e-5, `${dist}: ${ours} vs engine ${ref}`);
        // the objective reports the same value
        const r = await objective(model, input, { blocks, probes, gamma: 0.5 });
        tf.dispose(r.grads);
        assert.ok(Math.abs((r.reg as number) - ours) <= 1e-5 * Math.abs(ours));
      }
      disposeInput(input);
      model.dispose();
    });

    test('gradient equals finite differences of the value along random directions (fixed probes)', async () => {
      const model = await loadModel(`zoo:${name}`);
      const input = randomInput(model, 8, 2);
      const blocks = selectBlocks(model, { select: 'all' }, convention);
      const probes = drawProbes(blocks, 2, 'rademacher', new Rng(3));
      const { grad } = await regGradient(model, input, blocks, probes);
      const theta = model.getFlatParams();
      // one direction over all parameters, and one within each of the first and last blocks
      const dirs: { label: string; d: Float32Array }[] = [{ label: 'all parameters', d: new Rng(11).gaussian(theta.length) }];
      for (const b of [blocks[0], blocks[blocks.length - 1]]) {
        const d = new Float32Array(theta.length);
        const r = new Rng(12);
        for (const t of b.tensors) for (let j = 0; j < t.size; j++) d[t.offset + j] = r.normal();
        dirs.push({ label: `block ${b.name}`, d });
      }
      for (const { label, d } of dirs) {
        const f = async (s: number): Promise<number> => {
          model.setFlatParams(theta.map((t, i) => t + s * d[i]));
          return await regularizerValue(model, input, blocks, probes);
        };
        const fd = await smoothDerivative(f);
        model.setFlatParams(theta);
        assert.ok(fd, `${label}: no window without a ReLU/max-pool kink`);
        const gd = dot(grad, d);
        assert.ok(Math.abs(gd - fd.value) <= 0.02 * Math.abs(fd.value) + 1e-3, `${label}: grad.d ${gd} vs finite differences ${fd.value} (h ${fd.h})`);
      }
      disposeInput(input);
      model.dispose();
    });
  });
}

describe('layer sets', () => {
  test('all, middle (parameter tensors floor(n/4)..floor(3n/4)), names, weights-only', async () => {
    const model = await loadModel('zoo:lenet');
    const names = (bs: HtrBlock[]): string[] => bs.map((b) => `${b.name}:${b.tensors.map((t) => t.role).join('+')}`);
    assert.deepEqual(names(selectBlocks(model, { select: 'all' }, 'layer')), ['conv1:kernel+bias', 'conv2:kernel+bias', 'fc1:kernel+bias', 'fc2:kernel+bias', 'fc3:kernel+bias']);
    // 10 tensors: 2..7 = conv2/kernel, conv2/bias, fc1/kernel, fc1/bias, fc2/kernel
    assert.deepEqual(names(selectBlocks(model, { select: 'middle' }, 'layer')), ['conv2:kernel+bias', 'fc1:kernel+bias', 'fc2:kernel']);
    // weights-only: 5 kernels: 1..3 = conv2, fc1
    assert.deepEqual(names(selectBlocks(model, { select: 'middle' }, 'weights-only')), ['conv2:kernel', 'fc1:kernel']);
    assert.deepEqual(names(selectBlocks(model, parseLayerSet('fc3, conv1'), 'layer')), ['conv1:kernel+bias', 'fc3:kernel+bias']);
    const all = selectBlocks(model, { select: 'all' }, 'weights-only');
    assert.equal(all.reduce((a, b) => a + b.size, 0), 150 + 2400 + 48000 + 10080 + 840);
    assert.throws(() => selectBlocks(model, parseLayerSet('conv1,pool1'), 'layer'), /unknown layer "pool1".*conv1, conv2, fc1, fc2, fc3/);
    assert.throws(() => parseLayerSet('conv1,,fc1'), /--htr-layers/);
    // tiny-mlp: 4 tensors, middle = tensors 1..2 = dense1/bias, dense2/kernel
    const tiny = await loadModel('zoo:tiny-mlp');
    assert.deepEqual(
      selectBlocks(tiny, { select: 'middle' }, 'layer').map((b) => b.tensors.map((t) => t.name)),
      [['dense1/bias'], ['dense2/kernel']],
    );
    tiny.dispose();
    model.dispose();
  });

  test('a middle block of a bias alone still equals the engine (regularizer restricted to the chosen tensors)', async () => {
    const model = await loadModel('zoo:tiny-mlp');
    const input = randomInput(model, 6, 4);
    const blocks = selectBlocks(model, { select: 'middle' }, 'layer');
    const probes = drawProbes(blocks, 2, 'rademacher', new Rng(1));
    // reference: v^T H v restricted to the block's tensors, via the full operator (v zero elsewhere)
    const batch = { x: input.x.dataSync() as Float32Array, shape: input.x.shape, labels: Int32Array.from(tf.argMax(input.y, 1).dataSync()), numClasses: model.outputSize };
    const eng = new HessianEngine(model, batch);
    const op = eng.operator('hessian', { kind: 'full' });
    let ref = 0;
    for (const [bi, b] of blocks.entries()) {
      for (const pv of probes[bi]) {
        const v = new Float32Array(model.paramCount);
        let o = 0;
        for (const t of b.tensors) {
          v.set(pv.subarray(o, o + t.size), t.offset);
          o += t.size;
        }
        ref += dot(v, await op.matvec(v)) / probes[bi].length;
      }
    }
    eng.dispose();
    const ours = await regularizerValue(model, input, blocks, probes);
    assert.ok(Math.abs(ours - ref) <= 1e-4 * Math.abs(ref) + 1e-6, `${ours} vs ${ref}`);
    disposeInput(input);
    model.dispose();
  });
});
