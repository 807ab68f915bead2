/**
 * The extended backward pass (factor-pass.ts) against explicit matrices: the diagonal and
 * the dense layer blocks equal the explicit Hessian's on the tiny fixtures (every supported
 * layer type: Dense, Conv2D with stride/dilation/'same', BN, ReLU, Activation, max/avg/global
 * pooling, Dropout, Flatten, Add, a stripped softmax), unit-vector Hessian products on random
 * coordinates of zoo models, and on a model with tanh inside, the verdict says "not exact"
 * where H_ll != G_ll (the pass then equals the Gauss-Newton diagonal, not the Hessian's).
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '@hessian/linalg';
import { initBackend, loadModel, modelFromArtifacts, HessianEngine, factorDiagonal, factorBlock, factorVerdicts, tf, type Model, type ModelArtifacts } from '../src/index.js';
import { randomBatch, explicitMatrix, relErr, subMatrix, indicesOf } from './helpers.js';

before(async () => {
  await initBackend('cpu');
});

function diagOf(m: Float64Array, n: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => m[i * n + i]);
}

for (const name of ['tiny-mlp', 'tiny-cnn']) {
  describe(`factor pass on ${name} against its explicit Hessian`, () => {
    test('diagonal of every block and dense blocks (both conventions) equal the Hessian', async () => {
      const model = await loadModel(`zoo:${name}`, { seed: 3 });
      const batch = randomBatch(model, 6, 11);
      const engine = new HessianEngine(model, batch, { batchSize: 4 });
      const n = model.paramCount;
      const H = await explicitMatrix(engine.operator('hessian', { kind: 'full' }));
      const before = tf.memory().numTensors;
      const { diagonal, verdicts, passes } = await factorDiagonal(engine);
      assert.equal(tf.memory().numTensors, before, 'the pass frees every tensor');
      assert.equal(passes, 2 * model.outputSize, 'C backward passes per chunk');
      assert.deepEqual(verdicts.map((v) => v.group), model.groups('layer').map((g) => g.name));
      for (const v of verdicts) assert.ok(v.exact, `${v.group}: ${v.why}`);
      const e = relErr(diagonal, diagOf(H, n));
      assert.ok(e < 1e-5, `diagonal vs explicit Hessian: ${e}`);
      for (const convention of ['layer', 'weights-only'] as const) {
        for (const g of model.groups(convention)) {
          const idx = indicesOf(engine.scopeOffsets({ kind: 'group', group: g.name, convention }));
          const { block, dim, verdict } = await factorBlock(engine, g.name, convention);
          assert.ok(verdict.exact);
          assert.equal(dim, idx.length);
          const eb = relErr(block, subMatrix(H, n, idx));
          assert.ok(eb < 1e-5, `${convention} ${g.name} block: ${eb}`);
        }
      }
      assert.equal(tf.memory().numTensors, before);
      engine.dispose();
      model.dispose();
    });
  });
}

for (const [name, coords] of [['mlp', 12], ['lenet', 12]] as const) {
  test(`factor diagonal of ${name} equals unit-vector Hessian products on random coordinates`, async () => {
    const model = await loadModel(`zoo:${name}`, { seed: 1 });
    const batch = randomBatch(model, 8, 4);
    const engine = new HessianEngine(model, batch);
    const { diagonal, verdicts } = await factorDiagonal(engine);
    for (const v of verdicts) assert.ok(v.exact, `${v.group}: ${v.why}`);
    const rng = new Rng(77);
    for (const g of model.groups('layer')) {
      const scope = { kind: 'group' as const, group: g.name, convention: 'layer' as const };
      const idx = indicesOf(engine.scopeOffsets(scope));
      const op = engine.operator('hessian', scope);
      let scale = 0;
      for (const i of idx) scale = Math.max(scale, Math.abs(diagonal[i]));
      for (let k = 0; k < Math.ceil(coords / model.groups('layer').length); k++) {
        const j = rng.int(idx.length);
        const e = new Float32Array(idx.length);
        e[j] = 1;
        const h = (await op.matvec(e))[j];
        const d = diagonal[idx[j]];
        assert.ok(Math.abs(d - h) <= 1e-5 * scale + 1e-6 * Math.abs(h), `${g.name}[${j}]: pass ${d} vs H e_j ${h} (block scale ${scale})`);
      }
    }
    engine.dispose();
    model.dispose();
  });
}

/** In-memory artifacts of a tfjs-layers model (as if saved by another program). */
async function artifactsOf(built: tfl.LayersModel): Promise<ModelArtifacts> {
  const out: ModelArtifacts[] = [];
  await built.save(
    tf.io.withSaveHandler(async (a) => {
      const w = a.weightData as ArrayBuffer;
      out.push({ modelTopology: a.modelTopology as Record<string, unknown>, weightSpecs: a.weightSpecs ?? [], weightData: w, source: 'memory' });
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return out[0];
}

test('a smooth activation inside: verdict not exact where H_ll != G_ll, and the pass gives G_ll', async () => {
  const built = tfl.sequential({
    layers: [
      tfl.layers.flatten({ inputShape: [2, 2, 1] }),
      tfl.layers.dense({ units: 5, activation: 'tanh', kernelInitializer: tfl.initializers.randomNormal({ seed: 1, stddev: 1 }) }),
      tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tfl.initializers.randomNormal({ seed: 2, stddev: 1 }) }),
    ],
  });
  const model: Model = modelFromArtifacts(await artifactsOf(built), 'smooth');
  built.dispose();
  const batch = randomBatch(model, 5, 2);
  const engine = new HessianEngine(model, batch);
  const verdicts = factorVerdicts(engine);
  const first = verdicts[0];
  const last = verdicts[1];
  assert.equal(first.exact, false);
  assert.match(first.why, /^not exact: .*tanh/);
  assert.equal(last.exact, true, last.why);
  const { diagonal } = await factorDiagonal(engine);
  for (const [v, g] of [[first, model.groups('layer')[0]], [last, model.groups('layer')[1]]] as const) {
    const scope = { kind: 'group' as const, group: g.name, convention: 'layer' as const };
    const idx = indicesOf(engine.scopeOffsets(scope));
    const H = await explicitMatrix(engine.operator('hessian', scope));
    const G = await explicitMatrix(engine.operator('gauss-newton', scope));
    const d = Float64Array.from(idx, (i) => diagonal[i]);
    assert.ok(relErr(d, diagOf(G, idx.length)) < 1e-5, `${g.name}: pass = GGN diagonal`);
    const eh = relErr(d, diagOf(H, idx.length));
    if (v.exact) assert.ok(eh < 1e-5, `${g.name}: exact block, ${eh}`);
    else assert.ok(eh > 1e-3, `${g.name}: H_ll differs from G_ll here (${eh}), as the verdict says`);
    const { block } = await factorBlock(engine, g.name, 'layer');
    assert.ok(relErr(block, G) < 1e-5, `${g.name}: factor block = G_ll`);
    // the engine's capabilities: exact where the verdict says so, a sentence elsewhere
    assert.equal(engine.curvatureVerdict(scope).exact, v.exact);
    assert.deepEqual(await engine.hessianDiagonal(scope, 'gauss-newton'), d);
    if (v.exact) {
      assert.deepEqual(await engine.hessianDiagonal(scope), d);
      assert.deepEqual(await engine.denseBlock('hessian', scope), block);
    } else {
      await assert.rejects(engine.hessianDiagonal(scope), /Hessian diagonal by backpropagation is not exact: layer '.*' applies tanh/);
      await assert.rejects(engine.denseBlock('hessian', scope), /not exact/);
    }
  }
  const full = engine.curvatureVerdict({ kind: 'full' });
  assert.equal(full.exact, false);
  assert.match(full.why, /tanh/);
  assert.ok(engine.factorPasses > 0);
  engine.dispose();
  model.dispose();
});

test('a stop check halts the pass between backward passes, frees its tensors and caches nothing; the next call gives the full diagonal', async () => {
  const model = await loadModel('zoo:tiny-cnn', { seed: 3 });
  const batch = randomBatch(model, 6, 11);
  const engine = new HessianEngine(model, batch, { batchSize: 4 });
  const full = { kind: 'full' as const };
  const reference = (await factorDiagonal(engine)).diagonal;
  const before = tf.memory().numTensors;
  class Stop extends Error {}
  // two chunks of C columns: stopped inside the first chunk's columns, then inside the second's
  for (const at of [2, model.outputSize + 1]) {
    let calls = 0;
    const check = (): void => {
      if (++calls === at) throw new Stop();
    };
    await assert.rejects(engine.hessianDiagonal(full, 'hessian', check), Stop);
    assert.equal(calls, at);
    assert.equal(tf.memory().numTensors, before, `stopped at pass ${at}: every tensor freed`);
  }
  const group = { kind: 'group' as const, group: model.groups('layer')[0].name, convention: 'layer' as const };
  let blockCalls = 0;
  await assert.rejects(
    engine.denseBlock('hessian', group, () => {
      if (++blockCalls === 2) throw new Stop();
    }),
    Stop,
  );
  assert.equal(tf.memory().numTensors, before, 'a stopped block pass frees its parts');
  // nothing half-done was cached: the diagonal is the whole one, and a check that never fires changes nothing
  assert.deepEqual(await engine.hessianDiagonal(full, 'hessian', () => {}), reference);
  engine.dispose();
  model.dispose();
});
