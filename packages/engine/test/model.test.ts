import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '@hessian/linalg';
import { initBackend, loadModel, zooModels, HessianEngine, tf, type Model } from '../src/index.js';
import { randomBatch, randomVector, relErr } from './helpers.js';

before(async () => {
  await initBackend('cpu');
});

async function tmpDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'engine-test-'));
}

/** A file save handler for tfjs (tfjs-layers has no file:// handler without tfjs-node). */
function fileSaveHandler(dir: string): tf.io.IOHandler {
  return tf.io.withSaveHandler(async (a) => {
    await fs.mkdir(dir, { recursive: true });
    const data = Array.isArray(a.weightData) ? Buffer.concat(a.weightData.map((b) => Buffer.from(b))) : Buffer.from(a.weightData as ArrayBuffer);
    await fs.writeFile(path.join(dir, 'weights.bin'), data);
    const json = {
      modelTopology: a.modelTopology,
      format: a.format ?? 'layers-model',
      generatedBy: a.generatedBy,
      convertedBy: a.convertedBy ?? null,
      weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
    };
    await fs.writeFile(path.join(dir, 'model.json'), JSON.stringify(json));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  });
}

/** tf.loadLayersModel from files written by save(): read them into an in-memory handler. */
async function tfjsLoad(dir: string): Promise<tfl.LayersModel> {
  const json = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8'));
  const bin = await fs.readFile(path.join(dir, 'weights.bin'));
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer;
  return tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData }));
}

function logits(model: Model, x: tf.Tensor): Float32Array {
  return tf.tidy(() => model.forward(model.paramTensors(), x)).dataSync() as Float32Array;
}

function softmaxRows(l: Float32Array, c: number): Float64Array {
  const out = new Float64Array(l.length);
  for (let i = 0; i < l.length; i += c) {
    let m = -Infinity;
    for (let k = 0; k < c; k++) m = Math.max(m, l[i + k]);
    let z = 0;
    for (let k = 0; k < c; k++) z += Math.exp(l[i + k] - m);
    for (let k = 0; k < c; k++) out[i + k] = Math.exp(l[i + k] - m) / z;
  }
  return out;
}

describe('zoo', () => {
  test('every zoo model loads with the advertised size and groups', async () => {
    const names = zooModels().map((z) => z.name);
    for (const n of ['mlp', 'lenet', 'resnet-mini', 'vgg-mini', 'tiny-mlp', 'tiny-cnn']) assert.ok(names.includes(n), n);
    // The paper's full-width models (millions of parameters) are checked in zoo-paper.test.ts.
    for (const z of zooModels().filter((x) => x.params < 1e6)) {
      const m = await loadModel(`zoo:${z.name}`);
      assert.equal(m.paramCount, z.params, z.name);
      assert.deepEqual(m.inputShape, z.inputShape);
      assert.equal(m.params.reduce((a, p) => a + p.size, 0), m.paramCount);
      const layerSum = m.groups('layer').reduce((a, g) => a + g.size, 0);
      assert.equal(layerSum, m.paramCount);
      m.dispose();
    }
    const lenet = await loadModel('zoo:lenet');
    assert.deepEqual(lenet.groups('weights-only').map((g) => g.name), ['conv1', 'conv2', 'fc1', 'fc2', 'fc3']);
    assert.deepEqual(lenet.params.map((p) => p.name).slice(0, 2), ['conv1/kernel', 'conv1/bias']);
    assert.deepEqual(lenet.params[0].shape, [5, 5, 1, 6]);
    assert.equal(lenet.outputSize, 10);
    lenet.dispose();
  });

  test('initial weights are deterministic in the seed', async () => {
    const a = await loadModel('zoo:lenet', { seed: 1 });
    const b = await loadModel('zoo:lenet', { seed: 1 });
    const c = await loadModel('zoo:lenet', { seed: 2 });
    assert.deepEqual(a.getFlatParams(), b.getFlatParams());
    assert.ok(relErr(a.getFlatParams(), c.getFlatParams()) > 0.1);
    [a, b, c].forEach((m) => m.dispose());
  });

  test('tiny-cnn uses every supported layer class; final softmax is stripped and reported', async () => {
    const m = await loadModel('zoo:tiny-cnn');
    const classes = new Set(m.layers().map((l) => l.className));
    for (const c of ['InputLayer', 'Conv2D', 'BatchNormalization', 'ReLU', 'Activation', 'Add', 'MaxPooling2D', 'AveragePooling2D', 'Dropout', 'Flatten', 'GlobalAveragePooling2D', 'Dense']) {
      assert.ok(classes.has(c), c);
    }
    assert.ok(m.paramCount < 400);
    assert.ok(m.notes.some((n) => /softmax.*stripped/.test(n)));
    const layerGroups = m.groups('layer').map((g) => g.name);
    const kernelGroups = m.groups('weights-only').map((g) => g.name);
    assert.ok(layerGroups.includes('bn1'));
    assert.ok(!kernelGroups.includes('bn1'));
    const bn = m.groups('layer').find((g) => g.name === 'bn1');
    assert.deepEqual(bn?.tensors.map((t) => t.role), ['gamma', 'beta']);
    assert.deepEqual(m.layers().find((l) => l.name === 'pool1')?.outputShape, [2, 2, 4]);
    m.dispose();
  });

  test('setFlatParams / getFlatParams round trip; NaN is refused', async () => {
    const m = await loadModel('zoo:tiny-mlp');
    const p = randomVector(m.paramCount, 3);
    m.setFlatParams(p);
    assert.deepEqual(m.getFlatParams(), p);
    p[4] = NaN;
    assert.throws(() => m.setFlatParams(p), { name: 'UserError' });
    m.dispose();
  });
});

describe('model.json', () => {
  test('save then loadModel gives the same forward output and HVP; tf.loadLayersModel reads it too', async () => {
    const dir = await tmpDir();
    const m = await loadModel('zoo:tiny-cnn', { seed: 4 });
    await m.save(dir);
    const back = await loadModel(path.join(dir, 'model.json'));
    const batch = randomBatch(m, 5, 8);
    const x = tf.tensor(batch.x, batch.shape);
    const l1 = logits(m, x);
    assert.deepEqual(logits(back, x), l1);
    const v = randomVector(m.paramCount, 5);
    const e1 = new HessianEngine(m, batch);
    const e2 = new HessianEngine(back, batch);
    assert.deepEqual(await e2.operator('hessian', { kind: 'full' }).matvec(v), await e1.operator('hessian', { kind: 'full' }).matvec(v));
    e1.dispose();
    e2.dispose();
    const theirs = await tfjsLoad(dir);
    const probs = (theirs.predict(x) as tf.Tensor).dataSync();
    assert.ok(relErr(probs, softmaxRows(l1, m.outputSize)) < 1e-5);
    theirs.dispose();
    x.dispose();
    m.dispose();
    back.dispose();
    await fs.rm(dir, { recursive: true });
  });

  test('a model built and saved by tfjs-layers (another program) loads and predicts the same', async () => {
    const rng = new Rng(21);
    const built = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ inputShape: [9, 9, 2], filters: 3, kernelSize: 3, strides: 2, padding: 'valid', activation: 'relu' }),
        tfl.layers.batchNormalization({}),
        tfl.layers.conv2d({ filters: 4, kernelSize: 2, padding: 'same', dilationRate: 2, activation: 'tanh' }),
        tfl.layers.maxPooling2d({ poolSize: 3, strides: 1, padding: 'same' }),
        tfl.layers.averagePooling2d({ poolSize: 2, padding: 'valid' }),
        tfl.layers.flatten({}),
        tfl.layers.dropout({ rate: 0.3 }),
        tfl.layers.dense({ units: 5, activation: 'sigmoid' }),
        tfl.layers.dense({ units: 4, activation: 'softmax' }),
      ],
    });
    const names = built.weights.map((w) => w.originalName);
    assert.ok(names.some((n) => n.includes('moving_variance')));
    built.setWeights(
      built.getWeights().map((w, i) => {
        const vals = rng.gaussian(w.size).map((v) => (names[i].includes('variance') ? 0.5 + Math.abs(v) : 0.5 * v));
        return tf.tensor(vals, w.shape);
      }),
    );
    const dir = await tmpDir();
    await built.save(fileSaveHandler(dir));
    const m = await loadModel(dir); // a folder works too
    assert.ok(m.notes.some((n) => /softmax/.test(n)));
    const x = tf.tensor(rng.gaussian(6 * 9 * 9 * 2), [6, 9, 9, 2]);
    const ours = softmaxRows(logits(m, x), 4);
    const theirs = (built.predict(x) as tf.Tensor).dataSync();
    assert.ok(relErr(ours, theirs) < 1e-5, `predict mismatch ${relErr(ours, theirs)}`);
    // and its Hessian is exact (HVP vs finite differences on the smooth part)
    built.dispose();
    x.dispose();
    m.dispose();
    await fs.rm(dir, { recursive: true });
  });
});

describe('load errors are user errors with a sentence naming the problem', () => {
  let dir: string;
  let json: { modelTopology: Record<string, unknown>; weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[] };
  before(async () => {
    dir = await tmpDir();
    const m = await loadModel('zoo:tiny-mlp');
    await m.save(path.join(dir, 'good'));
    m.dispose();
    json = JSON.parse(await fs.readFile(path.join(dir, 'good', 'model.json'), 'utf8'));
  });
  async function variant(name: string, edit: (j: typeof json) => void, weights?: (w: Float32Array) => void): Promise<string> {
    const d = path.join(dir, name);
    await fs.mkdir(d, { recursive: true });
    const j = JSON.parse(JSON.stringify(json));
    edit(j);
    await fs.writeFile(path.join(d, 'model.json'), JSON.stringify(j));
    const bin = await fs.readFile(path.join(dir, 'good', 'weights.bin'));
    const f = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
    weights?.(f);
    await fs.writeFile(path.join(d, 'weights.bin'), Buffer.from(f.buffer));
    return path.join(d, 'model.json');
  }

  test('missing file -> NOT_FOUND naming the path', async () => {
    const p = path.join(dir, 'nope', 'model.json');
    await assert.rejects(loadModel(p), (e: Error & { code?: string }) => e.name === 'UserError' && e.code === 'NOT_FOUND' && e.message.includes(p));
  });
  test('missing weights file -> NOT_FOUND naming it', async () => {
    const p = await variant('noweights', (j) => (j.weightsManifest[0].paths = ['other.bin']));
    await assert.rejects(loadModel(p), (e: Error & { code?: string }) => e.name === 'UserError' && e.code === 'NOT_FOUND' && e.message.includes('other.bin'));
  });
  test('JSON that is not a LayersModel', async () => {
    const p = path.join(dir, 'notlayers.json');
    await fs.writeFile(p, JSON.stringify({ format: 'graph-model', modelTopology: undefined, weightsManifest: [] }));
    await assert.rejects(loadModel(p), { name: 'UserError', message: /not a tfjs LayersModel/ });
    const q = path.join(dir, 'garbage.json');
    await fs.writeFile(q, '{ not json');
    await assert.rejects(loadModel(q), { name: 'UserError', message: /not valid JSON/ });
    const r = await variant('badtopo', (j) => (j.modelTopology = { class_name: 'Thing', config: {} }));
    await assert.rejects(loadModel(r), { name: 'UserError', message: /not a tfjs LayersModel/ });
  });
  test('weight shape mismatch names the weight, expected and got', async () => {
    const p = await variant('shape', (j) => {
      const w = j.weightsManifest[0].weights.find((x) => x.name === 'dense1/kernel');
      if (w) w.shape = [6, 8];
    });
    await assert.rejects(loadModel(p), { name: 'UserError', message: /'dense1\/kernel'.*\[6, 8\].*expects \[8, 6\]/ });
  });
  test('NaN / Inf in weights names the weight', async () => {
    const p = await variant('nan', () => undefined, (f) => (f[50] = NaN));
    await assert.rejects(loadModel(p), { name: 'UserError', message: /Weight 'dense1\/bias'.*NaN/ });
    const q = await variant('inf', () => undefined, (f) => (f[0] = Infinity));
    await assert.rejects(loadModel(q), { name: 'UserError', message: /Weight 'dense1\/kernel'.*Inf/ });
  });
  test('unsupported layer names its class and the supported list', async () => {
    const p = await variant('lstm', (j) => {
      const layers = (j.modelTopology['config'] as { layers: { class_name: string }[] }).layers;
      layers[1].class_name = 'LSTM';
    });
    await assert.rejects(loadModel(p), { name: 'UserError', message: /class LSTM.*supported layer classes: .*Conv2D.*BatchNormalization/ });
  });
  test('unknown zoo model lists the zoo', async () => {
    await assert.rejects(loadModel('zoo:alexnet'), { name: 'UserError', message: /alexnet.*lenet/ });
  });
});
