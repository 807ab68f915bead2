/**
 * An ONNX graph as a `Model`: parameters (params.ts) as explicit tensors in our layout, the
 * graph interpreted node by node (ops.ts) so tf.grads differentiates to any order; input
 * NCHW in the file, NHWC for us (the engine's data layout). `save` writes the file back with
 * the current parameters (model.onnx in the folder).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '@hessian/linalg';
import '../gradients.js';
import type { Convention, LayerSummary, Model, ParamGroup, ParamTensor } from '../model.js';
import { checkSupported, runNode, type OpContext } from './ops.js';
import { collectParams, type OnnxParam } from './params.js';
import { encodeOnnx, readOnnx, setInitializer, type OnnxGraph } from './read.js';
import { hostValue, logicalShape, nchw, tensorValue, type Value } from './values.js';

export const ONNX_FILE = 'model.onnx';

function layerName(node: string): string {
  // torch.onnx names nodes by module path, "/layer1/layer1.0/conv1/Conv"
  return node.startsWith('/') ? node.slice(1) : node;
}

export class OnnxModel implements Model {
  readonly params: ParamTensor[] = [];
  readonly paramCount: number;
  readonly inputShape: number[];
  readonly outputSize: number;
  readonly notes: string[] = [];
  private readonly onnxParams: OnnxParam[];
  private values: Float32Array[];
  private current: tf.Tensor[];
  private readonly paramByInit = new Map<string, number>();
  private readonly constants = new Map<string, tf.Tensor>();
  private readonly hosts = new Map<string, Value>();
  private readonly shapes = new Map<string, number[]>();
  private readonly nodeParams = new Map<string, number>();
  private readonly tracedBatch: number | null;
  private readonly image: boolean;
  private disposed = false;

  constructor(
    readonly name: string,
    private readonly graph: OnnxGraph,
    source: string,
  ) {
    checkSupported(graph.nodes, source);
    const dims = graph.input.dims;
    if (dims.length < 2 || dims.slice(1).some((d) => d === null)) {
      throw new UserError(`ONNX input '${graph.input.name}' of ${source} has shape [${dims.map((d) => d ?? '?').join(', ')}]; give every dimension but the batch a fixed size when exporting.`);
    }
    const fixed = dims.slice(1) as number[];
    this.image = fixed.length === 3;
    this.inputShape = this.image ? [fixed[1], fixed[2], fixed[0]] : fixed;
    this.tracedBatch = dims[0];
    this.onnxParams = collectParams(graph, source);
    let offset = 0;
    this.values = this.onnxParams.map((p, i) => {
      const t = graph.initializers.get(p.initializer);
      const v = p.toOurs(t?.values as Float32Array);
      checkFinite(v, p.initializer, source);
      const layer = layerName(p.layer);
      this.params.push({ name: `${layer}/${p.role}`, layer, role: p.role, shape: p.shape, size: v.length, offset, origin: { name: p.initializer, layout: p.layout } });
      this.paramByInit.set(p.initializer, i);
      this.nodeParams.set(p.layer, (this.nodeParams.get(p.layer) ?? 0) + v.length);
      offset += v.length;
      return v;
    });
    this.paramCount = offset;
    for (const [name, t] of graph.initializers) {
      if (this.paramByInit.has(name)) continue;
      if (t.kind === 'int') this.hosts.set(name, hostValue(t.dims, t.values as number[]));
      else {
        checkFinite(t.values as Float32Array, name, source);
        this.constants.set(name, tf.keep(tf.tensor(t.values as Float32Array, t.dims)));
      }
    }
    this.current = this.values.map((v, i) => tf.keep(tf.tensor(v, this.params[i].shape)));
    // Shapes, output size and every op's attributes are checked once here, on a zero batch.
    const out = tf.tidy(() => {
      const y = this.run(this.current, tf.zeros([2, ...this.inputShape]), (n, v) => {
        if (v.k === 't') this.shapes.set(n, logicalShape(v).slice(1));
      }, (note) => this.notes.includes(note) || this.notes.push(note));
      return logicalShape(y);
    });
    if (out.length < 2 || out.slice(2).some((d) => d !== 1)) {
      throw new UserError(`${source} ends in an output of shape [batch, ${out.slice(1).join(', ')}]; the engine needs a vector of class scores per example.`);
    }
    this.outputSize = out[1];
  }

  private run(params: tf.Tensor[], x: tf.Tensor, record?: (node: string, v: Value) => void, note?: (text: string) => void): Value {
    const env = new Map<string, Value>(this.hosts);
    env.set(this.graph.input.name, tensorValue(x, this.image));
    const weight = (name: string): tf.Tensor | undefined => {
      const i = this.paramByInit.get(name);
      return i !== undefined ? params[i] : this.constants.get(name);
    };
    for (const n of this.graph.nodes) {
      const ctx: OpContext = {
        input: (i) => {
          const name = n.inputs[i];
          if (!name) return undefined;
          const v = env.get(name);
          if (v) return v;
          const w = weight(name);
          if (w) return tensorValue(w);
          throw new UserError(`ONNX node '${n.name}' reads '${name}', which no earlier node produces; the graph is not in topological order or is corrupt.`);
        },
        weight,
        isOutput: n.outputs[0] === this.graph.output,
        opset: this.graph.opset,
        tracedBatch: this.tracedBatch,
        note: note ?? (() => undefined),
      };
      const outs = runNode(n, ctx);
      outs.forEach((v, i) => env.set(n.outputs[i], v));
      record?.(n.name, outs[0]);
    }
    const y = env.get(this.graph.output);
    if (!y) throw new UserError(`ONNX output '${this.graph.output}' is produced by no node.`);
    return y;
  }

  private live(): void {
    if (this.disposed) throw new Error(`model '${this.name}' has been disposed`);
  }

  layers(): LayerSummary[] {
    return this.graph.nodes
      .filter((n) => this.shapes.has(n.name) && n.opType !== 'Constant')
      .map((n) => ({ name: layerName(n.name), className: n.opType, outputShape: this.shapes.get(n.name) as number[], params: this.nodeParams.get(n.name) ?? 0, trainable: true }));
  }

  groups(convention: Convention): ParamGroup<ParamTensor>[] {
    const out: ParamGroup<ParamTensor>[] = [];
    for (const p of this.params) {
      if (convention === 'weights-only' && p.role !== 'kernel') continue;
      let g = out.find((x) => x.name === p.layer);
      if (!g) {
        const cls = this.onnxParams.find((o) => layerName(o.layer) === p.layer)?.className ?? 'Node';
        g = { name: p.layer, className: cls, tensors: [], size: 0 };
        out.push(g);
      }
      g.tensors.push(p);
      g.size += p.size;
    }
    return out;
  }

  getFlatParams(): Float32Array {
    const flat = new Float32Array(this.paramCount);
    this.values.forEach((v, i) => flat.set(v, this.params[i].offset));
    return flat;
  }

  setFlatParams(flat: Float32Array): void {
    this.live();
    if (flat.length !== this.paramCount) {
      throw new UserError(`Parameter vector has ${flat.length} entries but model '${this.name}' has ${this.paramCount} trainable parameters.`);
    }
    checkFinite(flat, 'the parameter vector', `model '${this.name}'`);
    this.params.forEach((p, i) => {
      this.values[i] = flat.slice(p.offset, p.offset + p.size);
      this.current[i].dispose();
      this.current[i] = tf.keep(tf.tensor(this.values[i], p.shape));
    });
  }

  /** A vector given per initializer in the file's layout (for torch exports: per state_dict entry) in our flat order. */
  vectorFromOrigin(get: (initializer: string, size: number) => Float32Array): Float32Array {
    const flat = new Float32Array(this.paramCount);
    this.onnxParams.forEach((p, i) => flat.set(p.toOurs(get(p.initializer, this.params[i].size)), this.params[i].offset));
    return flat;
  }

  /** Our flat vector split per initializer, in the file's layouts (diagonals, eigenvectors back to state_dict names). */
  vectorToOrigin(flat: Float32Array): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    this.onnxParams.forEach((p, i) => out.set(p.initializer, p.toOnnx(flat.subarray(this.params[i].offset, this.params[i].offset + this.params[i].size))));
    return out;
  }

  paramTensors(): tf.Tensor[] {
    this.live();
    return this.current;
  }

  forward(params: tf.Tensor[], x: tf.Tensor): tf.Tensor {
    this.live();
    if (params.length !== this.params.length) throw new Error(`forward: expected ${this.params.length} parameter tensors, got ${params.length}`);
    const want = this.inputShape;
    if (x.rank !== want.length + 1 || want.some((d, i) => x.shape[i + 1] !== d)) {
      throw new UserError(`Input batch has shape [${x.shape.join(', ')}] but model '${this.name}' takes [batch, ${want.join(', ')}].`);
    }
    return tf.tidy(() => tf.reshape(nchw(this.run(params, x)), [x.shape[0], this.outputSize]));
  }

  async save(dir: string): Promise<void> {
    this.onnxParams.forEach((p, i) => setInitializer(this.graph.proto, p.initializer, p.toOnnx(this.values[i])));
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, ONNX_FILE), encodeOnnx(this.graph.proto));
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

function checkFinite(v: Float32Array, what: string, source: string): void {
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) {
      throw new UserError(`Weight '${what}' in ${source} contains ${Number.isNaN(v[i]) ? 'NaN' : 'Inf'} (at index ${i}); load a checkpoint with finite weights.`);
    }
  }
}

/** Checks a .onnx file without building it (decode, operators, parameters): what the coordinator runs at upload. */
export function checkOnnxBytes(bytes: Uint8Array, source: string): { params: number; nodes: number } {
  const graph = readOnnx(bytes, source);
  checkSupported(graph.nodes, source);
  const params = collectParams(graph, source).reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
  return { params, nodes: graph.nodes.length };
}

/** Builds a model from the bytes of a .onnx file. */
export function onnxModelFromBytes(bytes: Uint8Array, source: string, name?: string): Model {
  const graph = readOnnx(bytes, source);
  return new OnnxModel(name ?? graph.name, graph, source);
}

