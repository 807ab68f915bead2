import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tridiagonalEigen, tridiagonalEigenvectors } from '../src/tridiag.js';
import { Rng } from '../src/random.js';

/** || T v - lambda v ||_inf for a tridiagonal T. */
function residual(alpha: number[], beta: number[], v: Float64Array, lambda: number): number {
  const n = alpha.length;
  let worst = 0;
  for (let i = 0; i < n; i++) {
    let tv = alpha[i] * v[i];
    if (i > 0) tv += beta[i - 1] * v[i - 1];
    if (i < n - 1) tv += beta[i] * v[i + 1];
    worst = Math.max(worst, Math.abs(tv - lambda * v[i]));
  }
  return worst;
}

test('1-D Laplacian: eigenvalues 2-2cos(k pi/(n+1)), first and last components known', () => {
  // tridiag(-1, 2, -1): eigenvector k has components sqrt(2/(n+1)) sin(j k pi/(n+1)), j = 1..n.
  const n = 300;
  const alpha = new Array<number>(n).fill(2);
  const beta = new Array<number>(n - 1).fill(-1);
  const t = tridiagonalEigen(alpha, beta, { vectors: true });
  const c = Math.sqrt(2 / (n + 1));
  for (let k = 1; k <= n; k++) {
    const th = (k * Math.PI) / (n + 1);
    assert.ok(Math.abs(t.values[k - 1] - (2 - 2 * Math.cos(th))) < 1e-13, `eigenvalue ${k}`);
    assert.ok(Math.abs(Math.abs(t.firstComponents[k - 1]) - c * Math.sin(th)) < 1e-12, `first component ${k}`);
    assert.ok(Math.abs(Math.abs(t.lastComponents[k - 1]) - c * Math.abs(Math.sin(n * th))) < 1e-12, `last component ${k}`);
    const v = t.vectors![k - 1];
    assert.equal(v[0], t.firstComponents[k - 1]);
    assert.equal(v[n - 1], t.lastComponents[k - 1]);
  }
  // Squared first components are quadrature weights: they sum to 1.
  assert.ok(Math.abs(t.firstComponents.reduce((s, x) => s + x * x, 0) - 1) < 1e-13);
});

test('random tridiagonal: small residuals, orthonormal vectors, ascending values, trace kept', () => {
  const rng = new Rng(3);
  const n = 200;
  const alpha = Array.from({ length: n }, () => rng.normal() * 10);
  const beta = Array.from({ length: n - 1 }, () => rng.normal());
  beta[50] = 0; // a split into independent blocks
  const t = tridiagonalEigen(alpha, beta, { vectors: true });
  const scale = Math.max(...t.values.map(Math.abs));
  for (let i = 0; i < n; i++) {
    assert.ok(residual(alpha, beta, t.vectors![i], t.values[i]) < 1e-13 * scale, `residual ${i}`);
    if (i > 0) assert.ok(t.values[i] >= t.values[i - 1]);
  }
  for (const i of [0, 17, 100, 199]) {
    for (const j of [0, 17, 100, 199]) {
      let d = 0;
      for (let r = 0; r < n; r++) d += t.vectors![i][r] * t.vectors![j][r];
      assert.ok(Math.abs(d - (i === j ? 1 : 0)) < 1e-13);
    }
  }
  const tr = alpha.reduce((s, x) => s + x, 0);
  assert.ok(Math.abs(t.values.reduce((s, x) => s + x, 0) - tr) < 1e-11 * scale * n);
  // Without vectors: same values and components (only two rows tracked).
  const t2 = tridiagonalEigen(alpha, beta);
  assert.deepEqual(t2.values, t.values);
  for (let i = 0; i < n; i++) assert.ok(Math.abs(Math.abs(t2.firstComponents[i]) - Math.abs(t.firstComponents[i])) < 1e-14);
});

test('tiny cases: 1x1, 2x2 closed form, empty', () => {
  const one = tridiagonalEigen([4], []);
  assert.deepEqual(Array.from(one.values), [4]);
  assert.deepEqual(Array.from(one.firstComponents), [1]);
  // [[a, b], [b, c]] with a=2, b=1, c=2: eigenvalues 1 and 3, vectors (1,-1)/sqrt2, (1,1)/sqrt2.
  const two = tridiagonalEigen([2, 2], [1]);
  assert.ok(Math.abs(two.values[0] - 1) < 1e-15 && Math.abs(two.values[1] - 3) < 1e-15);
  assert.ok(Math.abs(Math.abs(two.firstComponents[0]) - Math.SQRT1_2) < 1e-15);
  assert.equal(tridiagonalEigen([], []).values.length, 0);
  // A trailing extra beta (Lanczos' final residual) is ignored.
  assert.deepEqual(tridiagonalEigen([2, 2], [1, 99]).values, two.values);
});

test('tridiagonalEigenvectors (inverse iteration): the QL vectors of isolated eigenvalues, orthonormal ones in a cluster', () => {
  const rng = new Rng(11);
  const n = 120;
  const alpha = Array.from({ length: n }, () => rng.uniform() * 10 - 2);
  const beta = Array.from({ length: n - 1 }, () => rng.uniform() + 0.1);
  const t = tridiagonalEigen(alpha, beta, { vectors: true });
  const norm = Math.max(...Array.from(t.values, Math.abs));
  // the top three, the bottom one and one from the middle, as ritzTopK asks for them
  const picks = [n - 1, n - 2, n - 3, 0, 60];
  const vs = tridiagonalEigenvectors(alpha, beta, picks.map((i) => t.values[i]));
  picks.forEach((i, c) => {
    assert.ok(residual(alpha, beta, vs[c], t.values[i]) <= 1e-12 * norm, `residual of eigenvalue ${i}`);
    let d = 0;
    for (let j = 0; j < n; j++) d += vs[c][j] * t.vectors![i][j];
    assert.ok(Math.abs(Math.abs(d) - 1) <= 1e-10, `eigenvalue ${i}: |<inverse iteration, QL>| = ${Math.abs(d)}`);
  });
  // Two copies of one block joined by a tiny coupling: eigenvalues in pairs 1e-14 apart. Each
  // pair's vectors must come out orthonormal (without the orthogonalization inverse iteration
  // returns the same vector twice).
  const m = 30;
  const a = Array.from({ length: m }, () => rng.uniform() * 4);
  const b = Array.from({ length: m - 1 }, () => rng.uniform() + 0.5);
  const a2 = [...a, ...a];
  const b2 = [...b, 1e-14, ...b];
  const t2 = tridiagonalEigen(a2, b2);
  const top = [2 * m - 1, 2 * m - 2];
  assert.ok(t2.values[top[0]] - t2.values[top[1]] < 1e-12, 'a near-repeated pair');
  const [v1, v2] = tridiagonalEigenvectors(a2, b2, top.map((i) => t2.values[i]));
  let d12 = 0;
  for (let j = 0; j < 2 * m; j++) d12 += v1[j] * v2[j];
  assert.ok(Math.abs(d12) <= 1e-10, `orthogonal within the pair: ${d12}`);
  // A zero T (a zero operator's one-step run): a unit vector, not NaN.
  assert.deepEqual(Array.from(tridiagonalEigenvectors([0], [], [0])[0]), [1]);
  const [z1, z2] = tridiagonalEigenvectors([0, 0], [0], [0, 0]);
  const dotz = (a: Float64Array, b: Float64Array): number => a[0] * b[0] + a[1] * b[1];
  assert.ok(Math.abs(dotz(z1, z1) - 1) < 1e-12 && Math.abs(dotz(z2, z2) - 1) < 1e-12 && Math.abs(dotz(z1, z2)) < 1e-12, 'the zero 2 x 2: an orthonormal pair');
  for (const [c, v] of [v1, v2].entries()) assert.ok(residual(a2, b2, v, t2.values[top[c]]) <= 1e-12 * Math.max(...Array.from(t2.values, Math.abs)), `pair residual ${c}`);
});
