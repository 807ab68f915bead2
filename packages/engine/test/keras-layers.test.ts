/**
 * The Keras layers of layers-extra.ts (DepthwiseConv2D, SeparableConv2D, Concatenate,
 * ZeroPadding2D, Reshape, LayerNormalization, GlobalMaxPooling2D, LeakyReLU, ELU) and the
 * leaky_relu / gelu / swish activations: the interpreter predicts what tfjs-layers predicts
 * (its twin), and the Hessian is exact (explicit, symmetric, finite differences, blocks).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '@hessian/linalg';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend, loadModel, modelFromArtifacts, tf } from '../src/index.js';
import { artifactsOf, writeKerasFiles } from './keras-writer.js';
import { randomBatch, relErr, exactCase, exactHessianTests, type ExactCase } from './helpers.js';

/** A functional tfjs-layers model with every new layer, seeded weights. */
export function buildTwin(seed: number): tfl.LayersModel {
  const x = tfl.input({ shape: [6, 6, 2], name: 'x' });
  const a = tfl.layers.leakyReLU({ alpha: 0.2, name: 'lrelu' }).apply(tfl.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', name: 'dw1' }).apply(x)) as tfl.SymbolicTensor;
  const b = tfl.layers.separableConv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'tanh', name: 'sep' }).apply(x) as tfl.SymbolicTensor;
  const c = tfl.layers.concatenate({ name: 'cat' }).apply([a, b]) as tfl.SymbolicTensor;
  const d = tfl.layers.zeroPadding2d({ padding: 1, name: 'pad' }).apply(c) as tfl.SymbolicTensor;
  const e = tfl.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'valid', name: 'dw2' }).apply(d) as tfl.SymbolicTensor;
  const f = tfl.layers.globalMaxPooling2d({ name: 'gmax' }).apply(tfl.layers.elu({ name: 'elu' }).apply(e)) as tfl.SymbolicTensor;
  const g = tfl.layers.layerNormalization({ name: 'ln' }).apply(tfl.layers.reshape({ targetShape: [2, 4], name: 'rs' }).apply(f)) as tfl.SymbolicTensor;
  const h = tfl.layers.dense({ units: 4, name: 'hid' }).apply(tfl.layers.flatten({ name: 'flat' }).apply(g)) as tfl.SymbolicTensor;
  const y = tfl.layers.dense({ units: 3, activation: 'softmax', name: 'out' }).apply(h) as tfl.SymbolicTensor;
  const m = tfl.model({ inputs: x, outputs: y, name: 'keras-extra' });
  const rng = new Rng(seed);
  const names = m.weights.map((w) => w.originalName);
  m.setWeights(m.getWeights().map((w, i) => tf.tensor(rng.gaussian(w.size).map((v) => 0.5 * v + (names[i].includes('gamma') ? 1 : 0)), w.shape)));
  return m;
}

describe('new Keras layers', () => {
  let twin: tfl.LayersModel;
  let c: ExactCase;

  before(async () => {
    await initBackend('cpu');
    twin = buildTwin(4);
    const a = await artifactsOf(twin);
    // the exactness model also carries the new activations on its hidden dense layer
    type Topo = { config: { layers: { name: string; config: Record<string, unknown> }[] } };
    const raw = JSON.parse(JSON.stringify(a.modelTopology)) as Topo & { model_config?: Topo };
    const topo = raw.model_config ?? raw;
    const withActs = { ...a, modelTopology: raw as Record<string, unknown> };
    const hid = topo.config.layers.find((l) => l.name === 'hid');
    assert.ok(hid);
    hid.config['activation'] = 'gelu';
    const model = modelFromArtifacts(withActs);
    c = await exactCase(model, randomBatch(model, 4, 9));
  });
  after(() => {
    c.engine.dispose();
    c.model.dispose();
    twin.dispose();
  });

  test('the interpreter predicts what tfjs-layers predicts (softmax stripped), and gelu/leaky_relu/swish are what they say', async () => {
    const plain = modelFromArtifacts(await artifactsOf(twin));
    const x = tf.tensor(new Rng(3).gaussian(5 * 72), [5, 6, 6, 2]);
    const ours = tf.tidy(() => tf.softmax(plain.forward(plain.paramTensors(), x)).dataSync());
    const theirs = (twin.predict(x) as tf.Tensor).dataSync();
    assert.ok(relErr(ours, theirs) < 1e-5, `predict mismatch ${relErr(ours, theirs)}`);
    assert.deepEqual(plain.groups('layer').map((g) => g.name), ['dw1', 'sep', 'dw2', 'ln', 'hid', 'out']);
    plain.dispose();
    x.dispose();
    const z = tf.tensor([-2, -0.5, 0, 0.7, 3]);
    const gel = [-2, -0.5, 0, 0.7, 3].map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
    const { gelu, activationFn } = await import('../src/layer-config.js');
    assert.ok(relErr(gelu(z).dataSync(), gel) < 1e-5);
    const node = { name: 'n', className: 'Dense', config: {}, inbound: [] };
    assert.deepEqual(Array.from(activationFn(node, 'leaky_relu')(z).dataSync()).map((v) => +v.toFixed(5)), [-0.4, -0.1, 0, 0.7, 3]);
    const sw = activationFn(node, 'swish')(z).dataSync();
    assert.ok(Math.abs(sw[3] - 0.7 / (1 + Math.exp(-0.7))) < 1e-6);
    z.dispose();
  });

  exactHessianTests(() => c, { operator: [5], fd: 8, block: 21 });
});

/** erf by Numerical Recipes' erfc Chebyshev fit (fractional error < 1.2e-7). */
function erf(x: number): number {
  const t = 1 / (1 + 0.5 * Math.abs(x));
  const y = 1 - t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? y : -y;
}

describe('Keras .h5 and .keras files load into the same model as their tfjs twin', () => {
  test('predictions equal the twin; truncated files are refused', async () => {
    await initBackend('cpu');
    const twin = buildTwin(6);
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'keras-file-'));
    const files = await writeKerasFiles(await artifactsOf(twin), dir);
    const x = tf.tensor(new Rng(8).gaussian(3 * 72), [3, 6, 6, 2]);
    const theirs = (twin.predict(x) as tf.Tensor).dataSync();
    for (const file of [files.h5, files.keras]) {
      const m = await loadModel(file);
      const ours = tf.tidy(() => tf.softmax(m.forward(m.paramTensors(), x)).dataSync());
      assert.ok(relErr(ours, theirs) < 1e-5, `${path.basename(file)}: ${relErr(ours, theirs)}`);
      m.dispose();
      const bytes = await fs.readFile(file);
      const cut = path.join(dir, `cut${path.extname(file)}`);
      await fs.writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
      await assert.rejects(loadModel(cut), (e: Error) => e.name === 'UserError' && /truncated or corrupt/.test(e.message));
    }
    x.dispose();
    twin.dispose();
    await fs.rm(dir, { recursive: true });
  });
});
