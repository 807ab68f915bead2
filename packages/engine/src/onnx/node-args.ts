/** What an ONNX operator reads: its inputs and initializers (OpContext), its attributes, and the one-sentence failure naming the node. */
import type * as tf from '@tensorflow/tfjs-core';
import { UserError } from '@hessian/linalg';
import type { OnnxNode } from './read.js';
import type { Value } from './values.js';

export interface OpContext {
  /** the value of input i ('' or missing = absent) */
  input(i: number): Value | undefined;
  /** a parameter or constant by initializer name, in our layout, if it is one */
  weight(name: string): tf.Tensor | undefined;
  isOutput: boolean;
  opset: number;
  /** the batch size the graph was traced with, when the file fixes it */
  tracedBatch: number | null;
  note(text: string): void;
}

export function fail(n: OnnxNode, what: string): never {
  throw new UserError(`ONNX node '${n.name}' (${n.opType}): ${what}.`);
}

export function ints(n: OnnxNode, key: string, dflt: number[]): number[] {
  const v = n.attrs.get(key);
  return Array.isArray(v) ? (v as number[]) : dflt;
}

export function attrNum(n: OnnxNode, key: string, dflt: number): number {
  const v = n.attrs.get(key);
  return typeof v === 'number' ? v : dflt;
}

export function attrStr(n: OnnxNode, key: string, dflt: string): string {
  const v = n.attrs.get(key);
  return typeof v === 'string' ? v : dflt;
}

export function need(n: OnnxNode, ctx: OpContext, i: number): Value {
  const v = ctx.input(i);
  if (!v) fail(n, `input ${i} is missing`);
  return v;
}

export function host(n: OnnxNode, v: Value | undefined, what: string): number[] {
  if (!v) fail(n, `${what} is missing`);
  if (v.k !== 'host') fail(n, `${what} must be a constant (or computed from shapes), not a tensor computed from the input`);
  return v.data;
}
