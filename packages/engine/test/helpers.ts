/**
 * Test helpers shared by the engine's tests and, through the package's `./test/helpers`
 * export, by analysis tests that need explicit Hessians: random batches and vectors, explicit
 * matrices from products with unit vectors, central finite differences of the gradient, and
 * the exactness suite every layer / operator family must pass.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '@hessian/linalg';
import type { LinearOperator } from '@hessian/linalg';
import { HessianEngine, type Batch, type Convention, type Model } from '../src/index.js';

export function randomBatch(model: Model, n: number, seed: number): Batch {
  const rng = new Rng(seed);
  const per = model.inputShape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n * per);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = rng.int(model.outputSize);
  return { x, shape: [n, ...model.inputShape], labels, numClasses: model.outputSize };
}

export function randomVector(n: number, seed: number): Float32Array {
  return new Rng(seed).gaussian(n);
}

export function unit(v: Float32Array): Float32Array {
  let s = 0;
  for (const a of v) s += a * a;
  const r = 1 / Math.sqrt(s);
  return v.map((a) => a * r);
}

/** Dense matrix (row-major Float64Array) of an operator from its products with unit vectors: column j = A e_j. */
export async function explicitMatrix(op: LinearOperator): Promise<Float64Array> {
  const n = op.dim;
  const m = new Float64Array(n * n);
  const e = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    e.fill(0);
    e[j] = 1;
    const col = await op.matvec(e);
    for (let i = 0; i < n; i++) m[i * n + j] = col[i];
  }
  return m;
}

export function matvec(m: Float64Array, n: number, v: ArrayLike<number>): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += m[i * n + j] * v[j];
    out[i] = s;
  }
  return out;
}

/** ||a - b|| / ||b|| (Frobenius / Euclidean). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-300));
}

export function transpose(m: Float64Array, n: number): Float64Array {
  const t = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t[j * n + i] = m[i * n + j];
  return t;
}

/** Rows/cols `idx` of a square n x n matrix. */
export function subMatrix(m: Float64Array, n: number, idx: number[]): Float64Array {
  const k = idx.length;
  const out = new Float64Array(k * k);
  for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) out[a * k + b] = m[idx[a] * n + idx[b]];
  return out;
}

export function indicesOf(offsets: { offset: number; size: number }[]): number[] {
  const idx: number[] = [];
  for (const o of offsets) for (let i = 0; i < o.size; i++) idx.push(o.offset + i);
  return idx;
}

/** Central finite differences of the gradient along u: (g(theta + eps u) - g(theta - eps u)) / (2 eps). */
export async function fdHvp(engine: HessianEngine, u: Float32Array, eps: number): Promise<Float64Array> {
  const model = engine.model;
  const theta = model.getFlatParams();
  model.setFlatParams(theta.map((t, i) => t + eps * u[i]));
  const gp = await engine.gradient();
  model.setFlatParams(theta.map((t, i) => t - eps * u[i]));
  const gm = await engine.gradient();
  model.setFlatParams(theta);
  return Float64Array.from(gp, (g, i) => (g - gm[i]) / (2 * eps));
}

/** A model on a batch with its engine and its explicit full Hessian (n x n, n = parameter count). */
export interface ExactCase {
  model: Model;
  batch: Batch;
  engine: HessianEngine;
  H: Float64Array;
  n: number;
}

export async function exactCase(model: Model, batch: Batch): Promise<ExactCase> {
  const engine = new HessianEngine(model, batch);
  const H = await explicitMatrix(engine.operator('hessian', { kind: 'full' }));
  return { model, batch, engine, H, n: model.paramCount };
}

/** Seeds of the random vectors the exactness suite draws (kept per caller so each file's numbers stay what they were). */
export interface ExactSeeds {
  /** one random H v per seed against the explicit matrix */
  operator: number[];
  /** the unit direction of the finite-difference check */
  fd: number;
  /** the random vector of every block check */
  block: number;
}

/**
 * Registers the exactness suite on the case `get()` returns once `before` has run: the explicit
 * Hessian is symmetric, not trivially zero and equals the operator; the HVP agrees with central
 * finite differences; every layer block (per convention) equals the matching block of H.
 */
export function exactHessianTests(get: () => ExactCase, seeds: ExactSeeds, conventions: Convention[] = ['layer']): void {
  test('explicit Hessian is symmetric and equals the operator', async () => {
    const { engine, H, n } = get();
    const asym = relErr(H, transpose(H, n));
    assert.ok(asym < 1e-5, `relative asymmetry ${asym}`);
    const op = engine.operator('hessian', { kind: 'full' });
    for (const seed of seeds.operator) {
      const v = randomVector(n, seed);
      const e = relErr(await op.matvec(v), matvec(H, n, v));
      assert.ok(e < 1e-5, `H v vs explicit: ${e}`);
    }
    // Not trivially zero: the curvature of a random model is far from 0.
    assert.ok(Math.sqrt(H.reduce((a, b) => a + b * b, 0)) > 1e-3);
  });

  test('agrees with central finite differences of the gradient', async () => {
    // Central differences along a unit direction u: error O(eps^2) from the third
    // derivative plus float32 round-off of the gradient (~1e-7 relative) divided by eps.
    // With eps = 1e-3 both stay well under 1e-2 relative; a missing second-order term
    // (e.g. a cut softmax path) gives errors of order 1. eps is small so that no ReLU
    // changes sign between theta - eps u and theta + eps u (checked for these seeds).
    const { engine, n } = get();
    const u = unit(randomVector(n, seeds.fd));
    const hv = await engine.operator('hessian', { kind: 'full' }).matvec(u);
    const e = relErr(hv, await fdHvp(engine, u, 1e-3));
    assert.ok(e < 1e-2, `HVP vs finite differences: ${e}`);
  });

  for (const convention of conventions) {
    test(`every ${convention} block equals the matching block of the explicit Hessian`, async () => {
      const { model, engine, H, n } = get();
      const groups = model.groups(convention);
      assert.ok(groups.length >= 2);
      for (const g of groups) {
        const scope = { kind: 'group', group: g.name, convention } as const;
        const idx = indicesOf(engine.scopeOffsets(scope));
        assert.equal(idx.length, engine.scopeDim(scope));
        assert.equal(idx.length, g.size);
        const op = engine.operator('hessian', scope);
        assert.equal(op.dim, idx.length);
        const v = randomVector(op.dim, seeds.block);
        const e = relErr(await op.matvec(v), matvec(subMatrix(H, n, idx), idx.length, v));
        assert.ok(e < 1e-5, `block ${g.name} (${convention}): ${e}`);
      }
    });
  }
}
