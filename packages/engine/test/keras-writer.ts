/**
 * Keras model files written here, because no Python Keras can be installed on these machines:
 * a tfjs-layers model as Keras 2 `.h5` (root attribute `model_config`, weights under
 * `model_weights/<layer>/<layer>/<role>:0` with `layer_names` / `weight_names`) and as Keras 3
 * `.keras` (zip of `config.json` in Keras 3's serialization: `Functional`, `batch_shape`,
 * `__keras_tensor__` inbound arguments with `keras_history`; `model.weights.h5` with
 * `layers/<layer>/vars/<i>`), and its tfjs model.json twin.
 *
 * `node packages/engine/dist/test/keras-writer.js DIR` writes the committed fixtures
 * (test/fixtures/keras/: sepcat.h5, sepcat.keras, sepcat/model.json + weights.bin).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@hessian/linalg';
import { tf, type ModelArtifacts } from '../src/index.js';

/**
 * Fashion-MNIST-shaped (28x28x1) functional model with a depthwise-separable block (DepthwiseConv2D
 * + BatchNormalization + ReLU + 1x1 Conv2D) beside a SeparableConv2D, joined by Concatenate;
 * seeded weights (gamma near 1, moving variance positive).
 */
export function buildSepCat(seed: number): tfl.LayersModel {
  const x = tfl.input({ shape: [28, 28, 1], name: 'x' });
  const s = tfl.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', name: 'stem' }).apply(x) as tfl.SymbolicTensor;
  const dw = tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', name: 'dw' }).apply(s) as tfl.SymbolicTensor;
  const bn = tfl.layers.batchNormalization({ name: 'dw_bn' }).apply(dw) as tfl.SymbolicTensor;
  const a = tfl.layers.conv2d({ filters: 8, kernelSize: 1, activation: 'relu', name: 'pw' }).apply(tfl.layers.reLU({ name: 'dw_relu' }).apply(bn)) as tfl.SymbolicTensor;
  const b = tfl.layers.separableConv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'sep' }).apply(s) as tfl.SymbolicTensor;
  const c = tfl.layers.concatenate({ name: 'cat' }).apply([a, b]) as tfl.SymbolicTensor;
  const p = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool' }).apply(c)) as tfl.SymbolicTensor;
  const y = tfl.layers.dense({ units: 10, activation: 'softmax', name: 'out' }).apply(p) as tfl.SymbolicTensor;
  const m = tfl.model({ inputs: x, outputs: y, name: 'sepcat' });
  const rng = new Rng(seed);
  const names = m.weights.map((w) => w.originalName);
  m.setWeights(
    m.getWeights().map((w, i) => {
      const g = rng.gaussian(w.size);
      const v = /gamma|moving_variance/.test(names[i]) ? g.map((e) => 1 + 0.2 * Math.abs(e)) : g.map((e) => 0.4 * e);
      return tf.tensor(v, w.shape);
    }),
  );
  return m;
}

export async function artifactsOf(m: tfl.LayersModel): Promise<ModelArtifacts> {
  let out: ModelArtifacts | null = null;
  await m.save(
    tf.io.withSaveHandler(async (a) => {
      const wd = Array.isArray(a.weightData) ? Buffer.concat(a.weightData.map((b) => Buffer.from(b))) : Buffer.from(a.weightData as ArrayBuffer);
      out = { modelTopology: a.modelTopology as Record<string, unknown>, weightSpecs: a.weightSpecs ?? [], weightData: wd.buffer.slice(wd.byteOffset, wd.byteOffset + wd.byteLength) as ArrayBuffer, source: 'the twin' };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!out) throw new Error('tfjs save handler was not called');
  return out;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => v as Obj;

/** tfjs's (Keras 2) functional topology in Keras 3's config.json form. */
export function keras3Config(topology: Obj): Obj {
  const t = obj(topology['model_config'] ?? topology);
  const cfg = obj(t['config']);
  const tensor = (ref: unknown[]): Obj => ({ class_name: '__keras_tensor__', config: { shape: null, dtype: 'float32', keras_history: [ref[0], ref[1], ref[2]] } });
  const layers = (cfg['layers'] as Obj[]).map((l) => {
    const lc = { ...obj(l['config']) };
    if (lc['batch_input_shape']) {
      lc['batch_shape'] = lc['batch_input_shape'];
      delete lc['batch_input_shape'];
    }
    const nodes = (l['inbound_nodes'] as unknown[][][]).map((node) => {
      const refs = node.map(tensor);
      return { args: refs.length === 1 ? refs : [refs], kwargs: {} };
    });
    return { module: 'keras.layers', class_name: l['class_name'], config: lc, registered_name: null, name: l['name'], inbound_nodes: nodes };
  });
  return { module: 'keras', class_name: 'Functional', config: { ...cfg, layers }, registered_name: 'Functional' };
}

/** Writes `name.h5`, `name.keras` and `name/model.json` + `weights.bin` into dir. */
export async function writeKerasFiles(a: ModelArtifacts, dir: string, name = 'twin'): Promise<{ h5: string; keras: string; json: string }> {
  const h5wasm = await import('h5wasm/node');
  const { zipSync } = await import('fflate');
  await h5wasm.ready;
  await fs.mkdir(path.join(dir, name), { recursive: true });
  const data = new Float32Array(a.weightData as ArrayBuffer);
  const byLayer = new Map<string, { role: string; shape: number[]; values: Float32Array }[]>();
  let o = 0;
  for (const s of a.weightSpecs) {
    const n = s.shape.reduce((x, y) => x * y, 1);
    const layer = s.name.slice(0, s.name.lastIndexOf('/'));
    const list = byLayer.get(layer) ?? [];
    list.push({ role: s.name.slice(s.name.lastIndexOf('/') + 1), shape: s.shape, values: data.slice(o, o + n) });
    byLayer.set(layer, list);
    o += n;
  }
  const h5 = path.join(dir, `${name}.h5`);
  const f = new h5wasm.File(h5, 'w');
  f.create_attribute('model_config', JSON.stringify(a.modelTopology));
  const mw = f.create_group('model_weights');
  mw.create_attribute('layer_names', [...byLayer.keys()]);
  for (const [layer, ws] of byLayer) {
    const g = mw.create_group(layer);
    g.create_attribute('weight_names', ws.map((w) => `${layer}/${w.role}:0`));
    const inner = g.create_group(layer);
    for (const w of ws) inner.create_dataset({ name: `${w.role}:0`, data: w.values, shape: w.shape, dtype: '<f' });
  }
  f.close();
  const wpath = path.join(dir, `${name}.weights.h5.tmp`);
  const wf = new h5wasm.File(wpath, 'w');
  const layers = wf.create_group('layers');
  for (const [layer, ws] of byLayer) {
    const vars = layers.create_group(layer).create_group('vars');
    ws.forEach((w, i) => vars.create_dataset({ name: String(i), data: w.values, shape: w.shape, dtype: '<f' }));
  }
  wf.close();
  const keras = path.join(dir, `${name}.keras`);
  const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  const zip = zipSync({ 'metadata.json': enc({ keras_version: '3 (written by keras-writer.ts)' }), 'config.json': enc(keras3Config(a.modelTopology as Obj)), 'model.weights.h5': await fs.readFile(wpath) }, { mtime: new Date('2026-01-01T00:00:00Z') });
  await fs.writeFile(keras, zip);
  await fs.rm(wpath);
  const json = path.join(dir, name, 'model.json');
  await fs.writeFile(json, JSON.stringify({ format: 'layers-model', modelTopology: a.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] }));
  await fs.writeFile(path.join(dir, name, 'weights.bin'), Buffer.from(a.weightData as ArrayBuffer));
  return { h5, keras, json };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: node keras-writer.js DIR');
  const { initBackend } = await import('../src/index.js');
  await initBackend('cpu');
  const m = buildSepCat(14);
  const files = await writeKerasFiles(await artifactsOf(m), dir, 'sepcat');
  process.stdout.write(`${JSON.stringify(files)}\n`);
}
