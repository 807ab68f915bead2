import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DiagonalOperator, symmetricWithSpectrum } from '../src/dense.js';
import { quadratureFromTridiagonal, slqRun, smoothDensity, spectralMoments, type SlqRun } from '../src/slq.js';
import { Rng } from '../src/random.js';
import { isUserError } from '../src/errors.js';
import { marchenkoPastur, sum } from './helpers.js';

/** Trapezoid rule on a uniform grid. */
function trapezoid(grid: number[], f: number[]): number {
  let s = 0;
  for (let i = 1; i < grid.length; i++) s += 0.5 * (f[i] + f[i - 1]) * (grid[i] - grid[i - 1]);
  return s;
}

/** A diagonal operator of 500 entries taking 5 distinct values with multiplicities, shuffled (seed 1). */
function fiveValues(): { values: number[]; mult: number[]; diag: number[]; op: DiagonalOperator } {
  const values = [-2, 0.5, 1, 3, 10];
  const mult = [50, 150, 100, 120, 80];
  const diag: number[] = [];
  values.forEach((v, i) => diag.push(...new Array<number>(mult[i]).fill(v)));
  const perm = new Rng(1).permutation(diag.length);
  return { values, mult, diag, op: new DiagonalOperator(Array.from(perm, (p) => diag[p])) };
}

test('SLQ exact check: 5 distinct eigenvalues, diagonal operator, Rademacher start', async () => {
  // With a diagonal A and q = v/sqrt(n), q_i^2 = 1/n exactly, so q's spectral measure IS the
  // spectral density, and m >= 5 Lanczos steps (Gauss quadrature exact to degree 2m-1 >= 9)
  // recover it: nodes = the 5 values, weights = multiplicity / n, moments exact.
  const { values, mult, diag, op } = fiveValues();
  const n = op.dim;
  const run = await slqRun(op, { steps: 5, rng: new Rng(2) });
  assert.equal(run.steps, 5);
  assert.equal(run.matvecs, 5);
  for (let i = 0; i < 5; i++) {
    assert.ok(Math.abs(run.nodes[i] - values[i]) < 1e-5, `node ${run.nodes[i]}`);
    assert.ok(Math.abs(run.weights[i] - mult[i] / n) < 1e-6, `weight ${run.weights[i]}`);
  }
  assert.ok(Math.abs(sum(run.weights) - 1) < 1e-12);
  // More steps than distinct values: the extra nodes carry no weight, moments still exact.
  const long = await slqRun(op, { steps: 12, rng: new Rng(3) });
  const moments = spectralMoments([long], 6);
  for (let p = 1; p <= 6; p++) {
    const truth = sum(diag.map((x) => x ** p)) / n;
    assert.ok(Math.abs(moments[p - 1] - truth) < 1e-5 * Math.max(1, Math.abs(truth)), `moment ${p}: ${moments[p - 1]} vs ${truth}`);
  }
});

test('SLQ exact check with a float32 basis: same nodes and weights', async () => {
  const { values, mult, diag, op } = fiveValues();
  const run = await slqRun(op, { steps: 5, rng: new Rng(2), basis: 'float32' });
  for (let i = 0; i < 5; i++) {
    assert.ok(Math.abs(run.nodes[i] - values[i]) < 1e-5, `node ${run.nodes[i]}`);
    assert.ok(Math.abs(run.weights[i] - mult[i] / op.dim) < 1e-6, `weight ${run.weights[i]}`);
  }
  const long = await slqRun(op, { steps: 12, rng: new Rng(3), basis: 'float32' });
  const moments = spectralMoments([long], 6);
  for (let p = 1; p <= 6; p++) {
    const truth = sum(diag.map((x) => x ** p)) / op.dim;
    assert.ok(Math.abs(moments[p - 1] - truth) < 1e-5 * Math.max(1, Math.abs(truth)), `moment ${p}: ${moments[p - 1]} vs ${truth}`);
  }
});

test('SLQ statistical check: (1/n) tr A and (1/n) tr A^2 within 4 SE over 30 runs (random spectrum, random eigenvectors)', async () => {
  const rng = new Rng(10);
  const eigs = [...marchenkoPastur(396, 0.5, rng.fork('bulk')), 4, 5, 6, 8];
  const a = symmetricWithSpectrum(eigs, rng.fork('q'));
  const n = eigs.length;
  const runs: SlqRun[] = [];
  for (let r = 0; r < 30; r++) runs.push(await slqRun(a, { steps: 20, rng: rng.fork(`run/${r}`) }));
  const m = spectralMoments(runs, 2);
  for (let p = 1; p <= 2; p++) {
    const truth = sum(eigs.map((x) => x ** p)) / n;
    // Per-run estimates q^T A^p q are exact quadratures; their spread gives the standard error.
    const per = runs.map((run) => spectralMoments([run], p)[p - 1]);
    const mean = sum(per) / per.length;
    assert.ok(Math.abs(mean - m[p - 1]) < 1e-12);
    const sd = Math.sqrt(sum(per.map((x) => (x - mean) ** 2)) / (per.length - 1));
    const se = sd / Math.sqrt(per.length);
    assert.ok(se > 0 && se < 0.05 * truth, `se ${se}`);
    assert.ok(Math.abs(m[p - 1] - truth) < 4 * se, `moment ${p}: ${m[p - 1]} vs ${truth} (se ${se})`);
  }
});

test('smoothed densities integrate to 1; PyHessian grid and kernel conventions', async () => {
  const rng = new Rng(20);
  const eigs = [...marchenkoPastur(296, 0.5, rng.fork('bulk')), 20, 30, 50, 80];
  const a = symmetricWithSpectrum(eigs, rng.fork('q'));
  const runs: SlqRun[] = [];
  for (let r = 0; r < 3; r++) runs.push(await slqRun(a, { steps: 40, rng: rng.fork(`run/${r}`) }));
  const d = smoothDensity(runs);
  assert.equal(d.preset, 'pyhessian');
  assert.equal(d.grid.length, 10000);
  assert.equal(d.runs, 3);
  const meanOf = (f: (r: SlqRun) => number) => sum(runs.map(f)) / runs.length;
  const lo = meanOf((r) => Math.min(...r.nodes)) - 0.01;
  const hi = meanOf((r) => Math.max(...r.nodes)) + 0.01;
  assert.ok(Math.abs(d.grid[0] - lo) < 1e-12 && Math.abs(d.grid[9999] - hi) < 1e-9);
  assert.ok(Math.abs(d.sigma ** 2 - 1e-5 * Math.max(1, hi - lo)) < 1e-15);
  const dx = d.grid[1] - d.grid[0];
  // PyHessian normalizes the Riemann sum. Its pad (0.01) is narrower than the kernel, so the
  // extreme nodes' kernels are cut at the grid ends: the trapezoid rule differs by (f_0 + f_N) dx / 2.
  assert.ok(Math.abs(sum(d.density) * dx - 1) < 1e-12);
  assert.ok(Math.abs(trapezoid(d.grid, d.density) - 1) < 1e-2);
  assert.ok(d.density.every((x) => x >= 0));

  const p = smoothDensity(runs, { preset: 'papyan', gridPoints: 2000 });
  assert.equal(p.preset, 'papyan');
  assert.equal(p.grid.length, 2000);
  // Papyan's 5% margins hold whole kernels: every rule gives 1.
  assert.ok(Math.abs(trapezoid(p.grid, p.density) - 1) < 1e-9);
  // With whole kernels inside the grid, the density's mean is the first quadrature moment
  // (symmetric kernels keep the mean). PyHessian's cut kernels do not keep it exactly.
  const mean = trapezoid(p.grid, p.grid.map((x, i) => x * p.density[i]));
  assert.ok(Math.abs(mean - spectralMoments(runs, 1)[0]) < 1e-6 * Math.abs(mean), `${mean}`);
  assert.ok(p.grid[0] < Math.min(...runs.map((r) => r.nodes[0])));
  assert.ok(p.logDensity!.every((x) => Number.isFinite(x)));
  const c = smoothDensity(runs, { sigma2: 0.01, bounds: [-1, 100], gridPoints: 500 });
  assert.equal(c.preset, 'custom');
  assert.equal(c.sigma, 0.1);
  assert.ok(Math.abs(trapezoid(c.grid, c.density) - 1) < 1e-9);
  assert.throws(() => smoothDensity([]), (e) => isUserError(e));
  assert.throws(() => smoothDensity(runs, { sigma2: 0 }), (e) => isUserError(e));
});

test('quadratureFromTridiagonal rebuilds a run from its coefficients; SLQ is deterministic', async () => {
  const op = new DiagonalOperator(Array.from({ length: 300 }, (_, i) => Math.cos(i)));
  const a = await slqRun(op, { steps: 15, rng: new Rng(6) });
  const b = await slqRun(op, { steps: 15, rng: new Rng(6) });
  assert.deepEqual(a, b);
  const c = await slqRun(op, { steps: 15, rng: new Rng(7), distribution: 'gaussian' });
  assert.notDeepEqual(a.nodes, c.nodes);
  assert.deepEqual(quadratureFromTridiagonal(a.alpha!, a.beta!), { nodes: a.nodes, weights: a.weights });
  assert.deepEqual(smoothDensity([a, c]), smoothDensity([b, c]));
});

test('SLQ with top: the run\'s top-k Ritz pairs with true residuals, k more products; none from a local run', async () => {
  const eigs = [40, 25, 17, ...Array.from({ length: 397 }, (_, i) => 3 * Math.sin(i) ** 2)];
  const op = symmetricWithSpectrum(eigs, new Rng(4));
  for (const reorth of ['full', 'partial'] as const) {
    const run = await slqRun(op, { steps: 60, rng: new Rng(5), reorth, basis: 'float32', top: { k: 3, tol: 1e-6 } });
    const top = run.top!;
    assert.equal(top.converged, true, reorth);
    assert.equal(top.iterations, 60);
    assert.equal(top.matvecs, 3);
    assert.equal(run.matvecs, 63);
    top.eigenvalues.forEach((v, i) => assert.ok(Math.abs(v - eigs[i]) <= 1e-5 * eigs[i], `${reorth}: ${v} vs ${eigs[i]}`));
    for (const r of top.residuals) assert.ok(r <= 1e-4, `${reorth}: residual ${r}`);
    // the quadrature is the same as without top
    const plain = await slqRun(op, { steps: 60, rng: new Rng(5), reorth, basis: 'float32' });
    assert.deepEqual(plain.nodes, run.nodes);
  }
  const local = await slqRun(op, { steps: 60, rng: new Rng(5), reorth: 'local', top: { k: 3, tol: 1e-6 } });
  assert.equal(local.top, undefined);
  assert.equal(local.matvecs, 60);
});
