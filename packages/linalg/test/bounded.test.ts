import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DiagonalOperator, symmetricWithSpectrum } from '../src/dense.js';
import { lanczosLocal, thickRestartTop } from '../src/bounded.js';
import { lanczos } from '../src/lanczos.js';
import { topEigenvalues } from '../src/eigen.js';
import { quadratureFromTridiagonal, slqRun } from '../src/slq.js';
import { symmetricEigen } from '../src/symeig.js';
import { lanczosMemoryBytes } from '../src/memory.js';
import { wasserstein1 } from '../src/distance.js';
import { Rng } from '../src/random.js';
import { marchenkoPastur, sortedDescending } from './helpers.js';

/** A network-Hessian-like spectrum: 5 outliers over a Marchenko-Pastur bulk and a few negatives. */
function spectrum(n: number, seed: number): number[] {
  const rng = new Rng(seed);
  const bulk = marchenkoPastur(n - 8, 0.5, rng);
  return [...bulk, 200, 120, 80, 50, 30, -3, -1.5, -0.7];
}

test('symmetricEigen (Jacobi) diagonalizes a symmetric matrix with a known spectrum', () => {
  const eigs = [5, -2, 1e-3, 0, 3, 3, 7.5, -9];
  const op = symmetricWithSpectrum(eigs, new Rng(4));
  const m = eigs.length;
  const e = symmetricEigen(op.data, m);
  const want = eigs.slice().sort((a, b) => a - b);
  for (let i = 0; i < m; i++) {
    assert.ok(Math.abs(e.values[i] - want[i]) < 1e-12, `${e.values[i]} vs ${want[i]}`);
    // A v = lambda v
    for (let r = 0; r < m; r++) {
      let s = 0;
      for (let c = 0; c < m; c++) s += op.data[r * m + c] * e.vectors[i][c];
      assert.ok(Math.abs(s - e.values[i] * e.vectors[i][r]) < 1e-12);
    }
  }
});

test('local reorthogonalization: ghosts appear, yet the SLQ quadrature keeps the exact moments and density', async () => {
  // Diagonal operator: q's exact spectral measure is known (weights q_i^2 at d_i), so the
  // quadrature's moments can be compared with the truth, sum_i q_i^2 d_i^p, exactly.
  const n = 3000;
  const d = spectrum(n, 5);
  const op = new DiagonalOperator(d);
  const start = new Rng(6).rademacher(n);
  const steps = 120;
  const full = await lanczos(op, { steps, rng: new Rng(7), start });
  const local = await lanczosLocal(op, { steps, rng: new Rng(7), start });
  assert.equal(local.steps, steps);
  assert.equal(local.peakVectors, 4);
  const qf = quadratureFromTridiagonal(full.alpha, full.beta);
  const ql = quadratureFromTridiagonal(local.alpha, local.beta);
  // Discriminating: without global reorthogonalization the top outlier is found more than once.
  const ghosts = (q: { nodes: number[] }): number => q.nodes.filter((x) => Math.abs(x - 200) < 1e-6 * 200).length;
  assert.equal(ghosts(qf), 1);
  assert.ok(ghosts(ql) >= 2, `local run found 200 ${ghosts(ql)} times`);
  // ... whose copies share its weight: total weight at 200 = q's true weight there (1/n).
  const weightAt = (q: { nodes: number[]; weights: number[] }): number => q.nodes.reduce((a, x, i) => a + (Math.abs(x - 200) < 1e-6 * 200 ? q.weights[i] : 0), 0);
  assert.ok(Math.abs(weightAt(ql) - 1 / n) < 1e-3 / n, `weight at 200: ${weightAt(ql) * n}/n`);
  const q2 = 1 / n; // Rademacher start, normalized: every q_i^2 = 1/n
  for (let p = 1; p <= 10; p++) {
    const truth = d.reduce((a, x) => a + q2 * x ** p, 0);
    const mf = qf.nodes.reduce((a, x, i) => a + qf.weights[i] * x ** p, 0);
    const ml = ql.nodes.reduce((a, x, i) => a + ql.weights[i] * x ** p, 0);
    // Both carry only the float32 operator's rounding (measured: the same 4e-9 .. 3e-7 relative
    // for full and local at p = 1..10).
    assert.ok(Math.abs(mf - truth) <= 1e-6 * Math.abs(truth), `full moment ${p}: ${mf} vs ${truth}`);
    assert.ok(Math.abs(ml - truth) <= 1e-6 * Math.abs(truth), `local moment ${p}: ${ml} vs ${truth}`);
  }
  // The price: ghosts take nodes from the bulk, so the discrete measure resolves it less finely.
  // Measured W1 to q's exact measure: full 0.0073, local 0.018 (the bulk is 2.9 wide).
  const truth = { nodes: d, weights: d.map(() => 1 / n) };
  const wf = wasserstein1({ nodes: qf.nodes, weights: qf.weights }, truth);
  const wl = wasserstein1({ nodes: ql.nodes, weights: ql.weights }, truth);
  assert.ok(wf < 0.015 && wl < 0.03, `W1 to the exact measure: full ${wf}, local ${wl}`);
});

test('SLQ with reorth local (float32 basis too) agrees with full reorthogonalization on a dense operator', async () => {
  const n = 500;
  const op = symmetricWithSpectrum(spectrum(n, 8), new Rng(9));
  const full = await slqRun(op, { steps: 80, rng: new Rng(10) });
  for (const basis of ['float64', 'float32'] as const) {
    const local = await slqRun(op, { steps: 80, rng: new Rng(10), reorth: 'local', window: 3, basis });
    assert.equal(local.steps, 80);
    const w = wasserstein1({ nodes: full.nodes, weights: full.weights }, { nodes: local.nodes, weights: local.weights });
    // Measured 0.022 (window 3; 0.025 with window 2, 0.019 with 10); float32 vs float64 full: 1e-7.
    assert.ok(w < 3e-2, `${basis}: W1(full, local) = ${w}`);
  }
  await assert.rejects(slqRun(op, { steps: 5, rng: new Rng(1), reorth: 'local', window: 1 }), /window must be an integer of at least 2/);
});

for (const which of ['largest-algebraic', 'largest-magnitude'] as const) {
  test(`thick-restart Lanczos (${which}): top-3 of a known spectrum in a 10-vector basis`, async () => {
    const n = 600;
    const eigs = which === 'largest-algebraic' ? spectrum(n, 11) : spectrum(n, 11).map((x, i) => (i === n - 1 ? -400 : x));
    const op = symmetricWithSpectrum(eigs, new Rng(12));
    const want = which === 'largest-algebraic' ? sortedDescending(eigs).slice(0, 3) : eigs.slice().sort((a, b) => Math.abs(b) - Math.abs(a)).slice(0, 3);
    for (const basis of ['float64', 'float32'] as const) {
      const r = await thickRestartTop(op, { k: 3, rng: new Rng(13), tol: 1e-8, maxSteps: 400, maxBasis: 10, which, basis });
      assert.ok(r.converged, `${basis}: not converged in ${r.matvecs}`);
      assert.ok(r.restarts > 0);
      assert.ok(r.peakVectors <= 2 * 10 + 1, `peak ${r.peakVectors}`);
      r.values.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= 1e-6 * Math.abs(want[i]), `${basis} ${i}: ${v} vs ${want[i]}`));
    }
    // Through the public API: same answer as unrestarted Lanczos, residuals checked.
    const a = await topEigenvalues(op, { k: 3, rng: new Rng(14), tol: 1e-8, maxSteps: 400, maxBasis: 8, which });
    const b = await topEigenvalues(op, { k: 3, rng: new Rng(14), tol: 1e-8, maxSteps: 400, which });
    assert.ok(a.converged && b.converged && (a.restarts ?? 0) > 0 && b.restarts === undefined);
    a.eigenvalues.forEach((v, i) => assert.ok(Math.abs(v - b.eigenvalues[i]) <= 1e-5 * Math.abs(want[i])));
    a.residuals.forEach((r, i) => assert.ok(r <= 1e-4 * Math.abs(want[i]), `residual ${r}`));
  });
}

test('thick restart refuses a basis smaller than k + 2', async () => {
  const op = new DiagonalOperator([1, 2, 3, 4, 5, 6, 7, 8]);
  await assert.rejects(thickRestartTop(op, { k: 3, rng: new Rng(1), tol: 1e-6, maxSteps: 50, maxBasis: 4, which: 'largest-algebraic' }), /at least k \+ 2 = 5/);
});

test('lanczosMemoryBytes: full basis grows with the steps, local and thick-restart do not', () => {
  const dim = 11_172_810;
  const full = lanczosMemoryBytes({ dim, steps: 100, mode: 'full', storage: 'float64', k: 3 });
  assert.ok(full > 8.9e9 && full < 9.5e9, `${full}`);
  const f32 = lanczosMemoryBytes({ dim, steps: 100, mode: 'full', storage: 'float32', k: 3 });
  assert.ok(f32 < 0.55 * full);
  const local = lanczosMemoryBytes({ dim, steps: 100, mode: 'local', storage: 'float64' });
  assert.equal(local, lanczosMemoryBytes({ dim, steps: 10000, mode: 'local', storage: 'float64' }));
  assert.ok(local < 0.6e9);
  const thick = lanczosMemoryBytes({ dim, steps: 1000, mode: 'thick-restart', storage: 'float32', k: 3, maxBasis: 12 });
  // 12 float32 basis vectors + up to 10 float64 Ritz vectors at a restart + 3 work vectors.
  assert.ok(thick < 1.8e9, `${thick}`);
});
