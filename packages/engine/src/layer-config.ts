/**
 * Reading Keras/tfjs layer configs (numbers, pairs, padding, data format, input counts) and
 * activations, shared by the layer vocabularies (layers.ts, layers-extra.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '@hessian/linalg';
import type { GraphNode, Json } from './layers.js';

export const SUPPORTED_ACTIVATIONS = ['linear', 'relu', 'relu6', 'sigmoid', 'tanh', 'softmax', 'elu', 'softplus', 'leaky_relu', 'gelu', 'swish', 'silu'] as const;

export function fail(node: GraphNode, what: string): never {
  throw new UserError(`Layer '${node.name}' (${node.className}): ${what}.`);
}

export function pair(node: GraphNode, key: string, dflt?: [number, number]): [number, number] {
  const v = node.config[key];
  if ((v === undefined || v === null) && dflt) return dflt;
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((e) => typeof e === 'number')) return [v[0] as number, v[1] as number];
  fail(node, `config '${key}' must be a number or a pair of numbers, got ${JSON.stringify(v)}`);
}

export function num(node: GraphNode, key: string, dflt?: number): number {
  const v = node.config[key];
  if ((v === undefined || v === null) && dflt !== undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(node, `config '${key}' must be a number, got ${JSON.stringify(v)}`);
  return v;
}

export function bool(node: GraphNode, key: string, dflt: boolean): boolean {
  const v = node.config[key];
  return typeof v === 'boolean' ? v : dflt;
}

export function channelsLast(node: GraphNode): void {
  const df = node.config['data_format'];
  if (df !== undefined && df !== null && df !== 'channels_last') {
    fail(node, `data_format '${String(df)}' is not supported; save the model with data_format 'channels_last' (NHWC)`);
  }
}

/** Keras' ZeroPadding2D padding: n, [h, w] or [[top, bottom], [left, right]] (tf.pad: differentiable to any order). */
export function zeroPadding(node: GraphNode): number[][] {
  const v = node.config['padding'] ?? 1;
  const ok = (e: unknown): e is number => typeof e === 'number' && Number.isInteger(e) && e >= 0;
  const side = (e: unknown): number[] | null => (ok(e) ? [e, e] : Array.isArray(e) && e.length === 2 && e.every(ok) ? e : null);
  const hw = ok(v) ? [[v, v], [v, v]] : Array.isArray(v) && v.length === 2 ? v.map(side) : [null];
  if (hw.some((p) => p === null)) fail(node, `padding must be a non-negative integer, a pair or a pair of pairs, got ${JSON.stringify(v)}`);
  return hw as number[][];
}

export function padding(node: GraphNode): 'same' | 'valid' {
  const p = node.config['padding'] ?? 'valid';
  if (p !== 'same' && p !== 'valid') fail(node, `padding '${String(p)}' is not supported (use 'same' or 'valid')`);
  return p;
}

export function activationName(node: GraphNode, key = 'activation'): string {
  const a = node.config[key];
  if (a === undefined || a === null) return 'linear';
  if (typeof a === 'string') return a;
  if (typeof a === 'object') {
    const o = a as Json;
    const cfg = o['config'] as Json | undefined;
    const n = (cfg && typeof cfg['name'] === 'string' ? cfg['name'] : o['class_name']) as unknown;
    if (typeof n === 'string') return n;
  }
  fail(node, `cannot read activation ${JSON.stringify(a)}`);
}

export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}

export function activationFn(node: GraphNode, name: string): (x: tf.Tensor) => tf.Tensor {
  switch (name.toLowerCase()) {
    case 'linear':
      return (x) => x;
    case 'relu':
      return (x) => tf.relu(x);
    case 'relu6':
      return (x) => tf.relu6(x);
    case 'sigmoid':
      return (x) => tf.sigmoid(x);
    case 'tanh':
      return (x) => tf.tanh(x);
    case 'softmax':
      return (x) => tf.softmax(x);
    case 'elu':
      return (x) => tf.elu(x);
    case 'softplus':
      return (x) => tf.softplus(x);
    case 'leaky_relu': // Keras 3's default slope
      return (x) => tf.leakyRelu(x, 0.2);
    case 'gelu': // exact (erf) form, Keras' default
      return gelu;
    case 'swish':
    case 'silu':
      return (x) => tf.mul(x, tf.sigmoid(x));
    default:
      fail(node, `activation '${name}' is not supported (supported: ${SUPPORTED_ACTIVATIONS.join(', ')})`);
  }
}

/**
 * The activation of a layer; a softmax on the model's output layer is replaced by the
 * identity (the engine's losses take logits) and reported through `note`.
 */
export function activation(node: GraphNode, isOutput: boolean, key = 'activation'): { fn: (x: tf.Tensor) => tf.Tensor; note?: string } {
  const name = activationName(node, key);
  if (isOutput && name.toLowerCase() === 'softmax') {
    return { fn: (x) => x, note: `final softmax of layer '${node.name}' stripped: the engine works on logits` };
  }
  return { fn: activationFn(node, name) };
}

export function prod(s: number[]): number {
  return s.reduce((a, b) => a * b, 1);
}

export function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export function need(node: GraphNode, inShapes: number[][], n: number | 'many', rank?: number): void {
  if (n === 'many' ? inShapes.length < 2 : inShapes.length !== n) {
    fail(node, `expects ${n === 'many' ? 'two or more' : n} input(s), got ${inShapes.length}`);
  }
  if (rank !== undefined && inShapes[0].length !== rank) {
    fail(node, `expects an input of rank ${rank + 1} (with batch), got shape [batch, ${inShapes[0].join(', ')}]`);
  }
}

