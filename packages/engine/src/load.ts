/**
 * Loading models: `zoo:NAME`, a tfjs model.json (with its weight files), or one single-file
 * model (.onnx, Keras .h5 / .keras) into a Model; the checks the client and the coordinator run
 * on a single-file model before it is uploaded or stored.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '@hessian/linalg';
import { compileLayer, type CompiledLayer, type Json } from './layers.js';
import type { Model, ModelArtifacts } from './model.js';
import { InterpretedModel } from './interpreted.js';
import { checkKerasBytes } from './keras-check.js';
import { readKerasFile } from './keras-file.js';
import { checkOnnxBytes, onnxModelFromBytes } from './onnx/model.js';
import { INPUT, isObj, parseTopology, topoSort } from './topology.js';
import { zooArtifacts, zooCatalog } from './zoo.js';

/** Splits a weight buffer by the manifest's specs (float32 only). */
function splitWeights(a: ModelArtifacts): Map<string, { shape: number[]; values: Float32Array }> {
  const out = new Map<string, { shape: number[]; values: Float32Array }>();
  let offset = 0;
  const data = a.weightData;
  for (const s of a.weightSpecs) {
    if (s.quantization) throw new UserError(`Weight '${s.name}' in ${a.source} is quantized; the engine needs float32 weights (convert without --quantize).`);
    if (s.dtype && s.dtype !== 'float32') throw new UserError(`Weight '${s.name}' in ${a.source} has dtype ${s.dtype}; the engine needs float32 weights.`);
    const shape = s.shape.map(Number);
    const n = shape.reduce((x, y) => x * y, 1);
    if (offset + 4 * n > data.byteLength) {
      throw new UserError(`The weight files of ${a.source} hold ${data.byteLength} bytes but the manifest needs at least ${offset + 4 * n} (at weight '${s.name}'); the weights file is truncated or belongs to another model.`);
    }
    out.set(s.name, { shape, values: new Float32Array(data.slice(offset, offset + 4 * n)) });
    offset += 4 * n;
  }
  if (offset !== data.byteLength) {
    throw new UserError(`The weight files of ${a.source} hold ${data.byteLength} bytes but the manifest describes ${offset}; the weights file belongs to another model.`);
  }
  return out;
}

/** Builds an interpreted model from tfjs model artifacts (topology + weights). */
export function modelFromArtifacts(a: ModelArtifacts, name?: string): Model {
  const graph = parseTopology(a.modelTopology, a.source);
  const order = topoSort(graph, a.source);
  const shapes = new Map<string, number[]>([[INPUT, graph.inputShape]]);
  const compiled: CompiledLayer[] = [];
  for (const n of order) {
    const inShapes = n.inbound.map((i) => shapes.get(i) as number[]);
    const c = compileLayer(n, inShapes, n.name === graph.output);
    shapes.set(n.name, c.outShape);
    compiled.push(c);
  }
  return new InterpretedModel(name ?? graph.name, graph.inputShape, a.modelTopology, compiled, graph.output, splitWeights(a), a.source);
}

async function readModelJson(spec: string): Promise<ModelArtifacts> {
  let file = spec.startsWith('file://') ? spec.slice('file://'.length) : spec;
  let text: string;
  try {
    const st = await fs.stat(file);
    if (st.isDirectory()) file = path.join(file, 'model.json');
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new UserError(`Model file '${file}' does not exist; give the path of a tfjs model.json or zoo:NAME (${zooCatalog().map((z) => z.name).join(', ')}).`, 'NOT_FOUND');
    }
    throw new UserError(`Cannot read model file '${file}': ${(e as Error).message}.`, 'FAILED_PRECONDITION');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`Model file '${file}' is not valid JSON (${(e as Error).message}); give a tfjs LayersModel model.json.`);
  }
  if (!isObj(json) || !isObj(json['modelTopology'])) {
    const fmt = isObj(json) && typeof json['format'] === 'string' ? ` (format '${json['format']}')` : '';
    throw new UserError(`Model file '${file}'${fmt} is not a tfjs LayersModel: it has no modelTopology; export the model with tf.LayersModel.save or tensorflowjs_converter --output_format tfjs_layers_model.`);
  }
  if (json['format'] === 'graph-model') {
    throw new UserError(`Model file '${file}' is a tfjs GraphModel; the engine needs a LayersModel (tensorflowjs_converter --output_format tfjs_layers_model).`);
  }
  const manifest = json['weightsManifest'];
  if (!Array.isArray(manifest)) {
    throw new UserError(`Model file '${file}' has no weightsManifest; save the model together with its weights.`);
  }
  const dir = path.dirname(file);
  const specs: ModelArtifacts['weightSpecs'] = [];
  const bufs: Buffer[] = [];
  for (const group of manifest as unknown[]) {
    if (!isObj(group) || !Array.isArray(group['paths']) || !Array.isArray(group['weights'])) {
      throw new UserError(`Model file '${file}' has a malformed weightsManifest entry; expected {paths, weights}.`);
    }
    for (const p of group['paths'] as unknown[]) {
      const wf = path.join(dir, String(p));
      try {
        bufs.push(await fs.readFile(wf));
      } catch {
        throw new UserError(`Weights file '${wf}' named by '${file}' does not exist; copy it next to model.json.`, 'NOT_FOUND');
      }
    }
    for (const w of group['weights'] as unknown[]) {
      if (!isObj(w) || typeof w['name'] !== 'string' || !Array.isArray(w['shape'])) {
        throw new UserError(`Model file '${file}' has a malformed weight entry ${JSON.stringify(w)}; expected {name, shape, dtype}.`);
      }
      specs.push({ name: w['name'], shape: (w['shape'] as unknown[]).map(Number), dtype: w['dtype'] as string | undefined, quantization: w['quantization'] });
    }
  }
  const all = Buffer.concat(bufs);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  return { modelTopology: json['modelTopology'] as Json, weightSpecs: specs, weightData, source: `'${file}'` };
}

/** Model files that are one file, by extension: ONNX, Keras 2 HDF5 (.h5, .hdf5), Keras 3 zip (.keras). */
export type SingleFileFormat = 'onnx' | 'h5' | 'keras';

export function singleFileFormat(file: string): SingleFileFormat | null {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.onnx') return 'onnx';
  if (ext === '.h5' || ext === '.hdf5') return 'h5';
  return ext === '.keras' ? 'keras' : null;
}

/** The name a single-file model is stored under in an upload and in a checkpoint folder. */
export function singleFileName(fmt: SingleFileFormat): string {
  return `model.${fmt}`;
}

const SINGLE_FILES = (['onnx', 'h5', 'keras'] as const).map(singleFileName);

async function readBytes(file: string): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UserError(`Model file '${file}' does not exist; give the path of a .onnx, .h5 or .keras file, a tfjs model.json or zoo:NAME.`, 'NOT_FOUND');
    throw new UserError(`Cannot read model file '${file}': ${(e as Error).message}.`, 'FAILED_PRECONDITION');
  }
}

/** A folder holding no model.json but model.onnx, model.h5 or model.keras (an uploaded or saved single-file model) is that file. */
async function resolveFolder(file: string): Promise<string> {
  try {
    if (!(await fs.stat(file)).isDirectory()) return file;
    const has = async (f: string): Promise<boolean> => fs.stat(f).then(() => true, () => false);
    if (await has(path.join(file, 'model.json'))) return file;
    for (const single of SINGLE_FILES) if (await has(path.join(file, single))) return path.join(file, single);
    return file;
  } catch {
    return file;
  }
}

const notSingle = (fileName: string) => new UserError(`Model file '${fileName}' is not a .onnx, .h5 or .keras file.`);

/**
 * Checks the bytes of a single-file model without building it (no tensors, synchronous): a
 * truncated or corrupt file or an unsupported operator or layer is a UserError. ONNX is decoded
 * whole; Keras files are checked for structure (keras-check.ts), params null where the
 * topology sits inside HDF5. `verifyModelFile` reads everything.
 */
export function checkModelFile(bytes: Uint8Array, fileName: string, source = `'${fileName}'`): { params: number | null } {
  const fmt = singleFileFormat(fileName);
  if (fmt === 'onnx') return checkOnnxBytes(bytes, source);
  if (fmt === 'h5' || fmt === 'keras') return checkKerasBytes(bytes, fileName, source);
  throw notSingle(fileName);
}

/**
 * The whole check of a single-file model, as loading it would do (every weight read and matched
 * to its layer, finite), then the model is dropped: what the coordinator runs at upload.
 */
export async function verifyModelFile(bytes: Uint8Array, fileName: string, source = `'${fileName}'`): Promise<{ params: number }> {
  const fmt = singleFileFormat(fileName);
  if (fmt === 'onnx') return checkOnnxBytes(bytes, source);
  if (fmt !== 'h5' && fmt !== 'keras') throw notSingle(fileName);
  checkKerasBytes(bytes, fileName, source);
  const model = modelFromArtifacts(await readKerasFile(bytes, fileName, source));
  const params = model.paramCount;
  model.dispose();
  return { params };
}

/** Builds a model from the bytes of a .onnx file (Keras files: `loadModelBytes`). */
export function modelFromFileBytes(bytes: Uint8Array, fileName: string, source = `'${fileName}'`): Model {
  const fmt = singleFileFormat(fileName);
  if (fmt === 'onnx') return onnxModelFromBytes(bytes, source, path.basename(fileName, path.extname(fileName)));
  throw new UserError(`Model file '${fileName}' is not a .onnx file.`);
}

/** Builds a model from the bytes of any single-file model (format by the file name). */
export async function loadModelBytes(bytes: Uint8Array, fileName: string, source = `'${fileName}'`): Promise<Model> {
  const fmt = singleFileFormat(fileName);
  if (fmt === 'h5' || fmt === 'keras') return modelFromArtifacts(await readKerasFile(bytes, fileName, source), path.basename(fileName, path.extname(fileName)));
  return modelFromFileBytes(bytes, fileName, source);
}

/** 'zoo:NAME', a .onnx / .h5 / .keras file, or the path of a tfjs model.json (or of its folder). */
export async function loadModel(spec: string, opts: { seed?: number } = {}): Promise<Model> {
  if (spec.startsWith('zoo:')) {
    const name = spec.slice(4);
    const a = await zooArtifacts(name, opts.seed ?? 0);
    return modelFromArtifacts(a, name);
  }
  const file = await resolveFolder(spec.startsWith('file://') ? spec.slice('file://'.length) : spec);
  if (singleFileFormat(file) !== null) return loadModelBytes(await readBytes(file), file);
  return modelFromArtifacts(await readModelJson(file));
}

export function zooModels(): { name: string; description: string; inputShape: number[]; params: number; fixture?: boolean }[] {
  return zooCatalog();
}

