/**
 * R-op products (rop.ts) against tfjs's double backprop (product 'autodiff') and against
 * explicit Hessians: every zoo model, the full network and every layer block, H and G,
 * one and several micro-batches; smooth activations (phi'' terms); the fallback for a
 * layer without a rule; the cache following new weights and its memory bound.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend, loadModel, modelFromArtifacts, HessianEngine, tf, type Convention, type Model, type ModelArtifacts, type OperatorKind, type Scope } from '../src/index.js';
import { exactHessianTests, explicitMatrix, randomBatch, randomVector, relErr, type ExactCase } from './helpers.js';

before(async () => {
  await initBackend('cpu');
});

function scopesOf(model: Model, conventions: Convention[]): Scope[] {
  const out: Scope[] = [{ kind: 'full' }];
  for (const convention of conventions) for (const g of model.groups(convention)) out.push({ kind: 'group', group: g.name, convention });
  return out;
}

const norm = (a: ArrayLike<number>): number => Math.sqrt(Array.from(a).reduce((x, y) => x + y * y, 0));

const label = (s: Scope): string => (s.kind === 'full' ? 'full' : `${s.group} (${s.convention})`);

/** rop and autodiff products agree to 1e-5 relative on every scope; returns the number compared. */
async function compare(model: Model, n: number, batchSize: number | undefined, scopes: Scope[], kinds: OperatorKind[]): Promise<number> {
  const batch = randomBatch(model, n, 7);
  const rop = new HessianEngine(model, batch, { product: 'rop', batchSize });
  const ad = new HessianEngine(model, batch, { product: 'autodiff', batchSize });
  assert.equal(rop.productMethod, 'rop');
  assert.equal(ad.productMethod, 'autodiff');
  let compared = 0;
  try {
    for (const s of scopes) {
      for (const kind of kinds) {
        const a = rop.operator(kind, s);
        const b = ad.operator(kind, s);
        const v = randomVector(a.dim, 11 + compared);
        const ya = await a.matvec(v);
        const yb = await b.matvec(v);
        // The residual (H - G) v vanishes on blocks with only piecewise-linear layers after
        // them: its error is measured against |H v| there.
        const scale = kind === 'residual' ? norm(await rop.operator('hessian', s).matvec(v)) : norm(yb);
        const e = norm(ya.map((x, i) => x - yb[i])) / scale;
        assert.ok(e < 1e-5, `${model.name} ${kind} ${label(s)} batchSize ${batchSize ?? n}: relative error ${e}`);
        if (kind !== 'residual') assert.ok(scale > 0, `${kind} ${label(s)} is not zero`);
        compared++;
      }
    }
  } finally {
    rop.dispose();
    ad.dispose();
  }
  return compared;
}

const zoo: { name: string; n: number; conventions: Convention[]; kinds: OperatorKind[] }[] = [
  { name: 'tiny-mlp', n: 6, conventions: ['layer', 'weights-only'], kinds: ['hessian', 'gauss-newton', 'residual'] },
  { name: 'tiny-cnn', n: 6, conventions: ['layer', 'weights-only'], kinds: ['hessian', 'gauss-newton', 'residual'] },
  { name: 'mlp', n: 6, conventions: ['layer'], kinds: ['hessian', 'gauss-newton'] },
  { name: 'lenet', n: 5, conventions: ['layer'], kinds: ['hessian', 'gauss-newton'] },
  { name: 'lenet-32', n: 3, conventions: ['layer'], kinds: ['hessian'] },
  { name: 'vgg-mini', n: 3, conventions: ['layer'], kinds: ['hessian'] },
  { name: 'resnet-mini', n: 3, conventions: ['layer'], kinds: ['hessian'] },
];

for (const z of zoo) {
  test(`R-op products equal autodiff products: ${z.name}, full network and every layer block, 1 and 2 micro-batches`, async () => {
    const model = await loadModel(`zoo:${z.name}`, { seed: 5 });
    const scopes = scopesOf(model, z.conventions);
    // Several micro-batches (summed in float64) on every scope, one batch on the full network.
    const many = await compare(model, z.n, Math.ceil(z.n / 2), scopes, z.kinds);
    const one = await compare(model, z.n, undefined, [{ kind: 'full' }], z.kinds);
    assert.equal(many + one, (scopes.length + 1) * z.kinds.length);
    model.dispose();
  });
}

/** In-memory artifacts of a tfjs-layers model (as if saved by another program). */
async function artifactsOf(built: tfl.LayersModel): Promise<ModelArtifacts> {
  const out: ModelArtifacts[] = [];
  await built.save(
    tf.io.withSaveHandler(async (a) => {
      out.push({ modelTopology: a.modelTopology as Record<string, unknown>, weightSpecs: a.weightSpecs ?? [], weightData: a.weightData as ArrayBuffer, source: 'memory' });
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return out[0];
}

async function denseModel(name: string, acts: string[], loss: 'cross-entropy' | 'mse' = 'cross-entropy'): Promise<Model> {
  const layers: tfl.layers.Layer[] = [tfl.layers.flatten({ inputShape: [2, 2, 1] })];
  acts.forEach((a, i) => layers.push(tfl.layers.dense({ units: 4, activation: a as 'linear', kernelInitializer: tfl.initializers.randomNormal({ seed: i + 1, stddev: 1 }), biasInitializer: tfl.initializers.randomNormal({ seed: i + 9, stddev: 0.3 }) })));
  layers.push(tfl.layers.dense({ units: 3, kernelInitializer: tfl.initializers.randomNormal({ seed: 7, stddev: 1 }) }));
  const built = tfl.sequential({ layers });
  const model = modelFromArtifacts(await artifactsOf(built), `${name}-${loss}`);
  built.dispose();
  return model;
}

describe('smooth activations: the phi\'\' terms (H != G)', () => {
  const cases: [string[], 'cross-entropy' | 'mse'][] = [
    [['tanh', 'sigmoid'], 'cross-entropy'],
    [['tanh', 'sigmoid'], 'mse'],
    [['elu', 'softplus'], 'cross-entropy'],
    [['swish', 'gelu'], 'cross-entropy'],
  ];
  for (const [acts, loss] of cases) {
    test(`${acts.join(' and ')} layers, ${loss}: R-op = autodiff = explicit, H differs from G`, async () => {
      const model = await denseModel('smooth', acts, loss);
      const batch = randomBatch(model, 5, 3);
      const rop = new HessianEngine(model, batch, { product: 'rop', loss });
      const ad = new HessianEngine(model, batch, { product: 'autodiff', loss });
      const scopes = scopesOf(model, ['layer']);
      for (const [k, s] of scopes.entries()) {
        const H = await explicitMatrix(rop.operator('hessian', s));
        const Ha = await explicitMatrix(ad.operator('hessian', s));
        const G = await explicitMatrix(rop.operator('gauss-newton', s));
        const Ga = await explicitMatrix(ad.operator('gauss-newton', s));
        assert.ok(relErr(H, Ha) < 1e-5, `H ${label(s)}: ${relErr(H, Ha)}`);
        assert.ok(relErr(G, Ga) < 1e-5, `G ${label(s)}: ${relErr(G, Ga)}`);
        // Before the last layer the residual is far from zero: a dropped phi'' or cross term would show.
        if (k < scopes.length - 1) assert.ok(relErr(H, G) > 1e-2, `H and G differ on ${label(s)}: ${relErr(H, G)}`);
      }
      rop.dispose();
      ad.dispose();
      model.dispose();
    });
  }
});

test('Dense on rank-3 inputs, leaky ReLU, relu6 and ELU layers, average pooling: R-op = autodiff (explicit matrices)', async () => {
  const init = (seed: number): { kernelInitializer: ReturnType<typeof tfl.initializers.randomNormal> } => ({ kernelInitializer: tfl.initializers.randomNormal({ seed, stddev: 1 }) });
  const built = tfl.sequential({
    layers: [
      tfl.layers.dense({ units: 3, inputShape: [4, 4, 2], ...init(1) }),
      tfl.layers.elu(), // right after a Dense layer: about half its inputs are on the curved branch
      tfl.layers.leakyReLU({ alpha: 0.1 }),
      tfl.layers.averagePooling2d({ poolSize: 2 }),
      tfl.layers.reLU({ maxValue: 6 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 3, activation: 'relu6', ...init(2) }),
      tfl.layers.dense({ units: 3, ...init(3) }),
    ],
  });
  const model = modelFromArtifacts(await artifactsOf(built), 'rank3');
  built.dispose();
  const batch = randomBatch(model, 4, 5);
  const rop = new HessianEngine(model, batch, { product: 'rop' });
  const ad = new HessianEngine(model, batch, { product: 'autodiff' });
  for (const s of scopesOf(model, ['layer'])) {
    for (const kind of ['hessian', 'gauss-newton'] as const) {
      const a = await explicitMatrix(rop.operator(kind, s));
      const b = await explicitMatrix(ad.operator(kind, s));
      assert.ok(relErr(a, b) < 1e-5, `${kind} ${label(s)}: ${relErr(a, b)}`);
      assert.ok(norm(b) > 1e-4, `${kind} ${label(s)} is not zero`);
    }
  }
  rop.dispose();
  ad.dispose();
  model.dispose();
});

test('Concatenate and global max pooling (a functional model): R-op = autodiff (explicit matrices)', async () => {
  const input = tfl.input({ shape: [4, 4, 2] });
  const apply = (l: tfl.layers.Layer, x: tfl.SymbolicTensor | tfl.SymbolicTensor[]): tfl.SymbolicTensor => l.apply(x) as tfl.SymbolicTensor;
  const conv = apply(tfl.layers.conv2d({ filters: 3, kernelSize: 2, activation: 'tanh', kernelInitializer: tfl.initializers.randomNormal({ seed: 1, stddev: 1 }) }), input);
  const joined = apply(tfl.layers.concatenate(), [apply(tfl.layers.globalMaxPooling2d({}), conv), apply(tfl.layers.globalAveragePooling2d({}), conv)]);
  const out = apply(tfl.layers.dense({ units: 3, kernelInitializer: tfl.initializers.randomNormal({ seed: 2, stddev: 1 }) }), joined);
  const built = tfl.model({ inputs: input, outputs: out });
  const model = modelFromArtifacts(await artifactsOf(built), 'concat');
  built.dispose();
  const batch = randomBatch(model, 4, 6);
  const rop = new HessianEngine(model, batch, { product: 'rop' });
  const ad = new HessianEngine(model, batch, { product: 'autodiff' });
  for (const s of scopesOf(model, ['layer'])) {
    const a = await explicitMatrix(rop.operator('hessian', s));
    const b = await explicitMatrix(ad.operator('hessian', s));
    assert.ok(relErr(a, b) < 1e-5, `${label(s)}: ${relErr(a, b)}`);
  }
  rop.dispose();
  ad.dispose();
  model.dispose();
});

for (const name of ['tiny-mlp', 'tiny-cnn']) {
  describe(`exactness suite on R-op products: ${name}`, () => {
    let c: ExactCase | undefined;
    before(async () => {
      const model = await loadModel(`zoo:${name}`, { seed: 1 });
      const batch = randomBatch(model, 6, 2);
      const engine = new HessianEngine(model, batch, { product: 'rop' });
      c = { model, batch, engine, H: await explicitMatrix(engine.operator('hessian', { kind: 'full' })), n: model.paramCount };
    });
    exactHessianTests(() => c as ExactCase, { operator: [3, 4], fd: 5, block: 6 }, ['layer', 'weights-only']);
  });
}

test('a layer without an R-op rule: auto falls back to autodiff and says why; rop is a UserError', async () => {
  const model = await denseModel('softmax-inside', ['softmax']);
  const batch = randomBatch(model, 4, 1);
  const auto = new HessianEngine(model, batch);
  assert.equal(auto.productMethod, 'autodiff');
  assert.match(auto.autodiffReason ?? '', /activation 'softmax' has no R-op rule/);
  const hv = await auto.operator('hessian', { kind: 'full' }).matvec(randomVector(model.paramCount, 2));
  assert.ok(hv.some((x) => x !== 0));
  assert.throws(() => new HessianEngine(model, batch, { product: 'rop' }), /R-op products are not available for model .*softmax/);
  const supported = await loadModel('zoo:tiny-mlp', { seed: 1 });
  assert.equal(new HessianEngine(supported, randomBatch(supported, 2, 1)).productMethod, 'rop');
  assert.throws(() => new HessianEngine(supported, randomBatch(supported, 2, 1), { product: 'fast' as 'rop' }), /Unknown product method 'fast'/);
  auto.dispose();
  model.dispose();
  supported.dispose();
});

test('the cache follows new weights (setFlatParams), leaks nothing, and a zero budget recomputes the same numbers', async () => {
  const model = await loadModel('zoo:lenet', { seed: 2 });
  const batch = randomBatch(model, 4, 3);
  const start = tf.memory().numTensors;
  const engine = new HessianEngine(model, batch, { product: 'rop', batchSize: 2 });
  const scopes: Scope[] = [{ kind: 'full' }, { kind: 'group', group: 'conv2', convention: 'layer' }];
  const v = scopes.map((s, k) => randomVector(engine.scopeDim(s), 40 + k));
  const first = await Promise.all(scopes.map((s, k) => engine.operator('hessian', s).matvec(v[k])));
  const held = tf.memory().numTensors;
  await engine.operator('hessian', scopes[1]).matvec(v[1]);
  assert.equal(tf.memory().numTensors, held, 'a product with a warm cache leaks no tensor');
  const theta = model.getFlatParams();
  model.setFlatParams(theta.map((t, i) => t * (1 + 0.3 * Math.sin(i))));
  for (const [k, s] of scopes.entries()) {
    const after = await engine.operator('hessian', s).matvec(v[k]);
    const fresh = new HessianEngine(model, batch, { product: 'rop', batchSize: 2 });
    const want = await fresh.operator('hessian', s).matvec(v[k]);
    fresh.dispose();
    assert.deepEqual(after, want, `${label(s)}: product after new weights = a fresh engine's`);
    assert.ok(relErr(after, first[k]) > 1e-3, `${label(s)}: the weights changed the product`);
  }
  // A cap below one chunk's passes (engine option): nothing kept; the full network's product is
  // R-op's (passes recomputed), a layer block's the autodiff one over the cached front.
  const kept = tf.memory().numTensors;
  const capped = new HessianEngine(model, batch, { product: 'rop', batchSize: 2, ropCacheBytes: 1000 });
  const autodiff = new HessianEngine(model, batch, { product: 'autodiff', batchSize: 2 });
  assert.equal(capped.ropCacheLimit, 1000);
  assert.deepEqual(await capped.operator('hessian', scopes[0]).matvec(v[0]), await engine.operator('hessian', scopes[0]).matvec(v[0]));
  const block = await capped.operator('hessian', scopes[1]).matvec(v[1]);
  assert.deepEqual(block, await autodiff.operator('hessian', scopes[1]).matvec(v[1]));
  assert.ok(relErr(block, await engine.operator('hessian', scopes[1]).matvec(v[1])) < 1e-5);
  assert.equal(capped.ropCacheBytes, 0);
  capped.dispose();
  autodiff.dispose();
  assert.equal(tf.memory().numTensors, kept, 'nothing left by either engine (the front cache goes with dispose)');
  const prev = process.env['HESSIAN_ROP_CACHE_MB'];
  process.env['HESSIAN_ROP_CACHE_MB'] = '0';
  try {
    const uncached = new HessianEngine(model, batch, { product: 'rop', batchSize: 2 });
    const before = tf.memory().numTensors;
    const y = await uncached.operator('hessian', scopes[0]).matvec(v[0]);
    assert.equal(tf.memory().numTensors, before, 'over budget: nothing kept');
    assert.deepEqual(y, await engine.operator('hessian', scopes[0]).matvec(v[0]));
    uncached.dispose();
  } finally {
    if (prev === undefined) delete process.env['HESSIAN_ROP_CACHE_MB'];
    else process.env['HESSIAN_ROP_CACHE_MB'] = prev;
  }
  engine.dispose();
  assert.equal(tf.memory().numTensors, start, 'dispose frees the cache');
  model.dispose();
});
