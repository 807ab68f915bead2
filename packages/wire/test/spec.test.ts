import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeSpec, type PartialSpec } from '@hessian/analysis';
import { specFromProto, specToProto } from '../src/index.js';

const cases: PartialSpec[] = [
  { model: 'zoo:mlp' },
  { model: 'zoo:lenet', data: 'fashion-mnist:test[0:64]', perClass: 3, layers: { select: 'middle' }, convention: 'weights-only', gaussNewton: true, seed: 9, modelSeed: 2, batchSize: 16 },
  { model: 'x.json', layers: { select: 'names', names: ['a', 'b'] }, topK: null, trace: { method: 'hutch++', probes: 30 }, density: { preset: 'pyhessian', runs: 2 }, loss: 'mse' },
  { model: 'zoo:mlp', layers: { select: 'regex', pattern: '^conv' }, full: false, similarity: false, density: null, trace: { targetRelStderr: 0.05, chunk: 5, fromFullProbes: true } },
  { model: 'zoo:mlp', topK: { method: 'power', k: 1, tol: 1e-3, maxIter: 100 }, trace: null },
];

test('a normalized spec survives the wire unchanged (what the coordinator sends a worker needs no defaults filled)', () => {
  for (const p of cases) {
    const spec = normalizeSpec(p);
    for (const scope of ['batch', 'dataset'] as const) {
      const back = specFromProto(specToProto(spec, scope));
      assert.equal(back.scope, scope);
      const { scope: _s, ...rest } = back;
      assert.deepEqual(normalizeSpec(rest), spec);
    }
  }
});

test('zero and empty proto fields mean "default"; skip flags mean "off"', () => {
  const p = specFromProto({ model: 'zoo:mlp', skipTopK: true, skipDensity: true, topK: { k: 0, method: '', tol: 0, maxIter: 0 } });
  const s = normalizeSpec({ ...p, scope: undefined } as PartialSpec);
  assert.equal(s.topK, null);
  assert.equal(s.density, null);
  assert.deepEqual(s.trace, normalizeSpec({ model: 'zoo:mlp' }).trace);
  assert.equal(p.scope, 'batch');
});
