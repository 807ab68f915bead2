/**
 * HessianEngine.spanOperator: a scope's operator restricted to the span of a fixed Dense input.
 * With fewer examples than inputs (tiny-mlp: 8 inputs), the explicit restricted matrix must have
 * the explicit full operator's nonzero eigenvalues, and the full one exactly `zeros` more zero
 * eigenvalues; its products must be the full operator's on vectors of the span (W = U W~).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { symmetricEigenvalues, symmetrize } from '@hessian/linalg';
import { initBackend, loadModel, HessianEngine, type OperatorKind, type Scope } from '../src/index.js';
import { explicitMatrix, randomBatch } from './helpers.js';

before(async () => {
  await initBackend('cpu');
});

async function spectrum(op: { dim: number; matvec: (v: Float32Array) => Promise<Float32Array> }): Promise<number[]> {
  const m = await explicitMatrix(op);
  symmetrize(m, op.dim);
  return Array.from(symmetricEigenvalues(m, op.dim)).sort((a, b) => b - a);
}

test('restricted to the span of 5 examples of 8 inputs: the same nonzero spectrum, (8 - 5) x 6 exact zeros left out', async () => {
  const model = await loadModel('zoo:tiny-mlp', { seed: 3 });
  const engine = new HessianEngine(model, randomBatch(model, 5, 11), { product: 'rop', batchSize: 2 });
  try {
    const scopes: Scope[] = [{ kind: 'full' }, { kind: 'group', group: 'dense1', convention: 'layer' }];
    for (const scope of scopes) {
      for (const kind of ['hessian', 'gauss-newton'] as OperatorKind[]) {
        const span = await engine.spanOperator(kind, scope);
        assert.ok(span, `${kind} ${scope.kind}: a span operator`);
        assert.equal(span.layer, 'dense1');
        assert.equal(span.rank, 5);
        assert.equal(span.zeros, 3 * 6);
        const full = engine.operator(kind, scope);
        assert.equal(span.op.dim, full.dim - span.zeros);
        const a = await spectrum(full);
        const b = await spectrum(span.op);
        const scale = Math.max(...a.map(Math.abs));
        const tol = 1e-5 * scale;
        // every eigenvalue of the restricted operator is one of the full one's, in order, and
        // what the full one has beyond them is zeros
        const nonzeroA = a.filter((x) => Math.abs(x) > tol);
        const nonzeroB = b.filter((x) => Math.abs(x) > tol);
        assert.equal(nonzeroB.length, nonzeroA.length, `${kind} ${scope.kind}: nonzero counts`);
        nonzeroA.forEach((x, i) => assert.ok(Math.abs(x - nonzeroB[i]) <= tol, `${kind} ${scope.kind}: eigenvalue ${i}: ${x} vs ${nonzeroB[i]}`));
        assert.equal(a.length - b.length, span.zeros);
      }
    }
    // dense2's input depends on dense1: in the full scope only dense1 qualifies; dense2's own
    // block has a fixed input of 6 columns from 5 rows, so it is restricted too.
    const d2 = await engine.spanOperator('hessian', { kind: 'group', group: 'dense2', convention: 'layer' });
    assert.ok(d2 && d2.layer === 'dense2' && d2.rank <= 5 && d2.zeros === (6 - d2.rank) * 3);
  } finally {
    engine.dispose();
  }
});

test('no restriction where the rows span the input (as many examples as inputs) or products are autodiff', async () => {
  const model = await loadModel('zoo:tiny-mlp', { seed: 3 });
  const wide = new HessianEngine(model, randomBatch(model, 8, 11), { product: 'rop' });
  const auto = new HessianEngine(model, randomBatch(model, 5, 11), { product: 'autodiff' });
  try {
    assert.equal(await wide.spanOperator('hessian', { kind: 'full' }), null);
    assert.equal(await auto.spanOperator('hessian', { kind: 'full' }), null);
  } finally {
    wide.dispose();
    auto.dispose();
  }
});

test('the restriction follows new weights (dense2\'s input changes with dense1\'s) and is shared until then', async () => {
  const model = await loadModel('zoo:tiny-mlp', { seed: 5 });
  const engine = new HessianEngine(model, randomBatch(model, 5, 13), { product: 'rop' });
  try {
    const scope: Scope = { kind: 'group', group: 'dense2', convention: 'layer' };
    const before = await engine.spanOperator('hessian', scope);
    assert.ok(before);
    const p = model.getFlatParams();
    for (let i = 0; i < 48; i++) p[i] = -0.7 * p[i] + 0.05; // dense1's kernel: dense2's input moves
    model.setFlatParams(p);
    const span = await engine.spanOperator('hessian', scope);
    assert.ok(span);
    const a = (await spectrum(engine.operator('hessian', scope))).filter((x) => Math.abs(x) > 1e-6);
    const b = (await spectrum(span.op)).filter((x) => Math.abs(x) > 1e-6);
    assert.equal(b.length, a.length);
    const tol = 1e-5 * Math.max(...a.map(Math.abs));
    a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) <= tol, `eigenvalue ${i} after new weights: ${x} vs ${b[i]}`));
  } finally {
    engine.dispose();
  }
});
