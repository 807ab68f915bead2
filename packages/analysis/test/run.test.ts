/**
 * The embedded analysis against exact answers: explicit Hessians of tiny networks assembled
 * from HVPs of unit vectors, their exact eigenvalues and traces; and invariance of every
 * number to the number of workers and to repetition with the same seed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DenseSymmetricOperator, Rng, topEigenvalues } from '@hessian/linalg';
import { normalizeSpec, prepare, runAnalysis, type Report, type PartialSpec, type Prepared } from '../src/index.js';
import { againstExact, explicitScope } from './fixtures.js';

interface Exact {
  eigenvalues: number[];
  trace: number;
}

/** Exact top-3 and trace of a scope's explicit matrix. */
async function exactOf(p: Prepared, scope: string, kind: 'hessian' | 'gauss-newton' = 'hessian'): Promise<Exact> {
  const { m, n, trace } = await explicitScope(p, scope, kind);
  // Lanczos run to the full dimension on the explicit matrix is an exact eigensolver.
  const top = await topEigenvalues(new DenseSymmetricOperator(n, m), { k: 3, rng: new Rng(99), tol: 1e-12, maxSteps: n });
  return { eigenvalues: top.eigenvalues, trace };
}

function numbers(r: Report) {
  // Everything but timings and creation time.
  return r.scopes.map((s) => ({
    name: s.name,
    operators: s.operators.map((o) => ({ top: o.top, trace: o.trace, density: o.density, similarity: o.similarity, traceFromFullProbes: o.traceFromFullProbes, hvps: o.hvps })),
  }));
}

const base: PartialSpec = {
  model: 'zoo:tiny-mlp',
  data: 'synthetic:48',
  topK: { k: 3 },
  trace: { method: 'hutchinson', probes: 200, chunk: 25, fromFullProbes: true },
  density: { runs: 3, steps: 30 },
  seed: 11,
  // the estimators against exact answers: exact blocks (exact.test.ts) off
  exactMax: 0,
};

describe('analysis of tiny-mlp against its explicit Hessian', () => {
  const f = againstExact(normalizeSpec(base), exactOf);

  test('top-3 eigenvalues of every scope equal the exact ones to 1e-4 relative, with small residuals', () => {
    for (const s of f.report.scopes) {
      const top = s.operators[0].top!;
      const want = f.exact.get(s.name)!.eigenvalues;
      assert.equal(top.values.length, 3, s.name);
      for (let i = 0; i < 3; i++) assert.ok(Math.abs(top.values[i] - want[i]) <= 1e-4 * Math.abs(want[0]), `${s.name} λ${i + 1}: ${top.values[i]} vs exact ${want[i]}`);
      assert.ok(top.residuals[0] <= 1e-3 * Math.abs(want[0]), `${s.name} residual ${top.residuals[0]}`);
      assert.ok(top.converged);
    }
  });

  test('traces lie within 3 standard errors of the exact traces, per block and from full-network probes', () => {
    let layerSum = 0;
    for (const s of f.report.scopes) {
      const t = s.operators[0].trace!;
      const want = f.exact.get(s.name)!.trace;
      assert.equal(t.probes, 200);
      assert.ok(t.stderr > 0);
      assert.ok(Math.abs(t.mean - want) <= 3 * t.stderr, `${s.name}: ${t.mean} ± ${t.stderr} vs exact ${want}`);
      if (s.kind === 'layer') {
        layerSum += want;
        const f = s.operators[0].traceFromFullProbes!;
        assert.equal(f.probes, 200);
        assert.ok(Math.abs(f.mean - want) <= 3 * f.stderr, `${s.name} from full probes: ${f.mean} ± ${f.stderr} vs exact ${want}`);
      }
    }
    // The trace of the full Hessian is the sum of its diagonal blocks' traces.
    assert.ok(Math.abs(f.exact.get('full')!.trace - layerSum) <= 1e-4 * Math.abs(layerSum));
  });

  test('the density integrates to 1, its mean equals trace/n, and layers carry distances to the full network', () => {
    for (const s of f.report.scopes) {
      const d = s.operators[0].density!;
      assert.equal(d.runs, 3);
      const w = d.weights.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(w - 1) < 1e-9);
      const mean = d.nodes.reduce((a, x, i) => a + x * d.weights[i], 0);
      // SLQ's first moment is v^T H v / (n v^T v) for each run's Rademacher start: a Hutchinson
      // sample over n. Its standard error over the runs follows from the trace's per-probe spread.
      const t = s.operators[0].trace!;
      const perRunSd = (t.stderr * Math.sqrt(t.probes)) / s.params;
      const want = f.exact.get(s.name)!.trace / s.params;
      assert.ok(Math.abs(mean - want) <= (4 * perRunSd) / Math.sqrt(d.runs), `${s.name}: SLQ mean ${mean} vs ${want}`);
      if (s.kind === 'layer') {
        assert.ok(s.operators[0].similarity!.wasserstein1 >= 0);
        assert.ok(s.operators[0].similarity!.jensenShannon >= 0 && s.operators[0].similarity!.jensenShannon <= Math.LN2 + 1e-9);
      } else assert.equal(s.operators[0].similarity, undefined);
    }
  });

  test('the same seed gives identical numbers; another seed other probes', async () => {
    const again = await runAnalysis(normalizeSpec(base), { backend: 'cpu' });
    assert.deepEqual(numbers(again), numbers(f.report));
    const other = await runAnalysis(normalizeSpec({ ...base, seed: 12, density: null, topK: null }), { backend: 'cpu' });
    assert.notEqual(other.scopes[0].operators[0].trace!.mean, f.report.scopes[0].operators[0].trace!.mean);
  });
});

test('numbers do not change with the number of worker threads (tiny-cnn, Gauss-Newton, early stopping)', async () => {
  const spec = normalizeSpec({
    model: 'zoo:tiny-cnn',
    data: 'synthetic:24',
    topK: { k: 2, maxIter: 40 },
    trace: { probes: 60, chunk: 5, targetRelStderr: 0.05 },
    density: { runs: 2, steps: 20 },
    gaussNewton: true,
    seed: 5,
  });
  const one = await runAnalysis(spec, { backend: 'cpu', workers: 1 });
  const three = await runAnalysis(spec, { backend: 'cpu', workers: 3 });
  assert.equal(three.totals.workers, 3);
  assert.equal(one.products, 'R-op');
  assert.deepEqual(numbers(three).map(strip), numbers(one).map(strip));
  assert.deepEqual(
    one.scopes[0].operators.map((o) => o.operator),
    ['hessian', 'gauss-newton', 'residual'],
  );
});

/** HVP totals may differ under early stopping (chunks computed past the target are ignored), numbers may not. */
function strip(s: ReturnType<typeof numbers>[number]) {
  return { ...s, operators: s.operators.map((o) => ({ ...o, hvps: undefined })) };
}

test('Gauss-Newton traces match the explicit G of tiny-mlp', async () => {
  const spec = normalizeSpec({ ...base, topK: { k: 2 }, density: null, trace: { method: 'hutchinson', probes: 150, chunk: 50 }, gaussNewton: true });
  const p = await prepare(spec, 'cpu');
  try {
    const exactG = await exactOf(p, 'full', 'gauss-newton');
    const exactH = await exactOf(p, 'full', 'hessian');
    const r = await runAnalysis(spec, { backend: 'cpu' });
    const [h, g, res] = r.scopes[0].operators;
    assert.ok(Math.abs(g.top!.values[0] - exactG.eigenvalues[0]) <= 1e-4 * Math.abs(exactG.eigenvalues[0]));
    assert.ok(Math.abs(g.trace!.mean - exactG.trace) <= 3 * g.trace!.stderr);
    assert.ok(Math.abs(res.trace!.mean - (exactH.trace - exactG.trace)) <= 3 * res.trace!.stderr + 1e-6);
    assert.ok(Math.abs(h.trace!.mean - exactH.trace) <= 3 * h.trace!.stderr);
  } finally {
    p.engine.dispose();
    p.model.dispose();
  }
});
