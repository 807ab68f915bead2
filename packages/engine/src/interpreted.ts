/**
 * The functional interpreter of a compiled layer graph: the parameters are explicit tensors,
 * so tf.grads can differentiate the logits, and so the loss, with respect to them to any
 * order. Writes tfjs model.json + weights.bin back (`save`).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '@hessian/linalg';
import './gradients.js';
import type { CompiledLayer, Json } from './layers.js';
import type { Convention, LayerSummary, Model, ModelProgram, ParamGroup, ParamTensor } from './model.js';
import { INPUT } from './topology.js';

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

export class InterpretedModel implements Model {
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
        const get = (role: string): tf.Tensor => this.weightOf(layer, role, params);
        const inputs = c.node.inbound.map((n) => vals.get(n) as tf.Tensor);
        vals.set(layer, c.apply(inputs, get));
      }
      const y = vals.get(this.outputName) as tf.Tensor;
      return y.rank === 2 ? y : tf.reshape(y, [x.shape[0], this.outputSize]);
    });
  }

  private weightOf(layer: string, role: string, params: tf.Tensor[]): tf.Tensor {
    const key = `${layer}/${role}`;
    const i = this.paramIndex.get(key);
    if (i !== undefined) return params[i];
    const k = this.constants.get(key);
    if (!k) throw new Error(`internal: no weight ${key}`);
    return k;
  }

  program(): ModelProgram {
    this.live();
    return { input: INPUT, output: this.outputName, layers: this.compiled, weight: (l, r, p) => this.weightOf(l, r, p) };
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

