import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, loadModel, HessianEngine, tf, type Model, type Batch } from '../src/index.js';
import { randomBatch, randomVector, unit, matvec, relErr, transpose, subMatrix, indicesOf, fdHvp, exactCase, exactHessianTests, type ExactCase } from './helpers.js';

/** Explicit Jacobian of the logits [N*C, P] (row n*C + c), from one gradient per output. */
function explicitJacobian(model: Model, batch: Batch, cols: number[]): Float64Array {
  const n = batch.shape[0];
  const c = model.outputSize;
  const p = cols.length;
  const jac = new Float64Array(n * c * p);
  const x = tf.tensor(batch.x, batch.shape);
  const params = model.paramTensors();
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < c; k++) {
      const e = tf.buffer([n, c]);
      e.set(1, i, k);
      const sel = e.toTensor();
      const gs = tf.grads((...ps: tf.Tensor[]) => tf.sum(tf.mul(model.forward(ps, x), sel)) as tf.Scalar)(params);
      const flat = new Float64Array(model.paramCount);
      model.params.forEach((pt, t) => flat.set(gs[t].dataSync(), pt.offset));
      gs.forEach((g) => g.dispose());
      sel.dispose();
      for (let j = 0; j < p; j++) jac[(i * c + k) * p + j] = flat[cols[j]];
    }
  }
  x.dispose();
  return jac;
}

/** G = J^T H_out J, with H_out the closed-form Hessian of the mean loss in the logits. */
function explicitGaussNewton(model: Model, batch: Batch, loss: 'cross-entropy' | 'mse', cols: number[]): Float64Array {
  const n = batch.shape[0];
  const c = model.outputSize;
  const p = cols.length;
  const jac = explicitJacobian(model, batch, cols);
  const x = tf.tensor(batch.x, batch.shape);
  const logits = tf.tidy(() => model.forward(model.paramTensors(), x)).dataSync();
  x.dispose();
  const g = new Float64Array(p * p);
  for (let i = 0; i < n; i++) {
    // H_out for example i (c x c)
    const h = new Float64Array(c * c);
    if (loss === 'mse') {
      for (let k = 0; k < c; k++) h[k * c + k] = 2 / (n * c);
    } else {
      let mx = -Infinity;
      for (let k = 0; k < c; k++) mx = Math.max(mx, logits[i * c + k]);
      const e = Array.from({ length: c }, (_, k) => Math.exp(logits[i * c + k] - mx));
      const z = e.reduce((a, b) => a + b, 0);
      const pr = e.map((v) => v / z);
      for (let a = 0; a < c; a++) for (let b = 0; b < c; b++) h[a * c + b] = ((a === b ? pr[a] : 0) - pr[a] * pr[b]) / n;
    }
    // G += J_i^T h J_i
    for (let a = 0; a < c; a++) {
      for (let b = 0; b < c; b++) {
        const hab = h[a * c + b];
        if (hab === 0) continue;
        const ra = (i * c + a) * p;
        const rb = (i * c + b) * p;
        for (let u = 0; u < p; u++) {
          const ju = jac[ra + u] * hab;
          if (ju === 0) continue;
          for (let v = 0; v < p; v++) g[u * p + v] += ju * jac[rb + v];
        }
      }
    }
  }
  return g;
}

/**
 * Backends the exactness suite runs on: cpu always; native when built (its pooling and conv
 * kernels take the fast path); wasm for the conv-free fixture (auto picks it for MLPs).
 */
async function available(name: 'native' | 'wasm'): Promise<boolean> {
  try {
    await initBackend(name);
    return true;
  } catch {
    return false;
  }
}
const suites: [string, string][] = [
  ['cpu', 'tiny-mlp'],
  ['cpu', 'tiny-cnn'],
];
if (await available('native')) suites.push(['native', 'tiny-mlp'], ['native', 'tiny-cnn']);
if (await available('wasm')) suites.push(['wasm', 'tiny-mlp']);
await initBackend('cpu');

before(async () => {
  await initBackend('cpu');
});

for (const [backend, name] of suites) {
  describe(`exact curvature operators on ${name} (${backend})`, () => {
    let c: ExactCase;

    before(async () => {
      await initBackend(backend as 'cpu' | 'native' | 'wasm');
      assert.equal(tf.getBackend(), backend);
      const model = await loadModel(`zoo:${name}`, { seed: 3 });
      c = await exactCase(model, randomBatch(model, 6, 11));
    });
    after(() => {
      c.engine.dispose();
      c.model.dispose();
    });

    exactHessianTests(() => c, { operator: [100, 101, 102], fd: 7, block: 200 }, ['layer', 'weights-only']);

    test('Gauss-Newton operator equals J^T H_out J; residual equals H - G', async () => {
      const { model, batch, engine, H, n } = c;
      const all = Array.from({ length: n }, (_, i) => i);
      const G = explicitGaussNewton(model, batch, 'cross-entropy', all);
      assert.ok(relErr(G, transpose(G, n)) < 1e-6);
      const gn = engine.operator('gauss-newton', { kind: 'full' });
      const res = engine.operator('residual', { kind: 'full' });
      for (let s = 0; s < 2; s++) {
        const v = randomVector(n, 300 + s);
        const gv = await gn.matvec(v);
        const e = relErr(gv, matvec(G, n, v));
        assert.ok(e < 1e-5, `G v vs explicit: ${e}`);
        // G is positive semi-definite for cross-entropy.
        let vgv = 0;
        for (let i = 0; i < n; i++) vgv += v[i] * gv[i];
        assert.ok(vgv > -1e-6, `v^T G v = ${vgv}`);
        const hv = matvec(H, n, v);
        const rv = await res.matvec(v);
        const er = relErr(rv, hv.map((h, i) => h - gv[i]));
        assert.ok(er < 1e-4, `R v vs H v - G v: ${er}`);
      }
      // A layer block of G is G restricted to that layer (J with that layer's columns).
      const g0 = model.groups('layer')[0];
      const scope = { kind: 'group', group: g0.name, convention: 'layer' } as const;
      const idx = indicesOf(engine.scopeOffsets(scope));
      const Gb = subMatrix(G, n, idx);
      const v = randomVector(idx.length, 400);
      const e = relErr(await engine.operator('gauss-newton', scope).matvec(v), matvec(Gb, idx.length, v));
      assert.ok(e < 1e-5, `G block: ${e}`);
    });
  });
}

describe('mean squared error and micro-batches (tiny-mlp)', () => {
  before(async () => {
    await initBackend('cpu');
  });
  test('MSE: HVP matches finite differences and G matches J^T (2I/NC) J', async () => {
    const model = await loadModel('zoo:tiny-mlp', { seed: 5 });
    const batch = randomBatch(model, 5, 2);
    const engine = new HessianEngine(model, batch, { loss: 'mse' });
    const n = model.paramCount;
    const u = unit(randomVector(n, 9));
    const e = relErr(await engine.operator('hessian', { kind: 'full' }).matvec(u), await fdHvp(engine, u, 1e-3));
    assert.ok(e < 1e-2, `MSE HVP vs FD: ${e}`);
    const G = explicitGaussNewton(model, batch, 'mse', Array.from({ length: n }, (_, i) => i));
    const eg = relErr(await engine.operator('gauss-newton', { kind: 'full' }).matvec(u), matvec(G, n, u));
    assert.ok(eg < 1e-5, `MSE G v: ${eg}`);
    engine.dispose();
    model.dispose();
  });

  test('micro-batching sums chunk products weighted by size', async () => {
    const model = await loadModel('zoo:tiny-cnn', { seed: 1 });
    const batch = randomBatch(model, 10, 4);
    const whole = new HessianEngine(model, batch);
    const chunked = new HessianEngine(model, batch, { batchSize: 4 }); // chunks 4, 4, 2
    assert.ok(Math.abs((await whole.loss()) - (await chunked.loss())) < 1e-6);
    assert.ok(relErr(await chunked.gradient(), await whole.gradient()) < 1e-5);
    const v = randomVector(model.paramCount, 1);
    for (const kind of ['hessian', 'gauss-newton'] as const) {
      const a = await whole.operator(kind, { kind: 'full' }).matvec(v);
      const b = await chunked.operator(kind, { kind: 'full' }).matvec(v);
      assert.ok(relErr(b, a) < 1e-5, `${kind}: ${relErr(b, a)}`);
    }
    assert.equal(chunked.hvpCount, 2);
    whole.dispose();
    chunked.dispose();
    model.dispose();
  });

  test('unknown group and bad batch are user errors', async () => {
    const model = await loadModel('zoo:tiny-mlp');
    const batch = randomBatch(model, 3, 1);
    const engine = new HessianEngine(model, batch);
    assert.throws(() => engine.operator('hessian', { kind: 'group', group: 'nope', convention: 'layer' }), { name: 'UserError', message: /Layer 'nope'.*dense1, dense2/ });
    assert.throws(() => new HessianEngine(model, { ...batch, numClasses: 10 }), { name: 'UserError', message: /10 classes/ });
    assert.throws(() => new HessianEngine(model, { ...batch, shape: [3, 8] }), { name: 'UserError', message: /shape/ });
    engine.dispose();
    model.dispose();
  });
});

describe('memory', () => {
  before(async () => {
    await initBackend('cpu');
  });
  test('no tensor leaks: numTensors after 500 HVPs equals numTensors after 5', async () => {
    const model = await loadModel('zoo:tiny-mlp');
    const engine = new HessianEngine(model, randomBatch(model, 4, 1), { batchSize: 2 });
    const op = engine.operator('hessian', { kind: 'full' });
    const block = engine.operator('hessian', { kind: 'group', group: 'dense1', convention: 'weights-only' });
    const gn = engine.operator('gauss-newton', { kind: 'full' });
    const res = engine.operator('residual', { kind: 'group', group: 'dense2', convention: 'layer' });
    const v = randomVector(op.dim, 1);
    const vb = randomVector(block.dim, 2);
    const vr = randomVector(res.dim, 3);
    const round = async (): Promise<void> => {
      await op.matvec(v);
      await block.matvec(vb);
      await gn.matvec(v);
      await res.matvec(vr);
    };
    for (let i = 0; i < 5; i++) await round();
    await engine.loss();
    await engine.gradient();
    const after5 = tf.memory().numTensors;
    for (let i = 5; i < 500; i++) await op.matvec(v);
    for (let i = 0; i < 50; i++) await round();
    await engine.loss();
    await engine.gradient();
    assert.equal(tf.memory().numTensors, after5);
    engine.dispose();
    model.dispose();
  });
});
