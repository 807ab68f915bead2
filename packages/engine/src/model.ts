/**
 * The model contract every loader produces (tfjs LayersModel JSON, ONNX, Keras files, the zoo):
 * parameters as explicit tensors in a documented order, grouped by layer, and a functional
 * forward that tf.grads can differentiate to any order. Loaders live in load.ts.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { CompiledLayer, Json } from './layers.js';

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
  /** for imported files: the tensor's name there (ONNX initializer = PyTorch state_dict name) and the layout change made at load */
  origin?: { name: string; layout: string };
}

/** Where a tensor lies in the flat parameter vector: what plan, execute and the wire need of a ParamTensor. */
export interface TensorSlice {
  name: string;
  offset: number;
  size: number;
  /** imported models only (ONNX): our shape and where the tensor came from, for the report's parameter map */
  shape?: number[];
  origin?: { name: string; layout: string };
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
  /**
   * The compiled graph in evaluation order, for engine modules that split or instrument
   * the forward pass (program.ts); models without it get the plain `forward` everywhere.
   */
  program?(): ModelProgram;
  /** tfjs model.json + weights.bin, loadable by loadModel and by tf.loadLayersModel */
  save(dir: string): Promise<void>;
  dispose(): void;
}

/** The interpreted graph: what `forward` evaluates, node by node. */
export interface ModelProgram {
  /** name under which the model input appears in `inbound` lists */
  readonly input: string;
  readonly output: string;
  /** topological (evaluation) order */
  readonly layers: readonly CompiledLayer[];
  /** weight `layer/role`: params[i] for trainable weights, else the model's constant */
  weight(layer: string, role: string, params: tf.Tensor[]): tf.Tensor;
}

/** What tfjs's io handlers produce: topology, flat weight specs and one weight buffer. */
export interface ModelArtifacts {
  modelTopology: Json;
  weightSpecs: { name: string; shape: number[]; dtype?: string; quantization?: unknown }[];
  weightData: ArrayBuffer;
  /** Where these came from, for error messages. */
  source: string;
}

export { checkModelFile, loadModel, loadModelBytes, modelFromArtifacts, modelFromFileBytes, singleFileFormat, singleFileName, verifyModelFile, zooModels, type SingleFileFormat } from './load.js';
export { SUPPORTED_ONNX_OPS } from './onnx/ops.js';
export { OnnxModel } from './onnx/model.js';
