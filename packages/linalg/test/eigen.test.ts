import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DiagonalOperator, symmetricWithSpectrum } from '../src/dense.js';
import { powerIteration, topEigenvalues } from '../src/eigen.js';
import { CountingOperator, type LinearOperator } from '../src/operator.js';
import { Rng } from '../src/random.js';
import { isUserError } from '../src/errors.js';
import { marchenkoPastur, relErr, uniformValues } from './helpers.js';

interface Case {
  name: string;
  op: () => LinearOperator;
  top3: number[];
}

// Built lazily and once: a 500x500 conjugation costs about 0.4 s.
const cache = new Map<string, LinearOperator>();
function memo(name: string, build: () => LinearOperator): () => LinearOperator {
  return () => {
    if (!cache.has(name)) cache.set(name, build());
    return cache.get(name)!;
  };
}

const cases: Case[] = [
  {
    // (1) diagonal, n = 2000, outliers hidden at random positions among a bulk in [0, 1).
    name: 'diagonal n=2000',
    op: memo('diag', () => {
      const rng = new Rng(100);
      const vals = [...uniformValues(1995, 0, 1, rng), 10, 7, 5, 3, 2];
      const perm = rng.permutation(vals.length);
      return new DiagonalOperator(Array.from(perm, (p) => vals[p]));
    }),
    top3: [10, 7, 5],
  },
  {
    // (2) network-Hessian shape: 4 outliers 50..200 over a Marchenko-Pastur bulk, random eigenvectors.
    name: 'outliers over Marchenko-Pastur bulk n=500',
    op: memo('outliers', () => {
      const rng = new Rng(200);
      return symmetricWithSpectrum([...marchenkoPastur(496, 0.5, rng.fork('bulk')), 200, 120, 80, 50], rng.fork('q'));
    }),
    top3: [200, 120, 80],
  },
  {
    // (3) indefinite: negative outliers larger in magnitude than the positive ones.
    name: 'indefinite n=400',
    op: memo('indefinite', () => {
      const rng = new Rng(300);
      return symmetricWithSpectrum([...uniformValues(395, -5, 5, rng.fork('bulk')), 30, 20, 12, -25, -40], rng.fork('q'));
    }),
    top3: [30, 20, 12],
  },
];

for (const c of cases) {
  test(`Lanczos top-3 on ${c.name}: 1e-6 relative, small true residuals, honest counts`, async () => {
    const op = new CountingOperator(c.op());
    const r = await topEigenvalues(op, { k: 3, rng: new Rng(7), returnVectors: true });
    assert.equal(r.method, 'lanczos');
    assert.equal(r.converged, true);
    assert.equal(r.eigenvalues.length, 3);
    for (let i = 0; i < 3; i++) {
      assert.ok(relErr(r.eigenvalues[i], c.top3[i]) < 1e-6, `eigenvalue ${i}: ${r.eigenvalues[i]} vs ${c.top3[i]}`);
      // True residuals: float32 products put a floor near 1e-7 * ||A||; 1e-5 relative is the bound here.
      assert.ok(r.residuals[i] < 1e-5 * Math.abs(c.top3[i]), `residual ${i}: ${r.residuals[i]}`);
      assert.ok(r.residualEstimates![i] <= 1e-6 * Math.abs(r.eigenvalues[i]));
      const x = r.eigenvectors![i];
      assert.ok(Math.abs(Math.hypot(...x) - 1) < 1e-6);
    }
    assert.equal(r.matvecs, op.count);
    assert.equal(r.matvecs, r.iterations + 3);
  });
}

for (const c of cases) {
  test(`Lanczos top-3 on ${c.name} with a float32 basis: same 1e-6 relative accuracy and residual bounds`, async () => {
    const r = await topEigenvalues(c.op(), { k: 3, rng: new Rng(7), basis: 'float32' });
    assert.equal(r.converged, true);
    for (let i = 0; i < 3; i++) {
      assert.ok(relErr(r.eigenvalues[i], c.top3[i]) < 1e-6, `eigenvalue ${i}: ${r.eigenvalues[i]} vs ${c.top3[i]}`);
      assert.ok(r.residuals[i] < 1e-5 * Math.abs(c.top3[i]), `residual ${i}: ${r.residuals[i]}`);
    }
  });
}

test('largest-magnitude picks the negative outliers of an indefinite matrix', async () => {
  const r = await topEigenvalues(cases[2].op(), { k: 3, rng: new Rng(8), which: 'largest-magnitude' });
  const want = [-40, 30, -25];
  for (let i = 0; i < 3; i++) assert.ok(relErr(r.eigenvalues[i], want[i]) < 1e-6, `${r.eigenvalues[i]} vs ${want[i]}`);
  assert.ok(r.residuals.every((res, i) => res < 1e-5 * Math.abs(want[i])));
});

test('Lanczos reaches 1e-6 relative accuracy in less than half the products of power iteration (gap 5%)', async () => {
  // lambda_1 = 1, lambda_2 = 0.95: power iteration's error shrinks by 0.95^2 per product.
  const rng = new Rng(400);
  const op = new DiagonalOperator([...uniformValues(998, 0, 0.9, rng), 0.95, 1]);
  const lz = await topEigenvalues(op, { k: 1, rng: new Rng(1), tol: 1e-4 });
  const pw = await powerIteration(op, { k: 1, rng: new Rng(1), tol: 1e-9, maxIter: 2000 });
  assert.ok(relErr(lz.eigenvalues[0], 1) < 1e-6, `lanczos ${lz.eigenvalues[0]}`);
  assert.ok(relErr(pw.eigenvalues[0], 1) < 1e-6, `power ${pw.eigenvalues[0]}`);
  assert.ok(lz.matvecs < pw.matvecs / 2, `lanczos ${lz.matvecs} vs power ${pw.matvecs} products`);
  // And power iteration at PyHessian's defaults stops far from 1e-6 on such a gap.
  const py = await powerIteration(op, { k: 1, rng: new Rng(1) });
  assert.ok(relErr(py.eigenvalues[0], 1) > 1e-6);
});

test('power iteration (PyHessian defaults) with deflation finds the top 3 outliers', async () => {
  const op = new CountingOperator(cases[1].op());
  const r = await powerIteration(op, { k: 3, rng: new Rng(5), returnVectors: true });
  assert.equal(r.method, 'power');
  assert.equal(r.converged, true);
  assert.equal(r.matvecs, op.count);
  assert.equal(r.matvecs, r.iterations + 3);
  // tol 1e-3 on the relative change: the eigenvalue itself is good to about 1e-3.
  for (let i = 0; i < 3; i++) assert.ok(relErr(r.eigenvalues[i], cases[1].top3[i]) < 5e-3, `${r.eigenvalues[i]}`);
  // Deflated vectors are orthonormal.
  const v = r.eigenvectors!;
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      let d = 0;
      for (let k = 0; k < v[i].length; k++) d += v[i][k] * v[j][k];
      assert.ok(Math.abs(d - (i === j ? 1 : 0)) < 1e-5);
    }
  }
  // Residuals are reported and consistent with the eigenvalue error (not tiny).
  assert.ok(r.residuals.every((x) => x > 0 && x < 0.05 * 200));
});

test('determinism: same seed, identical results', async () => {
  const op = cases[2].op();
  const a = await topEigenvalues(op, { k: 2, rng: new Rng(77) });
  const b = await topEigenvalues(op, { k: 2, rng: new Rng(77) });
  assert.deepEqual(a, b);
  const p = await powerIteration(op, { k: 2, rng: new Rng(77), maxIter: 20 });
  const q = await powerIteration(op, { k: 2, rng: new Rng(77), maxIter: 20 });
  assert.deepEqual(p, q);
});

test('fewer distinct eigenvalues than k: every returned pair is a true eigenpair', async () => {
  // 4 distinct values of multiplicity 75. A single-vector Krylov method sees one copy of each per
  // (numerical) restart, so multiplicities can be missed (documented); what it returns must
  // still be genuine eigenpairs with small residuals.
  const vals = Array.from({ length: 300 }, (_, i) => [8, 4, 2, 1][i % 4]);
  const r = await topEigenvalues(new DiagonalOperator(vals), { k: 6, rng: new Rng(3) });
  assert.equal(r.eigenvalues.length, 6);
  assert.ok(Math.abs(r.eigenvalues[0] - 8) < 1e-6);
  for (let i = 0; i < 6; i++) {
    assert.ok([8, 4, 2, 1].some((v) => Math.abs(r.eigenvalues[i] - v) < 1e-5), `${r.eigenvalues[i]}`);
    assert.ok(r.residuals[i] < 1e-5 * r.eigenvalues[i]);
    if (i > 0) assert.ok(r.eigenvalues[i] <= r.eigenvalues[i - 1]);
  }
});

test('exact breakdown before k Ritz values: Lanczos restarts orthogonally and returns k values', async () => {
  // 2I with a start of entries +-1/16 (n = 256): every operation is exact, so the first step
  // leaves a residual of exactly 0 and the run must restart to produce k = 3 Ritz values.
  const n = 256;
  const twice: LinearOperator = { dim: n, matvec: (v) => Promise.resolve(v.map((x) => 2 * x)) };
  const start = new Rng(4).rademacher(n);
  const r = await topEigenvalues(twice, { k: 3, rng: new Rng(4), start, returnVectors: true });
  assert.deepEqual(r.eigenvalues.map((x) => Math.round(x * 1e6) / 1e6), [2, 2, 2]);
  assert.ok(r.iterations >= 3);
  assert.equal(r.converged, true);
  // The restarted directions are orthogonal to the first: three orthonormal eigenvectors.
  const v = r.eigenvectors!;
  for (let i = 0; i < 3; i++) for (let j = 0; j < i; j++) assert.ok(Math.abs(v[i].reduce((s, x, t) => s + x * v[j][t], 0)) < 1e-6);
});

test('bad arguments are UserErrors', async () => {
  const op = new DiagonalOperator([1, 2, 3]);
  await assert.rejects(topEigenvalues(op, { k: 4, rng: new Rng(1) }), (e) => isUserError(e));
  await assert.rejects(topEigenvalues(op, { k: 0, rng: new Rng(1) }), (e) => isUserError(e));
  await assert.rejects(powerIteration(op, { k: 1, rng: new Rng(1), maxIter: 0 }), (e) => isUserError(e));
});
