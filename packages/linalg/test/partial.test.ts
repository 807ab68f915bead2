import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DiagonalOperator, symmetricWithSpectrum } from '../src/dense.js';
import { lanczos } from '../src/lanczos.js';
import { lanczosPartial, PARTIAL_REORTH_EPS } from '../src/partial.js';
import { quadratureFromTridiagonal, slqRun } from '../src/slq.js';
import { wasserstein1 } from '../src/distance.js';
import { Rng } from '../src/random.js';
import { dot } from '../src/vector.js';
import { marchenkoPastur } from './helpers.js';

/** A network-Hessian-like spectrum: 5 outliers over a Marchenko-Pastur bulk and a few negatives. */
function spectrum(n: number, seed: number): number[] {
  const bulk = marchenkoPastur(n - 8, 0.5, new Rng(seed));
  return [...bulk, 200, 120, 80, 50, 30, -3, -1.5, -0.7];
}

test('partial reorthogonalization: semi-orthogonal basis, no ghosts, the full run\'s quadrature, a fraction of the sweeps', async () => {
  const n = 3000;
  const d = spectrum(n, 5);
  const op = new DiagonalOperator(d);
  const start = new Rng(6).rademacher(n);
  const steps = 120;
  const full = await lanczos(op, { steps, rng: new Rng(7), start });
  const part = await lanczosPartial(op, { steps, rng: new Rng(7), start, keepBasis: true });
  assert.equal(part.steps, steps);
  // True orthogonality of the kept basis: within sqrt(eps) (the estimate is an upper bound).
  const basis = part.basis ?? [];
  let worst = 0;
  for (let i = 0; i < basis.length; i++) for (let k = 0; k < i; k++) worst = Math.max(worst, Math.abs(dot(basis[i], basis[k])));
  assert.ok(worst <= Math.sqrt(PARTIAL_REORTH_EPS), `max |q_i . q_k| = ${worst}`);
  // Discriminating: orthogonality was lost and restored (some sweeps), in fewer sweeps than steps
  // (measured 76 of 120 on this spectrum, whose top outlier is 70 times the bulk's width; 46 of
  // 100 on the zoo MLP's Hessian).
  assert.ok(part.fullReorths >= 2 && part.fullReorths <= 0.7 * steps, `full sweeps: ${part.fullReorths} of ${steps}`);
  // PROPACK's selection (only the q_k estimated above eps^(3/4)) orthogonalizes against fewer
  // vectors than Simon's whole-basis sweeps would (each of those counts its step's j - 1 older ones)
  // and keeps the same bound above (measured 2578 vectors in 81 sweeps, against about 81 x 60
  // for whole-basis sweeps spread over 120 steps).
  assert.ok(part.reorthVectors > 0 && part.reorthVectors < 0.7 * part.fullReorths * (steps / 2), `vectors: ${part.reorthVectors} in ${part.fullReorths} sweeps`);
  const qf = quadratureFromTridiagonal(full.alpha, full.beta);
  const qp = quadratureFromTridiagonal(part.alpha, part.beta);
  const copies = (q: { nodes: number[] }): number => q.nodes.filter((x) => Math.abs(x - 200) < 1e-6 * 200).length;
  assert.equal(copies(qp), 1, 'no ghost of the top outlier');
  for (const top of [200, 120, 80, 50, 30]) {
    const near = qp.nodes.reduce((b, x) => (Math.abs(x - top) < Math.abs(b - top) ? x : b), Infinity);
    assert.ok(Math.abs(near - top) <= 1e-6 * top, `outlier ${top}: nearest node ${near}`);
  }
  const q2 = 1 / n;
  for (let p = 1; p <= 10; p++) {
    const truth = d.reduce((a, x) => a + q2 * x ** p, 0);
    const mp = qp.nodes.reduce((a, x, i) => a + qp.weights[i] * x ** p, 0);
    assert.ok(Math.abs(mp - truth) <= 1e-6 * Math.abs(truth), `moment ${p}: ${mp} vs ${truth}`);
  }
  // The node measure resolves the bulk as finely as full reorthogonalization's (measured W1 to
  // the exact measure: full 0.0073).
  const truth = { nodes: d, weights: d.map(() => 1 / n) };
  const wf = wasserstein1({ nodes: qf.nodes, weights: qf.weights }, truth);
  const wp = wasserstein1({ nodes: qp.nodes, weights: qp.weights }, truth);
  assert.ok(wp <= 1.2 * wf, `W1 to the exact measure: full ${wf}, partial ${wp}`);
});

test('SLQ with reorth partial (float32 basis too) matches full reorthogonalization on a dense operator', async () => {
  const n = 500;
  const op = symmetricWithSpectrum(spectrum(n, 8), new Rng(9));
  const full = await slqRun(op, { steps: 80, rng: new Rng(10) });
  for (const basis of ['float64', 'float32'] as const) {
    const part = await slqRun(op, { steps: 80, rng: new Rng(10), reorth: 'partial', basis });
    assert.equal(part.steps, 80);
    const w = wasserstein1({ nodes: full.nodes, weights: full.weights }, { nodes: part.nodes, weights: part.weights });
    assert.ok(w < 2e-3, `${basis}: W1(full, partial) = ${w}`);
  }
  await assert.rejects(lanczosPartial(op, { steps: 5, rng: new Rng(1), eps: 2 }), /eps must be in \(0, 1\)/);
});
