/**
 * Block products from a cached front (block-forward.ts) are the same numbers as block
 * products that run the whole network: bit for bit, for every layer block of models with
 * a chain (lenet), a DAG with skip connections and BN (tiny-cnn, resnet-mini) and
 * micro-batches; and equal to the full-network product restricted to the block.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, loadModel, HessianEngine, tf, type OperatorKind, type Convention } from '../src/index.js';
import { randomBatch, randomVector, relErr } from './helpers.js';

before(async () => {
  await initBackend('cpu');
});

const cases: { name: string; n: number; batchSize?: number; kinds: OperatorKind[]; conventions: Convention[] }[] = [
  { name: 'tiny-cnn', n: 6, batchSize: 4, kinds: ['hessian', 'gauss-newton', 'residual'], conventions: ['layer', 'weights-only'] },
  { name: 'lenet', n: 8, kinds: ['hessian', 'gauss-newton'], conventions: ['layer', 'weights-only'] },
  { name: 'resnet-mini', n: 2, kinds: ['hessian'], conventions: ['layer'] },
];

for (const c of cases) {
  describe(`block products from a cached front: ${c.name}`, () => {
    test('bitwise equal to the whole-network block products, every group and convention', async () => {
      const model = await loadModel(`zoo:${c.name}`, { seed: 5 });
      const batch = randomBatch(model, c.n, 7);
      const start = tf.memory().numTensors;
      const fast = new HessianEngine(model, batch, { batchSize: c.batchSize });
      const ref = new HessianEngine(model, batch, { batchSize: c.batchSize, blockForward: false });
      const before = tf.memory().numTensors;
      let checked = 0;
      for (const convention of c.conventions) {
        for (const g of model.groups(convention)) {
          for (const kind of c.kinds) {
            const scope = { kind: 'group' as const, group: g.name, convention };
            const a = fast.operator(kind, scope);
            const b = ref.operator(kind, scope);
            for (let s = 0; s < (c.name === 'resnet-mini' ? 1 : 2); s++) {
              const v = randomVector(a.dim, 31 + s);
              const ya = await a.matvec(v);
              const yb = await b.matvec(v);
              assert.deepEqual(ya, yb, `${kind} ${convention} ${g.name} probe ${s}`);
              checked++;
            }
          }
        }
      }
      assert.ok(checked >= 4);
      // The fronts are kept (one set per block and chunk), nothing else leaks per product.
      const kept = tf.memory().numTensors - before;
      const again = fast.operator(c.kinds[0], { kind: 'group', group: model.groups('layer')[1].name, convention: 'layer' });
      await again.matvec(randomVector(again.dim, 1));
      assert.equal(tf.memory().numTensors - before, kept, 'a product with a cached front leaks no tensor');
      fast.dispose();
      ref.dispose();
      assert.equal(tf.memory().numTensors, start, 'dispose frees the fronts');
      model.dispose();
    });

    test('equal to the full-network Hessian product restricted to the block', async () => {
      const model = await loadModel(`zoo:${c.name}`, { seed: 5 });
      const batch = randomBatch(model, c.n, 7);
      const engine = new HessianEngine(model, batch, { batchSize: c.batchSize });
      const full = engine.operator('hessian', { kind: 'full' });
      const groups = model.groups('layer');
      for (const g of [groups[groups.length - 1], groups[Math.floor(groups.length / 2)]]) {
        const scope = { kind: 'group' as const, group: g.name, convention: 'layer' as const };
        const op = engine.operator('hessian', scope);
        const offs = engine.scopeOffsets(scope);
        const v = randomVector(op.dim, 3);
        const pad = new Float32Array(model.paramCount);
        let o = 0;
        for (const s of offs) {
          pad.set(v.subarray(o, o + s.size), s.offset);
          o += s.size;
        }
        const hv = await full.matvec(pad);
        const restricted = new Float32Array(op.dim);
        o = 0;
        for (const s of offs) {
          restricted.set(hv.subarray(s.offset, s.offset + s.size), o);
          o += s.size;
        }
        // float32 sums in another order (the full product adds zero contributions)
        const e = relErr(await op.matvec(v), restricted);
        assert.ok(e < 1e-5, `${g.name}: ${e}`);
      }
      engine.dispose();
      model.dispose();
    });
  });
}

for (const [name, group] of [['lenet', 'fc3'], ['tiny-cnn', 'conv1'], ['tiny-cnn', 'dense_b']] as const) {
  test(`the front follows new parameters (setFlatParams) and never frees the batch: ${name}`, async () => {
    const model = await loadModel(`zoo:${name}`, { seed: 2 });
    const batch = randomBatch(model, 4, 1);
    const fast = new HessianEngine(model, batch);
    const ref = new HessianEngine(model, batch, { blockForward: false });
    const scope = { kind: 'group' as const, group, convention: 'layer' as const };
    const v = randomVector(fast.scopeDim(scope), 9);
    await fast.operator('hessian', scope).matvec(v);
    const theta = model.getFlatParams();
    model.setFlatParams(theta.map((t) => t * 1.5));
    assert.deepEqual(await fast.operator('hessian', scope).matvec(v), await ref.operator('hessian', scope).matvec(v));
    // the whole-network products still read the batch (an InputLayer's value is the batch tensor)
    assert.ok(Number.isFinite(await fast.loss()));
    assert.equal((await fast.gradient()).length, model.paramCount);
    fast.dispose();
    ref.dispose();
    model.dispose();
  });
}
