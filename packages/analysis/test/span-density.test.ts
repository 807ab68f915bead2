/**
 * SLQ on the span of a fixed Dense input (engine spanOperator): tiny-mlp (8 inputs) on 5
 * examples leaves (8 - 5) x 6 = 18 exact zero eigenvalues out of the full network's 75 and of
 * dense1's 54. The report must carry them as a node at 0 with weight 18 / n and say so; the
 * top eigenvalue from the restricted run must be the explicit Hessian's; with as many examples as
 * inputs nothing is restricted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { symmetricEigenvalues } from '@hessian/linalg';
import { normalizeSpec, prepare, runAnalysis, type PartialSpec } from '../src/index.js';
import { explicitScope } from './fixtures.js';

const base: PartialSpec = {
  model: 'zoo:tiny-mlp',
  data: 'synthetic:5',
  full: true,
  topK: { k: 1 },
  trace: null,
  density: { runs: 1, steps: 40 },
  seed: 4,
  exactMax: 0,
};

test('a density run on the span of 5 inputs of 8: 18 exact zeros as a node at 0, the explicit top eigenvalue', async () => {
  const spec = normalizeSpec(base);
  const report = await runAnalysis(spec, { backend: 'cpu' });
  const p = await prepare(spec, 'cpu');
  try {
    for (const [name, n] of [['full', 75], ['dense1', 54]] as const) {
      const s = report.scopes.find((x) => x.name === name)!;
      const d = s.operators[0].density!;
      assert.deepEqual(d.exactZeros, { count: 18, layer: 'dense1', rank: 5, width: 8 }, name);
      const total = d.weights.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(total - 1) < 1e-9, `${name}: weights sum to ${total}`);
      const atZero = d.nodes.reduce((a, x, i) => (x === 0 ? a + d.weights[i] : a), 0);
      assert.ok(atZero >= 18 / n - 1e-12, `${name}: weight at 0 is ${atZero}, at least 18/${n}`);
      const e = await explicitScope(p, name);
      const exact = symmetricEigenvalues(e.m, e.n);
      const top = exact[e.n - 1];
      assert.ok(Math.abs(s.operators[0].top!.values[0] - top) <= 1e-4 * Math.abs(top), `${name}: top ${s.operators[0].top!.values[0]} vs exact ${top}`);
      // the explicit Hessian does have those zeros
      assert.ok(exact.filter((x) => Math.abs(x) <= 1e-6 * Math.abs(top)).length >= 18, `${name}: explicit zeros`);
    }
    // dense2's input (6 columns, 5 rows) is fixed for its block: restricted too, not in the full network
    assert.equal(report.scopes.find((x) => x.name === 'dense2')!.operators[0].density!.exactZeros?.layer, 'dense2');
  } finally {
    p.engine.dispose();
  }
});

test('as many examples as inputs: no restriction, no exactZeros', async () => {
  const report = await runAnalysis(normalizeSpec({ ...base, data: 'synthetic:8' }), { backend: 'cpu' });
  assert.equal(report.scopes.length, 3);
  for (const s of report.scopes) assert.equal(s.operators[0].density!.exactZeros, undefined, s.name);
});
