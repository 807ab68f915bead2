/**
 * The paper's ResNet-18 as a narrow copy (width 1/32: 2-4-8-16 channels, 8x8x1 inputs): the
 * embedded analysis of its layer blocks against their explicit Hessians, and the bounded-memory
 * Lanczos modes of the full network against the unbounded run on the same model.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { symmetricEigen } from '@hessian/linalg';
import { executeTask, normalizeSpec, prepare, runAnalysis, type Prepared, type PartialSpec } from '../src/index.js';
import { explicitScope } from './fixtures.js';

const MODEL = 'zoo:resnet18?width=0.03125&input=8x8x1&classes=3';
const BASE: PartialSpec = { model: MODEL, data: 'synthetic:8', seed: 4, modelSeed: 1, batchSize: 4 };
let p: Prepared;

before(async () => {
  p = await prepare(normalizeSpec(BASE), 'cpu');
});
after(() => {
  p?.engine.dispose();
  p?.model.dispose();
});

async function explicit(scope: string): Promise<{ eig: number[]; trace: number }> {
  const { m, n, trace } = await explicitScope(p, scope);
  return { eig: Array.from(symmetricEigen(m, n).values).reverse(), trace };
}

test('narrow resnet18: layer blocks (first conv, a shortcut conv, fc) match their explicit Hessians', async () => {
  const layers = ['conv1', 'layer2_0_shortcut_conv', 'fc'];
  const report = await runAnalysis(normalizeSpec({ ...BASE, layers: { select: 'names', names: layers }, full: false, topK: { k: 3, tol: 1e-6, maxIter: 40 }, trace: { probes: 40, chunk: 20 }, density: null, similarity: false }), { backend: 'cpu' });
  assert.deepEqual(report.scopes.map((s) => s.name), layers);
  for (const s of report.scopes) {
    const want = await explicit(s.name);
    const top = s.operators[0].top!;
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(top.values[i] - want.eig[i]) <= 1e-4 * Math.abs(want.eig[0]), `${s.name} λ${i + 1}: ${top.values[i]} vs exact ${want.eig[i]}`);
    const t = s.operators[0].trace!;
    // An exact trace (stderr 0: the exact diagonal or an exact block) must agree to float32
    // rounding; an estimate must lie within 4 standard errors.
    const tol = t.method === 'exact' ? 1e-5 * Math.abs(want.trace) : 4 * t.stderr;
    assert.ok(Math.abs(t.mean - want.trace) <= tol, `${s.name} trace ${t.mean} ± ${t.stderr} (${t.method}) vs exact ${want.trace}`);
  }
});

test('narrow resnet18, full network: thick restart and local SLQ under a tight budget agree with the unbounded run', async () => {
  const dim = p.model.paramCount;
  const tight = { available: dim * 8 * 12 }; // 12 float64 vectors: no full basis of 60 steps
  const top = { id: 'full/hessian/top-k', kind: 'lanczos-top-k' as const, scope: 'full', operator: 'hessian' as const, k: 3, method: 'lanczos' as const, tol: 1e-5, maxIter: 120, seed: 9, cost: 123 };
  const bounded = await executeTask(top, p.engine, 'layer', tight);
  const full = await executeTask({ ...top, maxIter: 60 }, p.engine, 'layer');
  assert.ok(bounded.kind === 'lanczos-top-k' && full.kind === 'lanczos-top-k');
  if (bounded.kind !== 'lanczos-top-k' || full.kind !== 'lanczos-top-k') return;
  assert.match(bounded.lanczos ?? '', /^thick-restart\/float32/);
  assert.equal(full.lanczos, undefined);
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(bounded.eigenvalues[i] - full.eigenvalues[i]) <= 1e-4 * Math.abs(full.eigenvalues[0]), `λ${i + 1}: bounded ${bounded.eigenvalues[i]} vs full ${full.eigenvalues[i]}`);
  const run = { id: 'full/hessian/density/0', kind: 'slq-density' as const, scope: 'full', operator: 'hessian' as const, index: 0, steps: 30, seed: 10, cost: 30 };
  const loc = await executeTask(run, p.engine, 'layer', { available: dim * 8 * 8 });
  const ful = await executeTask(run, p.engine, 'layer');
  assert.ok(loc.kind === 'slq-density' && ful.kind === 'slq-density');
  if (loc.kind !== 'slq-density' || ful.kind !== 'slq-density') return;
  assert.equal(loc.lanczos, 'local/float64');
  // Same start vector: the quadratures' low moments agree (q^T H^p q, p <= 4).
  for (let q = 1; q <= 4; q++) {
    const a = loc.nodes.reduce((s, x, i) => s + loc.weights[i] * x ** q, 0);
    const b = ful.nodes.reduce((s, x, i) => s + ful.weights[i] * x ** q, 0);
    assert.ok(Math.abs(a - b) <= 1e-4 * Math.abs(b), `moment ${q}: local ${a} vs full ${b}`);
  }
});
