/**
 * Keras model files into the LayersModel path (topology + weights -> ModelArtifacts):
 *  - `.h5` (Keras 2 `model.save('m.h5')`): root attribute `model_config` (JSON), weights in
 *    `model_weights/<layer>` with the attributes `layer_names` and `weight_names`;
 *  - `.keras` (Keras 3 zip): `config.json` and `model.weights.h5` with
 *    `layers/<layer>/vars/<i>` in the layer's variable order (our ExpectedWeight order).
 * HDF5 is read by h5wasm (the HDF5 library in WebAssembly), zip by fflate. No fixture here
 * comes from Python Keras (none installed): tests write files in these layouts themselves.
 */
import type * as H5 from 'h5wasm/node';
import { UserError } from '@hessian/linalg';
import { checkHdf5Structure, kerasConfigParams, unzipVerified } from './keras-check.js';
import { compileLayer, type Json } from './layers.js';
import type { ModelArtifacts } from './model.js';
import { INPUT, isObj, parseTopology, topoSort } from './topology.js';

type H5File = InstanceType<typeof H5.File>;
let counter = 0;

// Loaded on first use: instantiating the HDF5 WebAssembly module costs ~150 ms, which every
// hessctl command and worker start paid at import time whether or not it read a Keras file.
let h5: Promise<typeof H5> | null = null;
const h5wasm = (): Promise<typeof H5> => (h5 ??= import('h5wasm/node'));

async function openH5(bytes: Uint8Array, source: string): Promise<{ f: H5File; path: string }> {
  const lib = await h5wasm();
  const mod = await lib.ready;
  const path = `/hessian-${process.pid}-${counter++}.h5`;
  mod.FS.writeFile(path, bytes);
  try {
    const f = new lib.File(path, 'r');
    f.keys();
    return { f, path };
  } catch {
    mod.FS.unlink(path);
    throw new UserError(`${source} is not a readable HDF5 file; the file is truncated or corrupt, save the model again.`);
  }
}

function strAttr(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  return null;
}

function strList(v: unknown): string[] {
  if (Array.isArray(v)) return v.map((x) => strAttr(x) ?? String(x));
  const s = strAttr(v);
  return s === null ? [] : [s];
}

function dataset(f: H5File, p: string, source: string): { shape: number[]; values: Float32Array } {
  const d = f.get(p) as { shape?: number[] | null; value?: unknown } | null;
  if (!d || !d.shape) throw new UserError(`${source} has no weight dataset '${p}'; the file is truncated or belongs to another model.`);
  const v = d.value;
  const values = v instanceof Float32Array ? v : v instanceof Float64Array ? Float32Array.from(v) : null;
  if (!values) throw new UserError(`Weight '${p}' in ${source} is not float32/float64; the engine needs float weights.`);
  return { shape: d.shape.map(Number), values };
}

function artifacts(topology: Json, weights: { name: string; shape: number[]; values: Float32Array }[], source: string): ModelArtifacts {
  const total = weights.reduce((a, w) => a + w.values.length, 0);
  const buf = new Float32Array(total);
  let o = 0;
  for (const w of weights) {
    buf.set(w.values, o);
    o += w.values.length;
  }
  return { modelTopology: topology, weightSpecs: weights.map((w) => ({ name: w.name, shape: w.shape, dtype: 'float32' })), weightData: buf.buffer, source };
}

/** Keras 2 HDF5 (`.h5`). */
async function readH5(bytes: Uint8Array, source: string): Promise<ModelArtifacts> {
  checkHdf5Structure(bytes, source);
  const { f, path } = await openH5(bytes, source);
  try {
    const cfg = strAttr(f.attrs['model_config']?.value);
    if (!cfg) throw new UserError(`${source} has no model_config attribute; save the whole model (model.save('m.h5')), not only its weights.`);
    const topology = JSON.parse(cfg) as Json;
    const root = f.get('model_weights') ? 'model_weights' : '';
    const g = f.get(root || '/') as { attrs: Record<string, { value: unknown }> } | null;
    const weights: { name: string; shape: number[]; values: Float32Array }[] = [];
    for (const layer of strList(g?.attrs['layer_names']?.value)) {
      const lg = f.get(`${root}/${layer}`) as { attrs: Record<string, { value: unknown }> } | null;
      for (const wn of strList(lg?.attrs['weight_names']?.value)) {
        const role = wn.replace(/:\d+$/, '').split('/').pop() as string;
        weights.push({ name: `${layer}/${role}`, ...dataset(f, `${root}/${layer}/${wn}`, source) });
      }
    }
    return artifacts(topology, weights, source);
  } finally {
    f.close();
    (await (await h5wasm()).ready).FS.unlink(path);
  }
}

/** Keras 3 zip (`.keras`): variables by position, named by our layer vocabulary's roles. */
async function readKeras(bytes: Uint8Array, source: string): Promise<ModelArtifacts> {
  const files = unzipVerified(bytes, source);
  const cfg = files['config.json'];
  const wfile = files['model.weights.h5'];
  if (!cfg || !wfile) throw new UserError(`${source} lacks config.json or model.weights.h5; save it with model.save('m.keras').`);
  const { topology } = kerasConfigParams(cfg, source);
  checkHdf5Structure(wfile, `model.weights.h5 in ${source}`);
  // the roles of each layer's variables, in order: compile the topology once
  const graph = parseTopology(topology, source);
  const shapes = new Map<string, number[]>([[INPUT, graph.inputShape]]);
  const { f, path } = await openH5(wfile, source);
  try {
    const weights: { name: string; shape: number[]; values: Float32Array }[] = [];
    for (const n of topoSort(graph, source)) {
      const c = compileLayer(n, n.inbound.map((i) => shapes.get(i) as number[]), n.name === graph.output);
      shapes.set(n.name, c.outShape);
      c.weights.forEach((w, i) => weights.push({ name: `${n.name}/${w.role}`, ...dataset(f, `layers/${n.name}/vars/${i}`, source) }));
    }
    return artifacts(isObj(topology) ? topology : {}, weights, source);
  } finally {
    f.close();
    (await (await h5wasm()).ready).FS.unlink(path);
  }
}

export async function readKerasFile(bytes: Uint8Array, fileName: string, source: string): Promise<ModelArtifacts> {
  return fileName.toLowerCase().endsWith('.keras') ? readKeras(bytes, source) : readH5(bytes, source);
}
