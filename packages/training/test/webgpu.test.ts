/**
 * The regularized objective (CE + gamma * HTR, third-order autodiff) on the webgpu backend
 * equals the cpu backend's: loss, regularizer value and gradient, for mlp, lenet and
 * resnet-mini, every layer a block. Skips without a WebGPU adapter unless
 * HESSIAN_WEBGPU_REQUIRED=1 (CI, on lavapipe).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initBackend, loadModel, probeBackend, tf } from '@hessian/engine';
import { Rng } from '@hessian/linalg';
import { drawProbes, flattenGrads, objective, selectBlocks } from '../src/index.js';
import { disposeInput, randomInput } from './helpers.js';

const why = await probeBackend('webgpu', { restore: 'cpu' });
if (why && process.env['HESSIAN_WEBGPU_REQUIRED'] === '1') throw new Error(`HESSIAN_WEBGPU_REQUIRED=1 but the webgpu backend cannot start: ${why}`);
const skip = why ? `webgpu backend unavailable: ${why}` : false;

async function regularized(name: string, n: number): Promise<{ loss: number; reg: number; grad: Float32Array }> {
  const model = await loadModel(`zoo:${name}`, { seed: 0 });
  const input = randomInput(model, n, 3);
  const blocks = selectBlocks(model, { select: 'all' }, 'layer');
  const probes = drawProbes(blocks, 1, 'rademacher', new Rng(5));
  const r = await objective(model, input, { blocks, probes, gamma: 0.5 });
  const grad = await flattenGrads(model, r.grads);
  tf.dispose(r.grads);
  disposeInput(input);
  model.dispose();
  return { loss: r.loss, reg: r.reg as number, grad };
}

for (const [name, n] of [
  ['mlp', 8],
  ['lenet', 4],
  ['resnet-mini', 2],
] as const) {
  test(`HTR objective on webgpu equals cpu on ${name} (loss, regularizer, gradient; 1e-4)`, { skip }, async () => {
    await initBackend('cpu');
    const ref = await regularized(name, n);
    await initBackend('webgpu');
    try {
      const ours = await regularized(name, n);
      assert.ok(Math.abs(ours.loss - ref.loss) <= 1e-5 * Math.abs(ref.loss), `loss ${ours.loss} vs ${ref.loss}`);
      assert.ok(Math.abs(ours.reg - ref.reg) <= 1e-4 * Math.abs(ref.reg), `reg ${ours.reg} vs ${ref.reg}`);
      let num = 0;
      let den = 0;
      for (let i = 0; i < ref.grad.length; i++) {
        num += (ours.grad[i] - ref.grad[i]) ** 2;
        den += ref.grad[i] ** 2;
      }
      assert.ok(Math.sqrt(num / den) <= 1e-4, `gradient relative difference ${Math.sqrt(num / den)}`);
    } finally {
      await initBackend('cpu');
    }
  });
}
