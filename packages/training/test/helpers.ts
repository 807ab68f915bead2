import { tf, type Model } from '@hessian/engine';
import { Rng } from '@hessian/linalg';
import { makeInput, type ObjectiveInput } from '../src/index.js';

/** n random examples (normal inputs, uniform labels) for a model, as tensors. */
export function randomInput(model: Model, n: number, seed: number): ObjectiveInput {
  const rng = new Rng(seed);
  const per = model.inputShape.reduce((a, b) => a * b, 1);
  const data = { x: rng.gaussian(n * per), labels: Int32Array.from({ length: n }, () => rng.int(model.outputSize)) };
  return makeInput(data, model.inputShape, model.outputSize, Int32Array.from({ length: n }, (_, i) => i));
}

export function disposeInput(i: ObjectiveInput): void {
  tf.dispose([i.x, i.y]);
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * Directional derivative of f at 0 by finite differences, robust to the jumps of a
 * piecewise-smooth function (the Hessian of a ReLU / max-pool network jumps where a unit
 * changes sign): for h from large to small, the forward and backward differences must
 * agree (no jump within [-h, h]); returns the first such central difference, or null.
 */
export async function smoothDerivative(f: (s: number) => Promise<number>, hs = [1e-3, 3e-4, 1e-4, 3e-5, 1e-5]): Promise<{ value: number; h: number } | null> {
  const f0 = await f(0);
  for (const h of hs) {
    const fp = ((await f(h)) - f0) / h;
    const fm = (f0 - (await f(-h))) / h;
    // float32 rounding of f, amplified by 1/h, plus a relative 1%
    const noise = (8 * 6e-8 * Math.max(1, Math.abs(f0))) / h;
    if (Math.abs(fp - fm) <= 0.01 * Math.max(Math.abs(fp), Math.abs(fm)) + 2 * noise) return { value: (fp + fm) / 2, h };
  }
  return null;
}
