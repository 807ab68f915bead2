/**
 * aggregate on hand-made results: which results count (the trace prefix under a target),
 * totals, where each estimator's fields land, similarity only for layers, and missing results.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ParamGroup } from '@hessian/engine';
import { aggregate, normalizeSpec, plan, type Task, type TaskResult } from '../src/index.js';

const groups: ParamGroup[] = [
  { name: 'l1', className: 'Dense', size: 6, tensors: [{ name: 'l1/kernel', offset: 0, size: 6 }] },
  { name: 'l2', className: 'Dense', size: 4, tensors: [{ name: 'l2/kernel', offset: 6, size: 4 }] },
];
const meta = { tool: { name: 't', version: '0' }, model: { spec: 'm', name: 'm', params: 10, inputShape: [2] }, data: { spec: 'd', description: 'd', examples: 3 }, backend: 'cpu', lossValue: 1, workers: 1, seconds: 0, createdAt: 'x' };

/** A result per task: samples (trace chunk i of scope s gives [base + i] x probes), 2-node densities, top values. */
function fake(t: Task, base: Record<string, number>): TaskResult {
  const head = { id: t.id, hvps: t.cost, seconds: 0.5 };
  switch (t.kind) {
    case 'lanczos-top-k':
      return { ...head, kind: t.kind, method: 'lanczos', eigenvalues: [base[t.scope]], residuals: [1e-6], converged: true, iterations: 4 };
    case 'power-iteration':
      return { ...head, kind: t.kind, method: 'power', eigenvalues: [base[t.scope]], residuals: [1e-6], converged: true, iterations: 4 };
    case 'hutchinson':
      return { ...head, kind: t.kind, samples: Array(t.probes).fill(base[t.scope] + t.index) };
    case 'hutch++':
      return { ...head, kind: t.kind, mean: base[t.scope], stderr: 0.1, probes: 3 };
    case 'slq-density':
      return { ...head, kind: t.kind, nodes: [0, base[t.scope]], weights: [0.5, 0.5], steps: t.steps };
    case 'trace-from-full-probes':
      return { ...head, kind: t.kind, samples: Object.fromEntries(t.layers.map((l) => [l, Array(t.probes).fill(base[l] * 2)])) };
    case 'exact-block':
      return { ...head, kind: t.kind, eigenvalues: [0, base[t.scope]], source: 'unit-vector products', asymmetry: 0 };
    case 'auto':
    case 'exact-diagonal':
      return t.index < 0 ? { ...head, kind: t.kind, exact: true, sum: base[t.scope], why: 'exact: test' } : { ...head, kind: t.kind, samples: Array(t.probes).fill(base[t.scope]) };
  }
}

test('aggregate puts each estimator in its place and counts every result', () => {
  const spec = normalizeSpec({ model: 'm', topK: { k: 1 }, trace: { method: 'hutchinson', probes: 20, chunk: 10, fromFullProbes: true }, density: { runs: 2, steps: 3, gridPoints: 50 }, exactMax: 0 });
  const p = plan(spec, groups);
  const base = { full: 10, l1: 4, l2: 6 };
  const results = new Map(p.tasks.map((t) => [t.id, fake(t, base)]));
  const r = aggregate(spec, p, results, meta);
  assert.deepEqual(r.scopes.map((s) => s.name), ['full', 'l1', 'l2']);
  assert.equal(r.totals.tasks, p.tasks.length);
  assert.equal(r.totals.hvps, p.tasks.reduce((s, t) => s + t.cost, 0));
  const [full, l1] = r.scopes.map((s) => s.operators[0]);
  assert.deepEqual(Object.keys(l1), ['operator', 'hvps', 'seconds', 'top', 'trace', 'density', 'traceFromFullProbes', 'methods', 'similarity']);
  assert.deepEqual(full.top!.values, [10]);
  // chunks 0 and 1 of l1: samples 4 (x10) and 5 (x10)
  assert.equal(l1.trace!.mean, 4.5);
  assert.equal(l1.trace!.probes, 20);
  assert.equal(l1.traceFromFullProbes!.mean, 8);
  assert.equal(l1.density!.runs, 2);
  assert.equal(full.similarity, undefined);
  assert.ok(l1.similarity!.wasserstein1 > 0);
  assert.equal(full.traceFromFullProbes, undefined);
});

test('aggregate uses only the trace prefix that met the target and leaves out what has no result', () => {
  const spec = normalizeSpec({ model: 'm', topK: null, density: null, full: false, trace: { method: 'hutchinson', probes: 40, chunk: 10, targetRelStderr: 0.5 }, exactMax: 0 });
  const p = plan(spec, groups);
  const results = new Map<string, TaskResult>();
  for (const t of p.tasks) if (t.scope === 'l1') results.set(t.id, fake(t, { l1: 4 }));
  const r = aggregate(spec, p, results, meta);
  const [l1, l2] = r.scopes.map((s) => s.operators[0]);
  // Constant chunks: stderr 0 after the first chunk (10 probes), so only chunk 0 counts.
  assert.equal(l1.trace!.mean, 4);
  assert.equal(l1.trace!.probes, 10);
  assert.equal(l1.trace!.hvps, 10);
  assert.equal(l1.hvps, 40, 'the operator total counts every result, used or not');
  assert.equal(l2.trace, undefined);
  assert.equal(r.totals.tasks, 4);
});
