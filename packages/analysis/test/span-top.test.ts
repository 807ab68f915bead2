/**
 * The top of a spectrum with exact zeros left out (estimators/span.ts), and Lanczos top-k on
 * the span of a fixed input against the explicit Hessian of tiny-mlp on 5 examples of 8 inputs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { symmetricEigenvalues } from '@hessian/linalg';
import { executeTask, normalizeSpec, plan, prepare, runAnalysis, type ComputeContext } from '../src/index.js';
import { topWithZeros } from '../src/estimators/span.js';
import { explicitScope } from './fixtures.js';

test('topWithZeros: zeros replace negatives and fill up to k; nothing changes without zeros or negatives', () => {
  assert.deepEqual(topWithZeros([3, 1, -2], [0.1, 0.2, 0.3], 5), { eigenvalues: [3, 1, 0], residuals: [0.1, 0.2, 0] });
  assert.deepEqual(topWithZeros([-1, -2], [0.1, 0.2], 1), { eigenvalues: [0, -1], residuals: [0, 0.1] });
  assert.deepEqual(topWithZeros([2], [0.5], 3, 3), { eigenvalues: [2, 0, 0], residuals: [0.5, 0, 0] });
  assert.deepEqual(topWithZeros([3, 1], [0.1, 0.2], 7), { eigenvalues: [3, 1], residuals: [0.1, 0.2] });
  assert.deepEqual(topWithZeros([3, -1], [0.1, 0.2], 0), { eigenvalues: [3, -1], residuals: [0.1, 0.2] });
});

test('Lanczos top-3 on the span of 5 inputs of 8 equals the explicit Hessian\'s top-3', async () => {
  const spec = normalizeSpec({ model: 'zoo:tiny-mlp', data: 'synthetic:5', full: true, topK: { k: 3, tol: 1e-6 }, trace: null, density: null, seed: 6, exactMax: 0 });
  const report = await runAnalysis(spec, { backend: 'cpu' });
  const p = await prepare(spec, 'cpu');
  try {
    for (const s of report.scopes) {
      const e = await explicitScope(p, s.name);
      const exact = Array.from(symmetricEigenvalues(e.m, e.n)).sort((a, b) => b - a);
      const top = s.operators[0].top!;
      for (let i = 0; i < 3; i++) assert.ok(Math.abs(top.values[i] - exact[i]) <= 1e-5 * Math.abs(exact[0]), `${s.name} λ${i + 1}: ${top.values[i]} vs exact ${exact[i]}`);
    }
  } finally {
    p.engine.dispose();
  }
});

test('the top-k and density tasks run on the span operator where the context offers one (its products are the ones counted)', async () => {
  const spec = normalizeSpec({ model: 'zoo:tiny-mlp', data: 'synthetic:5', full: true, topK: { k: 2 }, trace: null, density: { runs: 1, steps: 10 }, seed: 6, exactMax: 0 });
  const p = await prepare(spec, 'cpu');
  try {
    const engine = p.engine;
    let whole = 0;
    let restricted = 0;
    const ctx: ComputeContext = {
      operator: (kind, scope) => {
        const op = engine.operator(kind, scope);
        return { dim: op.dim, matvec: (v) => (whole++, op.matvec(v)) };
      },
      scopeOffsets: (s) => engine.scopeOffsets(s),
      spanOperator: async (kind, scope) => {
        const span = await engine.spanOperator(kind, scope);
        return span && { ...span, op: { dim: span.op.dim, matvec: (v: Float32Array) => (restricted++, span.op.matvec(v)) } };
      },
    };
    const tasks = plan(spec, p.model.groups(spec.convention)).tasks.filter((t) => t.scope === 'full' && (t.kind === 'lanczos-top-k' || t.kind === 'slq-density'));
    assert.deepEqual(tasks.map((t) => t.kind).sort(), ['lanczos-top-k', 'slq-density']);
    for (const task of tasks) {
      whole = restricted = 0;
      const r = await executeTask(task, ctx, spec.convention);
      assert.equal(whole, 0, `${task.kind}: no product of the whole operator`);
      assert.ok(restricted > 0 && r.hvps === restricted, `${task.kind}: ${restricted} restricted products, ${r.hvps} counted`);
    }
  } finally {
    p.engine.dispose();
  }
});
