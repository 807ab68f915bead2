import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/random.js';
import {
  axpy,
  combineBasis,
  lanczosStep32,
  scaledFloat32,
  dot,
  GS_TILE,
  normalize,
  orthogonalizeAgainst,
  projectCoefficients,
  reorthogonalize,
  subtractCombination,
  toFloat32,
  toFloat64,
} from '../src/vector.js';

/** An orthonormal basis of k vectors of length n (modified Gram-Schmidt twice, naive loops). */
function orthonormalBasis(n: number, k: number, rng: Rng): Float64Array[] {
  const basis: Float64Array[] = [];
  for (let i = 0; i < k; i++) {
    const v = toFloat64(rng.gaussian(n));
    for (let pass = 0; pass < 2; pass++) {
      for (const q of basis) {
        const c = dot(q, v);
        for (let j = 0; j < n; j++) v[j] -= c * q[j];
      }
    }
    normalize(v);
    basis.push(v);
  }
  return basis;
}

const maxAbsDot = (w: ArrayLike<number>, basis: readonly ArrayLike<number>[]) => Math.max(...basis.map((q) => Math.abs(dot(q, w))));

test('blocked kernels match plain dot/axpy for every remainder of the 4-way unrolling and across tiles', () => {
  const rng = new Rng(1);
  const n = 2 * GS_TILE + 77;
  const full = orthonormalBasis(n, 11, rng.fork('basis'));
  for (let k = 0; k <= 11; k++) {
    const basis = full.slice(0, k);
    for (const store of ['float64', 'float32'] as const) {
      const b = store === 'float32' ? basis.map((q) => toFloat32(q)) : basis;
      const w = toFloat64(rng.gaussian(n));
      const c = new Float64Array(k);
      const ww = projectCoefficients(w, b, c);
      assert.ok(Math.abs(ww - dot(w, w)) < 1e-12 * ww);
      for (let i = 0; i < k; i++) assert.ok(Math.abs(c[i] - dot(b[i], w)) < 1e-12 * Math.sqrt(ww), `k=${k} ${store} c[${i}]`);
      const expect = Float64Array.from(w);
      for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) expect[j] -= c[i] * b[i][j];
      const after = subtractCombination(w, b, c);
      for (let j = 0; j < n; j++) assert.ok(Math.abs(w[j] - expect[j]) < 1e-13 * Math.sqrt(ww));
      assert.ok(Math.abs(after - dot(w, w)) < 1e-12 * after);
    }
  }
  assert.throws(() => projectCoefficients(new Float64Array(3), [new Float64Array(4)], new Float64Array(1)), RangeError);
  assert.throws(() => projectCoefficients(new Float64Array(3), [new Float64Array(3), new Float32Array(3)], new Float64Array(2)), TypeError);
});

test('DGKS: one pass for a generic vector, a second one after heavy cancellation; orthogonal to 1e-15 either way', () => {
  const rng = new Rng(2);
  const n = 3000;
  const basis = orthonormalBasis(n, 40, rng.fork('basis'));
  // Generic w: most of it is outside the span, no cancellation, one pass suffices.
  const w = toFloat64(rng.gaussian(n));
  const r1 = reorthogonalize(w, basis);
  assert.equal(r1.passes, 1);
  assert.ok(r1.normAfter > Math.SQRT1_2 * r1.normBefore);
  assert.ok(maxAbsDot(w, basis) < 1e-15 * r1.normAfter * 10, `${maxAbsDot(w, basis)}`);
  // w = (combination of the basis) + 1e-10 * (outside part): one CGS pass leaves components along
  // the basis of about 1e-16 relative to the big part, i.e. 1e-6 relative to what remains.
  const v = toFloat64(rng.gaussian(n));
  reorthogonalize(v, basis);
  normalize(v);
  const u = combineBasis(basis, [Array.from({ length: 40 }, () => rng.normal())], n)[0];
  for (let j = 0; j < n; j++) u[j] += 1e-10 * v[j];
  const one = Float64Array.from(u);
  orthogonalizeAgainst(one, basis, 1);
  const r2 = reorthogonalize(u, basis);
  assert.ok(r2.passes >= 2, `passes ${r2.passes}`);
  assert.ok(maxAbsDot(u, basis) < 1e-14 * r2.normAfter, `after DGKS ${maxAbsDot(u, basis) / r2.normAfter}`);
  assert.ok(maxAbsDot(one, basis) > 100 * maxAbsDot(u, basis), 'a single pass is visibly worse here');
  // An empty basis: nothing to do.
  const e = toFloat64(rng.gaussian(10));
  assert.deepEqual(reorthogonalize(e, []).passes, 0);
});

test('combineBasis forms sum_j s_j q_j for several coefficient vectors in one sweep', () => {
  const rng = new Rng(3);
  const n = GS_TILE + 5;
  const basis = orthonormalBasis(n, 6, rng);
  const s = [[1, 2, 3, 4, 5, 6], [0.5, -1], [0, 0, 0, 0, 0, 1]];
  const x = combineBasis(basis, s, n);
  for (let r = 0; r < s.length; r++) {
    for (let i = 0; i < 6; i++) assert.ok(Math.abs(dot(x[r], basis[i]) - (s[r][i] ?? 0)) < 1e-13);
  }
});

test('lanczosStep32 equals the unfused recurrence (dot, two axpys, one Gram-Schmidt pass against q_prev and q)', () => {
  const n = 1001;
  const rng = new Rng(11);
  const unit = (v: Float32Array): Float32Array => {
    const s = Math.sqrt(dot(v, v));
    return Float32Array.from(v, (x) => x / s);
  };
  const q = unit(rng.gaussian(n));
  // orthogonal to q, as consecutive Lanczos vectors are (to float32 rounding)
  const g = rng.gaussian(n);
  const gq = dot(g, q);
  const qPrev = unit(Float32Array.from(g, (x, i) => x - gq * q[i]));
  const aq = rng.gaussian(n);
  for (const prev of [qPrev, null]) {
    const w = new Float64Array(n);
    const s = lanczosStep32(aq, q, prev, 0.7, w);
    const ref = Float64Array.from(aq);
    const a = dot(q, ref);
    axpy(-a, q, ref);
    if (prev) axpy(-0.7, prev, ref);
    const before = dot(ref, ref);
    const basis = prev ? [prev, q] : [q];
    const c = basis.map((b) => dot(b, ref));
    basis.forEach((b, i) => axpy(-c[i], b, ref));
    assert.ok(Math.abs(s.alpha - a) <= 1e-12 * Math.abs(a), `alpha ${s.alpha} vs ${a}`);
    assert.ok(Math.abs(s.before2 - before) <= 1e-12 * before);
    assert.ok(Math.abs(s.after2 - dot(ref, ref)) <= 1e-12 * before);
    for (let i = 0; i < n; i++) assert.ok(Math.abs(w[i] - ref[i]) <= 1e-12, `w[${i}] ${w[i]} vs ${ref[i]}`);
    // and the result is orthogonal to both (to the float32 rounding of q_prev . q)
    for (const b of basis) assert.ok(Math.abs(dot(b, w)) <= 1e-6 * Math.sqrt(before), `${dot(b, w)}`);
  }
  const x = Float64Array.from({ length: 5 }, (_, i) => i - 2);
  assert.deepEqual(Array.from(scaledFloat32(x, 4)), [-0.5, -0.25, 0, 0.25, 0.5]);
});
