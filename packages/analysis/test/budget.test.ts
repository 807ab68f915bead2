/**
 * Memory budget, per-task Lanczos modes and the per-job limits (issues #13 and #16): what is
 * refused at submit says what to change; what runs in a bounded mode still agrees with exact
 * answers on a tiny network.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { symmetricEigen, isUserError } from '@hessian/linalg';
import {
  checkEngineFits, checkPlanFits, chooseLanczos, engineBytes, examplesOf, executeTask, maxTasksPerJob, normalizeSpec, parseByteSize, plan, prepare,
  workerMemoryBudget, engineShape, ropCacheBytes, type PartialSpec,
} from '../src/index.js';
import { explicitScope } from './fixtures.js';

const GB = 1e9;

test('budget: HESSIAN_WORKER_MEMORY sizes, else 75% of the machine', () => {
  assert.equal(parseByteSize('8G'), 8e9);
  assert.equal(parseByteSize('512MiB'), 512 * 2 ** 20);
  assert.equal(parseByteSize('4e9'), 4e9);
  assert.equal(parseByteSize('1.5 GB'), 1.5e9);
  assert.equal(parseByteSize('lots'), null);
  assert.equal(workerMemoryBudget({ HESSIAN_WORKER_MEMORY: '2G' }).bytes, 2e9);
  assert.equal(workerMemoryBudget({}, 16 * GB).bytes, 12 * GB);
  assert.throws(() => workerMemoryBudget({ HESSIAN_WORKER_MEMORY: 'plenty' }), /HESSIAN_WORKER_MEMORY must be a size such as 8G/);
});

test('Lanczos mode: full float64 when it fits (default numbers), then float32, then bounded, else refused', () => {
  // A small model's block: the default path (SLQ's semi-orthogonal basis is float32 by default).
  assert.deepEqual(chooseLanczos('density', 235146, 80, 0, 4 * GB), { mode: 'full', storage: 'float32', bytes: 235146 * (80 * 4 + 24) });
  assert.deepEqual(chooseLanczos('top-k', 235146, 80, 1, 4 * GB), { mode: 'full', storage: 'float64', bytes: 235146 * (80 * 8 + 24 + 8) });
  const dim = 11_172_810;
  assert.equal(chooseLanczos('top-k', dim, 100, 3, 12 * GB)?.storage, 'float64');
  assert.deepEqual(chooseLanczos('top-k', dim, 100, 3, 6 * GB)?.mode, 'full');
  assert.equal(chooseLanczos('top-k', dim, 100, 3, 6 * GB)?.storage, 'float32');
  const d = chooseLanczos('density', dim, 100, 0, 1 * GB);
  assert.equal(d?.mode, 'local');
  const t = chooseLanczos('top-k', dim, 100, 3, 2 * GB);
  assert.equal(t?.mode, 'thick-restart');
  assert.ok(t && t.bytes <= 2 * GB && (t.maxBasis ?? 0) >= 5);
  assert.equal(chooseLanczos('density', dim, 100, 0, 0.1 * GB), null);
});

test('per-job limits: top-k above --eig-max-iter, --density-steps, and the task cap are refused naming the flag', () => {
  const base: PartialSpec = { model: 'zoo:tiny-mlp', data: 'synthetic:16' };
  assert.throws(() => normalizeSpec({ ...base, topK: { k: 500, maxIter: 100 } }), (e: unknown) => isUserError(e) && /top-k: 500 is more than --eig-max-iter 100/.test(e.message));
  assert.doesNotThrow(() => normalizeSpec({ ...base, topK: { k: 500, maxIter: 100, method: 'power' } }));
  assert.throws(() => normalizeSpec({ ...base, density: { steps: 100000 } }), /density-steps: must be at most 1000/);
  // 1e7 probes in chunks of 10 would be a million tasks: refused after the cap, not built.
  const spec = normalizeSpec({ ...base, topK: null, density: null, similarity: false, trace: { method: 'hutchinson', probes: 1e7, chunk: 10 }, exactMax: 0 });
  const groups = [{ name: 'dense1', className: 'Dense', size: 54, tensors: [{ name: 'dense1/kernel', shape: [8, 6], offset: 0, size: 48 }, { name: 'dense1/bias', shape: [6], offset: 48, size: 6 }] }];
  assert.throws(() => plan(spec, groups), (e: unknown) => isUserError(e) && /more than 100000 tasks \(the per-job limit HESSIAN_MAX_TASKS\); raise --trace-chunk/.test(e.message));
  assert.equal(plan(spec, groups, { maxTasks: 2e6 }).tasks.length, 2e6);
  assert.equal(maxTasksPerJob({ HESSIAN_MAX_TASKS: '50' }), 50);
  assert.throws(() => maxTasksPerJob({ HESSIAN_MAX_TASKS: '-1' }), /HESSIAN_MAX_TASKS must be a positive whole number/);
});

test('a deliberately huge request is refused before any data are loaded, naming --batch-size', async () => {
  assert.equal(examplesOf('synthetic:300000'), 300000);
  assert.equal(examplesOf('fashion-mnist:train[0:256]'), 256);
  assert.equal(examplesOf('fashion-mnist:test'), 10000);
  assert.equal(examplesOf('idx:/a,/b'), null);
  const budget = { bytes: 2 * GB, source: 'HESSIAN_WORKER_MEMORY=2G' };
  // resnet18 at full width, 60000 examples in one batch: activations of every example at once.
  const shape = { params: 11_172_810, inputSize: 784, activationsPerExample: 1_000_000, examples: 60000, batchSize: 0 };
  assert.throws(() => checkEngineFits(shape, budget), (e: unknown) => isUserError(e) && /need about .* more than its budget of 2.00 GB \(HESSIAN_WORKER_MEMORY=2G\); give --batch-size \d+/.test(e.message));
  // Through prepare: 10 million synthetic examples of tiny-mlp (80 bytes of input each, 1.6 GB
  // held twice) against a 1 GB budget; refused at once (loading them would take minutes).
  const spec = normalizeSpec({ model: 'zoo:tiny-mlp', data: 'synthetic:10000000' });
  await assert.rejects(prepare(spec, 'cpu', { budget: { bytes: 1 * GB, source: 'HESSIAN_WORKER_MEMORY=1G' } }), (e: unknown) => isUserError(e) && /10000000 examples .*HESSIAN_WORKER_MEMORY=1G\); use fewer examples in --data/.test(e.message));
  // A plan whose task cannot fit beside the engine in any mode.
  const p = { scopes: [{ name: 'full', params: 11_172_810 }], tasks: [{ id: 'full/hessian/density/0', scope: 'full', kind: 'slq-density', steps: 80 }] };
  assert.throws(() => checkPlanFits(p, { budgetBytes: 1 * GB, budgetSource: 'HESSIAN_WORKER_MEMORY=1G', engineBytes: 0.9 * GB }), /memory: task full\/hessian\/density\/0 needs at least .* raise HESSIAN_WORKER_MEMORY/);
  assert.doesNotThrow(() => checkPlanFits(p, { budgetBytes: 4 * GB, budgetSource: 'x', engineBytes: 0.9 * GB }));
  assert.ok(engineBytes({ ...shape, batchSize: 16 }) < 4 * GB);
});

test('bounded modes on a real network agree with its exact Hessian (tiny-mlp, 75 parameters)', async () => {
  const spec = normalizeSpec({ model: 'zoo:tiny-mlp', data: 'synthetic:32', seed: 1 });
  const p = await prepare(spec, 'cpu');
  try {
    const { m, n } = await explicitScope(p, 'full');
    const exact = Array.from(symmetricEigen(m, n).values).reverse();
    // Room for 10 float64 vectors: no full basis of 30-60 steps, so thick restart / local.
    const tight = { available: n * 8 * 10 };
    const top = { id: 'full/hessian/top-k', kind: 'lanczos-top-k' as const, scope: 'full', operator: 'hessian' as const, k: 3, method: 'lanczos' as const, tol: 1e-5, maxIter: 60, seed: 5, cost: 63 };
    const r = await executeTask(top, p.engine, 'layer', tight);
    assert.ok(r.kind === 'lanczos-top-k' && r.lanczos?.startsWith('thick-restart/float32'), JSON.stringify(r));
    if (r.kind === 'lanczos-top-k') r.eigenvalues.forEach((v, i) => assert.ok(Math.abs(v - exact[i]) <= 1e-4 * Math.abs(exact[0]), `${v} vs ${exact[i]}`));
    const unbounded = await executeTask(top, p.engine, 'layer');
    assert.ok(unbounded.kind === 'lanczos-top-k' && unbounded.lanczos === undefined);
    // SLQ in local mode: its moments match tr(H^p)/n of the exact spectrum as well as full mode's.
    const dens = { id: 'full/hessian/density/0', kind: 'slq-density' as const, scope: 'full', operator: 'hessian' as const, index: 0, steps: 30, seed: 6, cost: 30 };
    const loc = await executeTask(dens, p.engine, 'layer', tight);
    const ful = await executeTask(dens, p.engine, 'layer');
    assert.ok(loc.kind === 'slq-density' && ful.kind === 'slq-density' && loc.lanczos === 'local/float64');
    if (loc.kind === 'slq-density' && ful.kind === 'slq-density') {
      // One run estimates q's measure, not the average: compare local with full on the same start.
      for (let q = 1; q <= 4; q++) {
        const a = loc.nodes.reduce((s, x, i) => s + loc.weights[i] * x ** q, 0);
        const b = ful.nodes.reduce((s, x, i) => s + ful.weights[i] * x ** q, 0);
        assert.ok(Math.abs(a - b) <= 1e-4 * Math.abs(b) + 1e-9, `moment ${q}: local ${a} vs full ${b}`);
      }
    }
    await assert.rejects(executeTask(dens, p.engine, 'layer', { available: 10 }), (e: unknown) => isUserError(e) && e.code === 'RESOURCE_EXHAUSTED' && /HESSIAN_WORKER_MEMORY/.test(e.message));
  } finally {
    p.engine.dispose();
    p.model.dispose();
  }
});

test('R-op products: the cache is capped at a quarter of what the budget leaves after the engine, and its estimate counts as engine bytes', async () => {
  for (const [model, n] of [['zoo:lenet', 24], ['zoo:tiny-cnn', 40]] as const) {
    const spec = normalizeSpec({ model, data: `synthetic:${n}`, seed: 1, batchSize: 8 });
    const budget = { bytes: 2 * GB, source: 'test' };
    const p = await prepare(spec, 'cpu', { budget });
    try {
      const shape = engineShape(p.model, n, 8);
      const cap = Math.min(512 * 2 ** 20, Math.floor((budget.bytes - engineBytes(shape)) / 4));
      assert.equal(p.engine.productMethod, 'rop');
      assert.equal(p.engine.ropCacheLimit, cap);
      const estimate = ropCacheBytes(shape, cap);
      assert.equal(p.memory.engineBytes, engineBytes(shape) + estimate);
      await p.engine.operator('hessian', { kind: 'full' }).matvec(new Float32Array(p.model.paramCount).fill(0.01));
      // The estimate bounds what the cache holds, and is not far above it.
      const held = p.engine.ropCacheBytes;
      assert.ok(held > 0.4 * estimate && held <= estimate, `${model}: cache ${held} bytes, estimate ${estimate}`);
    } finally {
      p.engine.dispose();
      p.model.dispose();
    }
  }
  // A tight budget: the cap follows it, and the engine keeps nothing above the cap.
  const spec = normalizeSpec({ model: 'zoo:lenet', data: 'synthetic:24', seed: 1 });
  const probe = await prepare(spec, 'cpu');
  const need = engineBytes(engineShape(probe.model, 24, 0));
  probe.engine.dispose();
  probe.model.dispose();
  const p = await prepare(spec, 'cpu', { budget: { bytes: need + 4000, source: 'test' } });
  assert.equal(p.engine.ropCacheLimit, 1000);
  await p.engine.operator('hessian', { kind: 'full' }).matvec(new Float32Array(p.model.paramCount).fill(0.01));
  assert.equal(p.engine.ropCacheBytes, 0);
  p.engine.dispose();
  p.model.dispose();
});
