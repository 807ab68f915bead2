/**
 * The webgpu backend (Dawn + tfjs-backend-webgpu) against cpu: exact products (full Hessian,
 * a layer block, Gauss-Newton), loss and gradient for mlp, lenet and resnet-mini; the traps we
 * guard (addN beyond 7 inputs, errors Dawn only logs); our Conv2DBackpropFilter kernel.
 * Runs on whatever Vulkan driver is present: lavapipe in CI. Skips when no adapter can be had,
 * unless HESSIAN_WEBGPU_REQUIRED=1 (.ci/run), where that is a failure.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HessianEngine, initBackend, loadDataset, loadModel, probeBackend, tf, webgpuDeviceInfo, type Scope } from '../src/index.js';
import { Rng } from '@hessian/linalg';

function relErr(a: Float32Array, b: Float32Array): number {
  let n = 0;
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    n += (a[i] - b[i]) ** 2;
    d += b[i] ** 2;
  }
  return Math.sqrt(n / d);
}

const why = await probeBackend('webgpu', { restore: 'cpu' });
if (why && process.env['HESSIAN_WEBGPU_REQUIRED'] === '1') throw new Error(`HESSIAN_WEBGPU_REQUIRED=1 but the webgpu backend cannot start: ${why}`);
const skip = why ? `webgpu backend unavailable: ${why}` : false;

interface Products {
  loss: number;
  grad: Float32Array;
  [key: string]: Float32Array | number;
}

/** The products of one model on the active backend (model and data loaded fresh, seed 0). */
async function products(name: string, n: number): Promise<Products> {
  const model = await loadModel(`zoo:${name}`, { seed: 0 });
  const data = await loadDataset(`fashion-mnist:train[0:${n}]`);
  const engine = new HessianEngine(model, data);
  const groups = model.groups('layer');
  const middle = groups[Math.floor(groups.length / 2)].name;
  const out: Products = { loss: await engine.loss(), grad: await engine.gradient() };
  const scopes: [string, 'hessian' | 'gauss-newton', Scope][] = [
    ['hessian/full', 'hessian', { kind: 'full' }],
    [`hessian/${middle}`, 'hessian', { kind: 'group', group: middle, convention: 'layer' }],
    ['gauss-newton/full', 'gauss-newton', { kind: 'full' }],
  ];
  for (const [key, kind, scope] of scopes) {
    const op = engine.operator(kind, scope);
    out[key] = await op.matvec(new Rng(7).gaussian(op.dim));
  }
  engine.dispose();
  model.dispose();
  return out;
}

for (const [name, n] of [
  ['mlp', 16],
  ['lenet', 8],
  ['resnet-mini', 4],
] as const) {
  test(`webgpu equals cpu on ${name}: Hessian, layer block, Gauss-Newton products, loss, gradient (1e-4)`, { skip }, async () => {
    await initBackend('cpu');
    const ref = await products(name, n);
    await initBackend('webgpu');
    try {
      const ours = await products(name, n);
      assert.ok(Math.abs(ours.loss - ref.loss) <= 1e-5 * Math.abs(ref.loss), `loss ${ours.loss} vs ${ref.loss}`);
      for (const key of Object.keys(ref)) {
        if (key === 'loss') continue;
        const e = relErr(ours[key] as Float32Array, ref[key] as Float32Array);
        assert.ok(e <= 1e-4, `${key}: relative difference ${e}`);
      }
    } finally {
      await initBackend('cpu');
    }
  });
}

test('webgpu reports its adapter and limits', { skip }, async () => {
  const info = await initBackend('webgpu');
  try {
    const d = webgpuDeviceInfo();
    assert.ok(d, 'device info after start');
    assert.ok(d.maxStorageBuffersPerShaderStage >= 8);
    assert.ok(d.maxBufferSize > 0 && d.maxStorageBufferBindingSize > 0);
    assert.match(info.detail, /max buffer .* storage buffers per stage/);
  } finally {
    await initBackend('cpu');
  }
});

test('webgpu addN with 12 inputs sums all of them (tfjs-webgpu binds one buffer per input)', { skip }, async () => {
  await initBackend('webgpu');
  try {
    const xs = Array.from({ length: 12 }, (_, i) => tf.fill([5], i + 1));
    const s = await tf.addN(xs).data();
    assert.deepEqual(Array.from(s), [78, 78, 78, 78, 78]);
    tf.dispose(xs);
  } finally {
    await initBackend('cpu');
  }
});

test('webgpu: a kernel Dawn rejects makes the read throw instead of returning zeros', { skip }, async () => {
  // tfjs-webgpu 4.22 emits invalid WGSL for a rank-5 transpose of a tensor cast from int32
  // (found through the pooling masks); Dawn only logs the error. If tfjs fixes it, the read
  // must give the right numbers instead.
  await initBackend('webgpu');
  try {
    const oh = tf.cast(tf.oneHot(tf.tensor4d([0, 1, 2, 1], [1, 1, 2, 2], 'int32'), 3), 'float32');
    const t = tf.transpose(oh, [0, 1, 2, 4, 3]);
    let values: Float32Array | null = null;
    try {
      values = (await t.data()) as Float32Array;
    } catch (e) {
      assert.match((e as Error).message, /WebGPU reported an error/);
    }
    if (values) {
      await initBackend('cpu');
      const ref = await tf.transpose(tf.cast(tf.oneHot(tf.tensor4d([0, 1, 2, 1], [1, 1, 2, 2], 'int32'), 3), 'float32'), [0, 1, 2, 4, 3]).data();
      assert.deepEqual(Array.from(values), Array.from(ref), 'no error reported, so the numbers must be right');
    }
    // and the backend stays usable afterwards
    await initBackend('webgpu');
    assert.deepEqual(Array.from(await tf.add(tf.ones([2]), tf.ones([2])).data()), [2, 2]);
  } finally {
    await initBackend('cpu');
  }
});

test('webgpu Conv2DBackpropFilter (im2col, split reduction) equals cpu over strides and paddings', { skip }, async () => {
  const cases = [
    { x: [3, 12, 12, 2], f: [5, 5, 2, 4], s: 1, pad: 'same' },
    { x: [2, 11, 9, 3], f: [3, 3, 3, 5], s: 2, pad: 'same' },
    { x: [4, 10, 10, 1], f: [5, 5, 1, 6], s: 1, pad: 'valid' },
    { x: [5, 9, 8, 2], f: [3, 2, 2, 3], s: [2, 1], pad: 'valid' },
    { x: [2, 8, 8, 4], f: [1, 1, 4, 8], s: 1, pad: 'same' },
  ] as const;
  const run = async (): Promise<Float32Array[]> => {
    const out: Float32Array[] = [];
    for (const [i, c] of cases.entries()) {
      const rng = new Rng(40 + i);
      const x = tf.tensor4d(rng.gaussian((c.x as readonly number[]).reduce((a, b) => a * b, 1)), c.x as unknown as [number, number, number, number]);
      const w = tf.tensor4d(rng.gaussian((c.f as readonly number[]).reduce((a, b) => a * b, 1)), c.f as unknown as [number, number, number, number]);
      const y = tf.conv2d(x, w, c.s as [number, number] | number, c.pad);
      const dy = tf.tensor(rng.gaussian(y.size), y.shape);
      const r = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { strides: c.s, pad: c.pad, dataFormat: 'NHWC', filterShape: c.f } as unknown as tf.NamedAttrMap) as tf.Tensor;
      out.push((await r.data()) as Float32Array);
      tf.dispose([x, w, y, dy, r]);
    }
    return out;
  };
  await initBackend('cpu');
  const ref = await run();
  await initBackend('webgpu');
  try {
    const ours = await run();
    ours.forEach((o, i) => assert.ok(relErr(o, ref[i]) <= 1e-5, `case ${JSON.stringify(cases[i])}: ${relErr(o, ref[i])}`));
  } finally {
    await initBackend('cpu');
  }
});
