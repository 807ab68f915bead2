/**
 * The fast pooling path (tf.maxPool / tf.avgPool kernels + the registered second-order
 * gradients, pool.ts `pool2d`) against the portable gather formulation, on every backend
 * where 'auto' takes it: same values, gradients, HVPs and third derivatives, ties included.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '@hessian/linalg';
import {
  initBackend,
  loadModel,
  HessianEngine,
  tf,
  pool2d,
  maxPool2d,
  avgPool2d,
  usePoolKernel,
  setPoolImplementation,
  type Pool2DSpec,
} from '../src/index.js';
import { randomBatch, randomVector, relErr } from './helpers.js';

const backends = ['cpu'];
try {
  await initBackend('native');
  backends.push('native');
} catch {
  // @hessian/native not built here: cpu only
}
await initBackend('cpu');

function rand(shape: number[], seed: number, ties = false): tf.Tensor4D {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Rng(seed).gaussian(n);
  // ties: small integers, so that many windows have several equal maxima
  return tf.tensor4d(ties ? v.map((a) => Math.round(a)) : v, shape as [number, number, number, number]);
}

type PoolFn = (x: tf.Tensor4D) => tf.Tensor4D;

/** f(x), grad f, H v and d/dx <H(x) v, w> for f = sum(r * pool(x)^3). */
function derivatives(pool: PoolFn, x: tf.Tensor4D, r: tf.Tensor, v: tf.Tensor, w: tf.Tensor): Float32Array[] {
  return tf.tidy(() => {
    const f = (t: tf.Tensor): tf.Scalar => tf.sum(tf.mul(tf.pow(pool(t as tf.Tensor4D), 3), r)) as tf.Scalar;
    const hv = (t: tf.Tensor): tf.Tensor => tf.grad((y: tf.Tensor) => tf.sum(tf.mul(tf.grad(f)(y), v)) as tf.Scalar)(t);
    const third = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(hv(t), w)) as tf.Scalar)(x);
    return [pool(x), tf.grad(f)(x), hv(x), third].map((t) => t.dataSync() as Float32Array);
  });
}

const cases: [number, number, 'same' | 'valid', number[]][] = [
  [2, 2, 'valid', [2, 6, 6, 3]],
  [2, 2, 'valid', [2, 7, 5, 3]],
  [3, 2, 'valid', [1, 7, 7, 2]],
  [2, 2, 'same', [2, 6, 6, 3]], // 'same' that pads nothing
  [2, 2, 'same', [2, 5, 5, 3]],
  [3, 1, 'same', [1, 5, 6, 2]],
  [3, 2, 'same', [2, 7, 7, 2]],
];

for (const backend of backends) {
  describe(`fast pooling path on ${backend}`, () => {
    before(async () => {
      await initBackend(backend as 'cpu' | 'native');
      setPoolImplementation('auto');
    });
    after(() => setPoolImplementation('auto'));

    test('pool2d equals the portable formulation to third order, ties included', () => {
      let fast = 0;
      for (const [k, s, pad, shape] of cases) {
        const spec: Pool2DSpec = { pool: [k, k], strides: [s, s], padding: pad };
        for (const ties of [false, true]) {
          const x = rand(shape, 1 + k + s, ties);
          const outShape = maxPool2d(x, spec).shape;
          const r = rand(outShape, 2);
          const v = rand(shape, 3);
          const w = rand(shape, 4);
          for (const kind of ['max', 'avg'] as const) {
            const uses = usePoolKernel(kind, shape[1], shape[2], spec);
            // max: always the kernel here; avg: only where no window overlaps the padding
            const unpadded = pad === 'valid' || (shape[1] % s === 0 && shape[2] % s === 0 && k === s);
            assert.equal(uses, kind === 'max' || unpadded, `${kind} ${k}/${s}/${pad} on [${shape.join(',')}]`);
            if (uses) fast++;
            const a = derivatives((t) => pool2d(kind, t, spec), x, r, v, w);
            const b = derivatives((t) => (kind === 'max' ? maxPool2d(t, spec) : avgPool2d(t, spec)), x, r, v, w);
            const names = ['forward', 'gradient', 'HVP', 'third derivative'];
            a.forEach((d, i) => assert.ok(relErr(d, b[i]) < 1e-5, `${kind} ${k}/${s}/${pad} ties=${ties} ${names[i]}: ${relErr(d, b[i])}`));
          }
          tf.dispose([x, r, v, w]);
        }
      }
      assert.ok(fast >= cases.length * 2, 'the fast path was exercised');
    });

    for (const [name, n] of [['tiny-cnn', 6], ['lenet', 4]] as [string, number][]) {
      test(`engine products on ${name} (batch ${n}): fast path = portable path`, async () => {
        const model = await loadModel(`zoo:${name}`, { seed: 2 });
        const engine = new HessianEngine(model, randomBatch(model, n, 5));
        const v = randomVector(model.paramCount, 6);
        const scopes = [{ kind: 'full' } as const, { kind: 'group', group: model.groups('layer')[0].name, convention: 'layer' } as const];
        const run = async (): Promise<Float32Array[]> => {
          const out = [await engine.gradient()];
          for (const scope of scopes) {
            const dim = engine.scopeDim(scope);
            for (const kind of ['hessian', 'gauss-newton'] as const) out.push(await engine.operator(kind, scope).matvec(v.subarray(0, dim)));
          }
          return out;
        };
        try {
          setPoolImplementation('portable');
          const slow = await run();
          setPoolImplementation('auto');
          const fast = await run();
          fast.forEach((f, i) => assert.ok(relErr(f, slow[i]) < 1e-5, `${name} product ${i}: ${relErr(f, slow[i])}`));
          assert.ok(Math.sqrt(slow[1].reduce((a, b) => a + b * b, 0)) > 1e-6, 'HVP not trivially zero');
        } finally {
          setPoolImplementation('auto');
          engine.dispose();
          model.dispose();
        }
      });
    }
  });
}

test("cpu AvgPoolGrad is still wrong at 'same' borders (why padded average pooling stays portable)", async () => {
  await initBackend('cpu');
  const spec: Pool2DSpec = { pool: [2, 2], strides: [2, 2], padding: 'same' };
  const x = rand([1, 5, 5, 2], 7);
  const r = rand([1, 3, 3, 2], 8);
  const g = (pool: PoolFn): Float32Array => tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(pool(t as tf.Tensor4D), r)) as tf.Scalar)(x).dataSync() as Float32Array);
  const e = relErr(g((t) => tf.avgPool(t, 2, 2, 'same')), g((t) => avgPool2d(t, spec)));
  assert.ok(e > 1e-2, `tfjs-cpu AvgPoolGrad now agrees at 'same' borders (${e}): avg pooling could use the kernel there (pool.ts poolKernelBackends)`);
  assert.equal(usePoolKernel('avg', 5, 5, spec), false);
  tf.dispose([x, r]);
});
