import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { initBackend, loadModel, HessianEngine, tf, type BackendName } from '../src/index.js';
import { randomBatch, randomVector, relErr } from './helpers.js';

const run = promisify(execFile);

async function importable(name: string): Promise<boolean> {
  try {
    await import(name);
    return true;
  } catch {
    return false;
  }
}

async function hvpOn(backend: BackendName, model: string): Promise<Float32Array> {
  await initBackend(backend);
  const m = await loadModel(`zoo:${model}`, { seed: 2 });
  const e = new HessianEngine(m, randomBatch(m, 4, 3));
  const hv = await e.operator('hessian', { kind: 'full' }).matvec(randomVector(m.paramCount, 4));
  e.dispose();
  m.dispose();
  return hv;
}

test('cpu is always available; unknown names are user errors', async () => {
  const info = await initBackend('cpu');
  assert.equal(info.name, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  await assert.rejects(initBackend('gpu' as BackendName), { name: 'UserError', message: /Unknown backend 'gpu'/ });
});

test('explicit request of an unavailable backend names what to install', async (t) => {
  if (!(await importable('@tensorflow/tfjs-node')) && !(await importable('@tensorflow/tfjs-node-gpu'))) {
    await assert.rejects(initBackend('tensorflow'), { name: 'UserError', message: /@tensorflow\/tfjs-node/ });
  } else t.diagnostic('tfjs-node present: tensorflow unavailability not tested');
  if (!(await importable('@hessian/native'))) {
    await assert.rejects(initBackend('native'), { name: 'UserError', message: /@hessian\/native/ });
  } else t.diagnostic('@hessian/native present');
  await assert.rejects(initBackend('wasm', { needsConv: true }), { name: 'UserError', message: /Conv2DBackpropFilter/ });
});

test('wasm gives the same MLP HVP as cpu', async () => {
  const cpu = await hvpOn('cpu', 'tiny-mlp');
  const wasm = await hvpOn('wasm', 'tiny-mlp');
  assert.equal(tf.getBackend(), 'wasm');
  assert.ok(relErr(wasm, cpu) < 1e-5, `wasm vs cpu ${relErr(wasm, cpu)}`);
  await initBackend('cpu');
});

test('native (when built) gives the same conv-net HVP as cpu', async (t) => {
  let available = false;
  try {
    await initBackend('native');
    available = true;
  } catch {
    t.skip('@hessian/native not built here');
  }
  if (!available) return;
  const nat = await hvpOn('native', 'tiny-cnn');
  const cpu = await hvpOn('cpu', 'tiny-cnn');
  assert.ok(relErr(nat, cpu) < 1e-5, `native vs cpu ${relErr(nat, cpu)}`);
});

test('native (when built) gives the same HVP as cpu for the zoo models mlp, lenet and resnet-mini', async (t) => {
  try {
    await initBackend('native');
  } catch {
    if (process.env.HESSIAN_NATIVE_REQUIRED === '1') throw new Error('HESSIAN_NATIVE_REQUIRED=1 but @hessian/native is not built');
    t.skip('@hessian/native not built here');
    return;
  }
  for (const model of ['mlp', 'lenet', 'resnet-mini']) {
    const nat = await hvpOn('native', model);
    const cpu = await hvpOn('cpu', model);
    assert.ok(relErr(nat, cpu) < 1e-5, `${model}: native vs cpu ${relErr(nat, cpu)}`);
  }
});

test('auto without convolutions prefers a faster backend than cpu when one loads', async () => {
  const info = await initBackend('auto', { needsConv: false });
  assert.ok(['tensorflow', 'native', 'wasm'].includes(info.name), info.name);
  const conv = await initBackend('auto', { needsConv: true });
  assert.notEqual(conv.name, 'wasm');
  await initBackend('cpu');
});

test('stdout stays clean (no tfjs banners) through backend init, model load and HVPs', async () => {
  const script = `
    const e = await import('@hessian/engine');
    for (const b of ['cpu', 'wasm', 'auto']) {
      await e.initBackend(b);
      const m = await e.loadModel('zoo:tiny-mlp');
      const n = 2;
      const eng = new e.HessianEngine(m, { x: new Float32Array(n * 8).fill(0.5), shape: [n, 2, 2, 2], labels: new Int32Array(n), numClasses: 3 });
      await eng.operator('hessian', { kind: 'full' }).matvec(new Float32Array(m.paramCount).fill(1));
      eng.dispose(); m.dispose();
    }`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, HESSIAN_BACKEND: '' } });
  assert.equal(stdout, '');
});
