/**
 * Evaluation of a model's compiled graph (`Model.program()`) with the hooks that the
 * block-restricted products (block-forward.ts) and the extended backward pass
 * (diagonal.ts) need: start from precomputed node values, evaluate only some nodes,
 * see every node's inputs, and replace weights. With no hooks it runs exactly the ops
 * of `Model.forward`, in the same order, so it gives the same numbers bit for bit.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CompiledLayer } from './layers.js';
import type { Model, ModelProgram } from './model.js';

export interface EvaluateOptions {
  /** node values known in advance (the model input under `program.input` included) */
  known: Map<string, tf.Tensor>;
  /** evaluate only these nodes (default: every node not in `known`) */
  only?: Set<string>;
  /** replaces the weight getter of a layer: gets the default weight, returns what to use */
  weight?: (layer: CompiledLayer, role: string, dflt: tf.Tensor) => tf.Tensor;
  /** sees each evaluated node's inputs and output; may return a replacement output */
  onNode?: (layer: CompiledLayer, inputs: tf.Tensor[], output: tf.Tensor) => tf.Tensor | void;
}

/** Evaluates the graph; returns every node value (known ones included). Not tidied: call inside tf.tidy. */
export function evaluate(program: ModelProgram, params: tf.Tensor[], opts: EvaluateOptions): Map<string, tf.Tensor> {
  const vals = new Map(opts.known);
  for (const c of program.layers) {
    const name = c.node.name;
    if (vals.has(name) || (opts.only && !opts.only.has(name))) continue;
    const get = (role: string): tf.Tensor => {
      const w = program.weight(name, role, params);
      return opts.weight ? opts.weight(c, role, w) : w;
    };
    const inputs = c.node.inbound.map((n) => {
      const v = vals.get(n);
      if (!v) throw new Error(`internal: node '${n}' (input of '${name}') was not evaluated`);
      return v;
    });
    let y = c.apply(inputs, get);
    if (opts.onNode) y = opts.onNode(c, inputs, y) ?? y;
    vals.set(name, y);
  }
  return vals;
}

/** Logits [N, C] from the output node's value (the reshape `Model.forward` applies). */
export function logitsOf(model: Model, program: ModelProgram, vals: Map<string, tf.Tensor>, n: number): tf.Tensor2D {
  const y = vals.get(program.output);
  if (!y) throw new Error('internal: output node was not evaluated');
  return (y.rank === 2 ? y : tf.reshape(y, [n, model.outputSize])) as tf.Tensor2D;
}

/**
 * Nodes whose value depends on the given parameter tensors (indices into model.params),
 * in evaluation order: the only part of the graph a product over those tensors needs to run.
 */
export function dependentNodes(model: Model, program: ModelProgram, paramIdx: number[]): Set<string> {
  const layersOfScope = new Set(paramIdx.map((i) => model.params[i].layer));
  const live = new Set<string>();
  for (const c of program.layers) {
    if (layersOfScope.has(c.node.name) || c.node.inbound.some((n) => live.has(n))) live.add(c.node.name);
  }
  return live;
}

/** Inputs of the dependent nodes that are not themselves dependent: the values to cache. */
export function frontier(program: ModelProgram, live: Set<string>): string[] {
  const out: string[] = [];
  for (const c of program.layers) {
    if (!live.has(c.node.name)) continue;
    for (const n of c.node.inbound) if (!live.has(n) && !out.includes(n)) out.push(n);
  }
  return out;
}

/** Nodes that must be evaluated to produce `targets` (ancestors included), excluding `stop`. */
export function ancestors(program: ModelProgram, targets: string[], stop: Set<string>): Set<string> {
  const byName = new Map(program.layers.map((c) => [c.node.name, c]));
  const need = new Set<string>();
  const stack = targets.slice();
  while (stack.length) {
    const n = stack.pop() as string;
    if (need.has(n) || stop.has(n) || n === program.input) continue;
    need.add(n);
    const c = byName.get(n);
    if (c) stack.push(...c.node.inbound);
  }
  return need;
}
