/**
 * A functional interpreter of tfjs LayersModel JSON (Sequential and functional models):
 * the parameters are explicit tensors, so tf.grads can differentiate the logits, and so
 * the loss, with respect to them to any order. Loads model.json + weight files written by
 * tfjs (tf.io / tfjs-node / tensorflowjs_converter) and writes the same format back.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '@hessian/linalg';
import './gradients.js';
import { compileLayer, type CompiledLayer, type GraphNode, type Json } from './layers.js';
import { zooArtifacts, zooCatalog } from './zoo.js';

export type Convention = 'layer' | 'weights-only';

export interface ParamTensor {
  /** e.g. "conv1/kernel" */
  name: string;
  layer: string;
  /** 'kernel' | 'bias' | 'gamma' | 'beta' */
  role: string;
  shape: number[];
  size: number;
  /** offset into the flat parameter vector */
  offset: number;
}

/** Where a tensor lies in the flat parameter vector: what plan, execute and the wire need of a ParamTensor. */
export interface TensorSlice {
  name: string;
  offset: number;
  size: number;
}

/**
 * A layer's trainable parameters: the one parameter-group type of the project (analysis's plan
 * and ComputeContext, the worker's Prepare reply, the coordinator, training's HTR blocks).
 * `tensors` are in flat-vector order. The model's own groups carry whole ParamTensors; what
 * crosses the wire carries TensorSlices.
 */
export interface ParamGroup<T extends TensorSlice = TensorSlice> {
  /** layer name */
  name: string;
  className: string;
  tensors: T[];
  /** sum of the tensors' sizes */
  size: number;
}

export interface LayerSummary {
  name: string;
  className: string;
  outputShape: number[];
  params: number;
  trainable: boolean;
}

export interface Model {
  readonly name: string;
  /** without batch, NHWC */
  readonly inputShape: number[];
  readonly outputSize: number;
  readonly params: ParamTensor[];
  readonly paramCount: number;
  /** Changes made while loading (e.g. "final softmax of layer 'dense3' stripped ..."). */
  readonly notes: string[];
  layers(): LayerSummary[];
  /** Layers that have trainable params, in model order; 'weights-only' = kernels only. */
  groups(convention: Convention): ParamGroup<ParamTensor>[];
  getFlatParams(): Float32Array;
  setFlatParams(p: Float32Array): void;
  /** The current parameters as tensors, in `params` order (owned by the model). */
  paramTensors(): tf.Tensor[];
  /** logits [N, outputSize] */
  forward(params: tf.Tensor[], x: tf.Tensor): tf.Tensor;
  /** tfjs model.json + weights.bin, loadable by loadModel and by tf.loadLayersModel */
  save(dir: string): Promise<void>;
  dispose(): void;
}

/** What tfjs's io handlers produce: topology, flat weight specs and one weight buffer. */
export interface ModelArtifacts {
  modelTopology: Json;
  weightSpecs: { name: string; shape: number[]; dtype?: string; quantization?: unknown }[];
  weightData: ArrayBuffer;
  /** Where these came from, for error messages. */
  source: string;
}

const INPUT = '\u0000input';

interface Graph {
  name: string;
  inputShape: number[];
  nodes: GraphNode[];
  output: string;
}

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function batchShape(cfg: Json): number[] | null {
  const s = cfg['batch_input_shape'] ?? cfg['batch_shape'];
  if (Array.isArray(s) && s.length >= 2) return s.slice(1).map((v) => Number(v));
  const i = cfg['input_shape'];
  if (Array.isArray(i) && i.length >= 1) return i.map((v) => Number(v));
  return null;
}

function checkInputShape(shape: number[], source: string): number[] {
  if (shape.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new UserError(`Model ${source} has an input shape [${shape.join(', ')}] with unknown or invalid dimensions; give every non-batch dimension a fixed size.`);
  }
  return shape;
}

/** Collects [layerName, ...] references from Keras 2 and Keras 3 inbound_nodes formats. */
function inboundOf(layer: Json, source: string): string[] {
  const nodes = layer['inbound_nodes'];
  if (!Array.isArray(nodes) || nodes.length === 0) return [];
  if (nodes.length > 1) {
    throw new UserError(`Layer '${String(layer['name'])}' in ${source} is called ${nodes.length} times (a shared layer); the engine supports each layer applied once.`);
  }
  const out: string[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) {
      if (v.length >= 3 && typeof v[0] === 'string' && typeof v[1] === 'number' && typeof v[2] === 'number') {
        out.push(v[0]);
        return;
      }
      v.forEach(visit);
    } else if (isObj(v)) {
      const cfg = v['config'];
      if (v['class_name'] === '__keras_tensor__' && isObj(cfg) && Array.isArray(cfg['keras_history'])) {
        out.push(String(cfg['keras_history'][0]));
        return;
      }
      if (Array.isArray(v['args'])) visit(v['args']);
    }
  };
  visit(nodes[0]);
  return out;
}

function refName(v: unknown): string | null {
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  if (Array.isArray(v) && v.length === 1) return refName(v[0]);
  return null;
}

function parseTopology(topology: Json, source: string): Graph {
  let t: Json = topology;
  if (isObj(t['model_config'])) t = t['model_config'];
  const cls = t['class_name'];
  const config = t['config'];
  const notLayers = (): never => {
    throw new UserError(`${source} is not a tfjs LayersModel: its modelTopology has no Sequential or functional model config; convert the model with tensorflowjs_converter --output_format tfjs_layers_model.`);
  };
  if (cls === 'Sequential') {
    const layers = Array.isArray(config) ? config : isObj(config) ? config['layers'] : undefined;
    if (!Array.isArray(layers) || layers.length === 0) notLayers();
    const name = isObj(config) && typeof config['name'] === 'string' ? config['name'] : 'sequential';
    const nodes: GraphNode[] = [];
    let prev = INPUT;
    let inputShape: number[] | null = null;
    for (const l of layers as unknown[]) {
      if (!isObj(l) || !isObj(l['config'])) notLayers();
      const lc = (l as Json)['config'] as Json;
      const node: GraphNode = {
        name: String(lc['name'] ?? `layer${nodes.length}`),
        className: String((l as Json)['class_name']),
        config: lc,
        inbound: [prev],
      };
      if (inputShape === null) inputShape = batchShape(lc);
      nodes.push(node);
      prev = node.name;
    }
    if (inputShape === null) {
      throw new UserError(`Model ${source} does not record its input shape (no batch_input_shape on the first layer); build the model with an inputShape before saving.`);
    }
    return { name, inputShape: checkInputShape(inputShape, source), nodes, output: prev };
  }
  if (cls === 'Model' || cls === 'Functional') {
    if (!isObj(config) || !Array.isArray(config['layers'])) notLayers();
    const c = config as Json;
    const ins = c['input_layers'];
    const outs = c['output_layers'];
    const insList = Array.isArray(ins) && typeof ins[0] === 'string' ? [ins] : (ins as unknown[]);
    const outsList = Array.isArray(outs) && typeof outs[0] === 'string' ? [outs] : (outs as unknown[]);
    if (!Array.isArray(insList) || insList.length !== 1 || !Array.isArray(outsList) || outsList.length !== 1) {
      throw new UserError(`Model ${source} has ${Array.isArray(insList) ? insList.length : 0} inputs and ${Array.isArray(outsList) ? outsList.length : 0} outputs; the engine supports models with one input and one output.`);
    }
    const inputName = refName(insList[0]);
    const outputName = refName(outsList[0]);
    if (inputName === null || outputName === null) notLayers();
    let inputShape: number[] | null = null;
    const nodes: GraphNode[] = [];
    for (const l of c['layers'] as unknown[]) {
      if (!isObj(l) || !isObj(l['config'])) notLayers();
      const lj = l as Json;
      const lc = lj['config'] as Json;
      const name = String(lj['name'] ?? lc['name']);
      const node: GraphNode = { name, className: String(lj['class_name']), config: lc, inbound: inboundOf(lj, source) };
      if (name === inputName) {
        inputShape = batchShape(lc);
        node.inbound = [INPUT];
      }
      nodes.push(node);
    }
    if (inputShape === null) {
      throw new UserError(`Model ${source} does not record the shape of its input layer '${String(inputName)}'; save it with a fixed input shape.`);
    }
    return { name: typeof c['name'] === 'string' ? c['name'] : 'model', inputShape: checkInputShape(inputShape, source), nodes, output: outputName as string };
  }
  return notLayers();
}

/** Orders nodes so that every node comes after its inputs; drops nodes the output does not need. */
function topoSort(g: Graph, source: string): GraphNode[] {
  const byName = new Map(g.nodes.map((n) => [n.name, n]));
  const order: GraphNode[] = [];
  const state = new Map<string, 1 | 2>();
  const visit = (name: string): void => {
    if (name === INPUT) return;
    const n = byName.get(name);
    if (!n) throw new UserError(`Model ${source} refers to a layer '${name}' that its topology does not define.`);
    const s = state.get(name);
    if (s === 2) return;
    if (s === 1) throw new UserError(`Model ${source} has a cycle through layer '${name}'.`);
    state.set(name, 1);
    n.inbound.forEach(visit);
    state.set(name, 2);
    order.push(n);
  };
  visit(g.output);
  return order;
}

interface WeightRecord {
  /** name in the weights manifest (kept for saving) */
  name: string;
  layer: string;
  role: string;
  shape: number[];
  trainable: boolean;
  values: Float32Array;
}

function shapeStr(s: number[]): string {
  return `[${s.join(', ')}]`;
}

function findWeight(
  specs: Map<string, { shape: number[]; values: Float32Array }>,
  layer: string,
  role: string,
): [string, { shape: number[]; values: Float32Array }] | null {
  const exact = `${layer}/${role}`;
  const e = specs.get(exact);
  if (e) return [exact, e];
  // Names written by other tools: "scope/layer/role", "layer/role:0", "layer/role_1".
  for (const [n, v] of specs) {
    const clean = n.replace(/:\d+$/, '');
    if (clean === exact || clean.endsWith(`/${exact}`)) return [n, v];
  }
  return null;
}

class InterpretedModel implements Model {
  readonly params: ParamTensor[] = [];
  readonly paramCount: number;
  readonly outputSize: number;
  readonly notes: string[] = [];
  private readonly compiled: CompiledLayer[];
  private readonly weights: WeightRecord[] = [];
  private readonly paramIndex = new Map<string, number>(); // "layer/role" -> index in params
  private readonly constants = new Map<string, tf.Tensor>();
  private current: tf.Tensor[] = [];
  private disposed = false;

  constructor(
    readonly name: string,
    readonly inputShape: number[],
    private readonly topology: Json,
    compiled: CompiledLayer[],
    private readonly outputName: string,
    weightsByName: Map<string, { shape: number[]; values: Float32Array }>,
    source: string,
  ) {
    this.compiled = compiled;
    let offset = 0;
    for (const c of compiled) {
      if (c.note) this.notes.push(c.note);
      for (const ew of c.weights) {
        const found = findWeight(weightsByName, c.node.name, ew.role);
        if (!found) {
          throw new UserError(`${source} has no weight '${c.node.name}/${ew.role}' for layer '${c.node.name}' (${c.node.className}); the weights file does not match the topology.`);
        }
        const [wname, w] = found;
        if (!(w.shape.length === ew.shape.length && w.shape.every((d, i) => d === ew.shape[i]))) {
          throw new UserError(`Weight '${wname}' in ${source} has shape ${shapeStr(w.shape)} but layer '${c.node.name}' (${c.node.className}) expects ${shapeStr(ew.shape)}.`);
        }
        for (let i = 0; i < w.values.length; i++) {
          if (!Number.isFinite(w.values[i])) {
            throw new UserError(`Weight '${wname}' in ${source} contains ${Number.isNaN(w.values[i]) ? 'NaN' : 'Inf'} (at index ${i}); load a checkpoint with finite weights.`);
          }
        }
        const rec: WeightRecord = { name: wname, layer: c.node.name, role: ew.role, shape: ew.shape, trainable: ew.trainable, values: new Float32Array(w.values) };
        this.weights.push(rec);
        const key = `${c.node.name}/${ew.role}`;
        if (ew.trainable) {
          const size = rec.values.length;
          this.paramIndex.set(key, this.params.length);
          this.params.push({ name: key, layer: c.node.name, role: ew.role, shape: ew.shape, size, offset });
          offset += size;
        } else {
          this.constants.set(key, tf.keep(tf.tensor(rec.values, ew.shape)));
        }
      }
    }
    this.paramCount = offset;
    const out = compiled.find((c) => c.node.name === outputName);
    if (!out) throw new UserError(`Model ${source} has no output layer '${outputName}'.`);
    if (out.outShape.length !== 1) {
      throw new UserError(`Model ${source} ends in layer '${outputName}' with output shape [batch, ${out.outShape.join(', ')}]; the engine needs a vector of class scores per example (add a Flatten/Dense head).`);
    }
    this.outputSize = out.outShape[0];
    this.current = this.params.map((p) => {
      const rec = this.weights.find((w) => `${w.layer}/${w.role}` === p.name) as WeightRecord;
      return tf.keep(tf.tensor(rec.values, p.shape));
    });
  }

  private live(): void {
    if (this.disposed) throw new Error(`model '${this.name}' has been disposed`);
  }

  layers(): LayerSummary[] {
    return this.compiled.map((c) => ({
      name: c.node.name,
      className: c.node.className,
      outputShape: c.outShape,
      params: c.weights.reduce((a, w) => a + w.shape.reduce((x, y) => x * y, 1), 0),
      trainable: c.trainable,
    }));
  }

  groups(convention: Convention): ParamGroup<ParamTensor>[] {
    const out: ParamGroup<ParamTensor>[] = [];
    for (const c of this.compiled) {
      const tensors = this.params.filter((p) => p.layer === c.node.name && (convention === 'layer' || p.role === 'kernel'));
      if (tensors.length === 0) continue;
      out.push({ name: c.node.name, className: c.node.className, tensors, size: tensors.reduce((a, t) => a + t.size, 0) });
    }
    return out;
  }

  getFlatParams(): Float32Array {
    const flat = new Float32Array(this.paramCount);
    for (const p of this.params) {
      const rec = this.weights.find((w) => `${w.layer}/${w.role}` === p.name) as WeightRecord;
      flat.set(rec.values, p.offset);
    }
    return flat;
  }

  setFlatParams(flat: Float32Array): void {
    this.live();
    if (flat.length !== this.paramCount) {
      throw new UserError(`Parameter vector has ${flat.length} entries but model '${this.name}' has ${this.paramCount} trainable parameters.`);
    }
    for (let i = 0; i < flat.length; i++) {
      if (!Number.isFinite(flat[i])) throw new UserError(`Parameter vector has a non-finite entry at index ${i}; refusing to set NaN/Inf weights.`);
    }
    this.params.forEach((p, i) => {
      const rec = this.weights.find((w) => `${w.layer}/${w.role}` === p.name) as WeightRecord;
      rec.values = flat.slice(p.offset, p.offset + p.size);
      this.current[i].dispose();
      this.current[i] = tf.keep(tf.tensor(rec.values, p.shape));
    });
  }

  paramTensors(): tf.Tensor[] {
    this.live();
    return this.current;
  }

  forward(params: tf.Tensor[], x: tf.Tensor): tf.Tensor {
    this.live();
    if (params.length !== this.params.length) {
      throw new Error(`forward: expected ${this.params.length} parameter tensors, got ${params.length}`);
    }
    const want = this.inputShape;
    if (x.rank !== want.length + 1 || want.some((d, i) => x.shape[i + 1] !== d)) {
      throw new UserError(`Input batch has shape [${x.shape.join(', ')}] but model '${this.name}' takes [batch, ${want.join(', ')}].`);
    }
    return tf.tidy(() => {
      const vals = new Map<string, tf.Tensor>([[INPUT, x]]);
      for (const c of this.compiled) {
        const layer = c.node.name;
        const get = (role: string): tf.Tensor => {
          const key = `${layer}/${role}`;
          const i = this.paramIndex.get(key);
          if (i !== undefined) return params[i];
          const k = this.constants.get(key);
          if (!k) throw new Error(`internal: no weight ${key}`);
          return k;
        };
        const inputs = c.node.inbound.map((n) => vals.get(n) as tf.Tensor);
        vals.set(layer, c.apply(inputs, get));
      }
      const y = vals.get(this.outputName) as tf.Tensor;
      return y.rank === 2 ? y : tf.reshape(y, [x.shape[0], this.outputSize]);
    });
  }

  async save(dir: string): Promise<void> {
    await fs.mkdir(dir, { recursive: true });
    const total = this.weights.reduce((a, w) => a + w.values.length, 0);
    const buf = new Float32Array(total);
    let o = 0;
    const specs = this.weights.map((w) => {
      buf.set(w.values, o);
      o += w.values.length;
      return { name: w.name, shape: w.shape, dtype: 'float32' };
    });
    const json = {
      format: 'layers-model',
      generatedBy: 'hessian-cluster engine',
      convertedBy: null,
      modelTopology: this.topology,
      weightsManifest: [{ paths: ['weights.bin'], weights: specs }],
    };
    await fs.writeFile(path.join(dir, 'weights.bin'), Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
    await fs.writeFile(path.join(dir, 'model.json'), JSON.stringify(json));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.current.forEach((t) => t.dispose());
    this.constants.forEach((t) => t.dispose());
    this.current = [];
    this.constants.clear();
  }
}

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

/** 'zoo:NAME' or the path of a tfjs model.json (or of its folder). */
export async function loadModel(spec: string, opts: { seed?: number } = {}): Promise<Model> {
  if (spec.startsWith('zoo:')) {
    const name = spec.slice(4);
    const a = await zooArtifacts(name, opts.seed ?? 0);
    return modelFromArtifacts(a, name);
  }
  return modelFromArtifacts(await readModelJson(spec));
}

export function zooModels(): { name: string; description: string; inputShape: number[]; params: number }[] {
  return zooCatalog();
}

