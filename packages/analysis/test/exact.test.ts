/**
 * Exact where it is cheap (estimators/exact-block.ts, exact-diagonal.ts, exact-rule.ts) against
 * explicit Hessians: every eigenvalue, trace and the ESD's nodes of small blocks, the traces of
 * large scopes from the exact diagonal; the rule and its reasons in the report; a model with a
 * smooth activation falls back to Hutchinson and says why; --exact-max 0 turns it off.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, symmetricEigenvalues } from '@hessian/linalg';
import { modelFromArtifacts } from '@hessian/engine';
import { normalizeSpec, runAnalysis, type Prepared } from '../src/index.js';
import { againstExact, explicitScope } from './fixtures.js';

/** Every eigenvalue (ascending) of a scope's explicit Hessian. */
async function explicitEigenvalues(p: Prepared, scope: string): Promise<Float64Array> {
  const { m, n } = await explicitScope(p, scope);
  return symmetricEigenvalues(m, n);
}

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol * Math.max(Math.abs(b), 1e-12), `${what}: ${a} vs ${b}`);

describe('exact blocks and exact traces on tiny-cnn (every supported layer type)', () => {
  const f = againstExact(normalizeSpec({ model: 'zoo:tiny-cnn', data: 'synthetic:24', topK: { k: 3 }, density: { runs: 2, steps: 20 }, seed: 5, exactMax: 80 }), explicitEigenvalues);

  test('blocks up to --exact-max are exact: every eigenvalue, top-k with zero residual, trace, ESD nodes', () => {
    let exactScopes = 0;
    for (const s of f.report.scopes) {
      const o = s.operators[0];
      const ev = f.exact.get(s.name) as Float64Array;
      const n = ev.length;
      if (s.params > 80) {
        assert.notEqual(o.top?.method, 'exact', s.name);
        assert.match(o.methods?.top?.why ?? '', /^estimated: \d+ parameters > --exact-max 80/);
        continue;
      }
      exactScopes++;
      assert.equal(o.top?.method, 'exact');
      assert.match(o.methods?.top?.why ?? '', /^exact: \d+ <= --exact-max 80/);
      const scale = Math.max(Math.abs(ev[0]), Math.abs(ev[n - 1]));
      o.top?.values.forEach((v, i) => assert.ok(Math.abs(v - ev[n - 1 - i]) <= 1e-5 * scale, `${s.name} top ${i}`));
      assert.deepEqual(o.top?.residuals, [0, 0, 0]);
      assert.equal(o.trace?.method, 'exact');
      close(o.trace?.mean ?? NaN, ev.reduce((a, b) => a + b, 0), 1e-5, `${s.name} trace`);
      assert.equal(o.trace?.stderr, 0);
      assert.equal(o.density?.method, 'exact');
      assert.equal(o.density?.nodes.length, n);
      o.density?.nodes.forEach((v, i) => assert.ok(Math.abs(v - ev[i]) <= 1e-5 * scale, `${s.name} node ${i}`));
    }
    assert.ok(exactScopes >= 3, `${exactScopes} exact scopes`);
  });

  test('larger scopes: the trace is the exact diagonal (ReLU/pooling/BN/Add network), the rest estimated', () => {
    for (const s of f.report.scopes) {
      if (s.params <= 80) continue;
      const o = s.operators[0];
      const ev = f.exact.get(s.name) as Float64Array;
      assert.equal(o.trace?.method, 'exact', s.name);
      assert.match(o.methods?.trace?.why ?? '', /^exact/);
      close(o.trace?.mean ?? NaN, ev.reduce((a, b) => a + b, 0), 1e-5, `${s.name} trace by the diagonal`);
      assert.equal(o.trace?.probes, 0);
      assert.equal(o.top?.method, 'lanczos');
      assert.equal(o.density?.method ?? 'slq', 'slq');
    }
  });
});

test('--exact-max 0 and --trace-method hutchinson give the stochastic estimates', async () => {
  const r = await runAnalysis(normalizeSpec({ model: 'zoo:tiny-mlp', data: 'synthetic:24', topK: { k: 1 }, trace: { method: 'hutchinson', probes: 20, chunk: 10 }, density: null, exactMax: 0, seed: 2 }), { backend: 'cpu' });
  for (const s of r.scopes) {
    assert.equal(s.operators[0].top?.method, 'lanczos');
    assert.equal(s.operators[0].trace?.method, 'hutchinson');
    assert.equal(s.operators[0].trace?.probes, 20);
    assert.match(s.operators[0].methods?.top?.why ?? '', /--exact-max 0/);
  }
});

test('a tanh inside: the trace falls back to Hutchinson where the diagonal is not exact, and says why', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'exact-tanh-'));
  const rng = new Rng(3);
  const layer = (name: string, units: number, activation: string, extra: object = {}) => ({ class_name: 'Dense', config: { name, units, activation, use_bias: true, ...extra } });
  const topology = { class_name: 'Sequential', config: { name: 'tanhnet', layers: [{ class_name: 'Flatten', config: { name: 'flatten', batch_input_shape: [null, 4, 4, 1] } }, layer('d1', 6, 'tanh'), layer('d2', 10, 'linear')] } };
  const shapes: [string, number[]][] = [['d1/kernel', [16, 6]], ['d1/bias', [6]], ['d2/kernel', [6, 10]], ['d2/bias', [10]]];
  const values = rng.gaussian(shapes.reduce((a, [, s]) => a + s[0] * (s[1] ?? 1), 0));
  const m = modelFromArtifacts({ modelTopology: topology, weightSpecs: shapes.map(([name, shape]) => ({ name, shape, dtype: 'float32' })), weightData: values.slice().buffer, source: 'test' }, 'tanhnet');
  await m.save(dir);
  m.dispose();
  const r = await runAnalysis(normalizeSpec({ model: join(dir, 'model.json'), data: 'synthetic:12', topK: null, density: null, trace: { probes: 30, chunk: 10 }, exactMax: 0, seed: 1 }), { backend: 'cpu' });
  const byName = new Map(r.scopes.map((s) => [s.name, s.operators[0]]));
  assert.equal(byName.get('d2')?.trace?.method, 'exact');
  for (const name of ['full', 'd1']) {
    const t = byName.get(name)?.trace;
    assert.equal(t?.method, 'hutchinson', name);
    assert.equal(t?.probes, 30);
    assert.match(byName.get(name)?.methods?.trace?.why ?? '', /not exact: layer 'd1' applies tanh.*Hutchinson/);
  }
  await rm(dir, { recursive: true });
});
