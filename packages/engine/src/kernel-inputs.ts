/**
 * tfjs types every kernel's inputs as a name -> TensorInfo map, but the variadic kernels
 * (AddN, Concat) receive and expect an array. These guards cross between the two with a
 * run-time check instead of a cast: an array of TensorInfos is such a map (its values are
 * its elements, in order).
 */
import type * as tf from '@tensorflow/tfjs-core';

export function isTensorInfo(x: unknown): x is tf.TensorInfo {
  return typeof x === 'object' && x !== null && 'dataId' in x && 'shape' in x && 'dtype' in x;
}

function isInputMap(x: object): x is tf.NamedTensorInfoMap {
  return Object.values(x).every(isTensorInfo);
}

/** The inputs of a variadic kernel as the list they are, in order. */
export function inputList(inputs: tf.NamedTensorInfoMap): tf.TensorInfo[] {
  return Object.values(inputs).filter(isTensorInfo);
}

/** A list of tensors as a variadic kernel's inputs (the array itself, checked, not a copy keyed by index). */
export function listAsInputs(list: tf.TensorInfo[]): tf.NamedTensorInfoMap {
  if (!isInputMap(list)) throw new Error('kernel inputs: every entry must be a TensorInfo');
  return list;
}

/** A named input that must be present. */
export function input(inputs: tf.NamedTensorInfoMap, name: string): tf.TensorInfo {
  const t = inputs[name];
  if (!t) throw new Error(`kernel input '${name}' is missing`);
  return t;
}
