/**
 * Reads a tfjs/Keras LayersModel topology (Sequential or functional, Keras 2 and 3 formats)
 * into a graph of layer nodes, and orders it for the interpreter.
 */
import { UserError } from '@hessian/linalg';
import type { GraphNode, Json } from './layers.js';

export const INPUT = '\u0000input';

export interface Graph {
  name: string;
  inputShape: number[];
  nodes: GraphNode[];
  output: string;
}

export function isObj(v: unknown): v is Json {
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

export function parseTopology(topology: Json, source: string): Graph {
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
export function topoSort(g: Graph, source: string): GraphNode[] {
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

