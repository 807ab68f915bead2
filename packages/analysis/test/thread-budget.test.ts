/**
 * `--workers N` threads share the process's memory budget: each gets (budget - main engine) / N,
 * so N engines cannot together outgrow what one process may use. An engine that fits the whole
 * budget but not a thread's share is refused with a sentence naming --workers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isUserError } from '@hessian/linalg';
import { engineBytes, normalizeSpec, runAnalysis, threadBudget } from '../src/index.js';

test('threadBudget: equal shares of what the main engine leaves', () => {
  const b = threadBudget({ bytes: 4e9, source: 'HESSIAN_WORKER_MEMORY=4G' }, 1e9, 3);
  assert.equal(b.bytes, 1e9);
  assert.match(b.source, /^one of 3 threads' shares of 4\.00 GB \(HESSIAN_WORKER_MEMORY=4G\) after the main engine's 1\.00 GB; fewer --workers give each thread more$/);
  assert.equal(threadBudget({ bytes: 1e9, source: 'x' }, 2e9, 2).bytes, 0);
});

test('an engine that fits the process budget but not a thread share: --workers 2 refused, --workers 1 runs', async () => {
  const spec = normalizeSpec({ model: 'zoo:tiny-mlp', data: 'synthetic:32', topK: { k: 1, maxIter: 4 }, trace: null, density: null, exactMax: 0 });
  // tiny-mlp's engine is about 300 MB (the fixed part); 1.2x that holds one engine, and half of what it leaves holds none.
  const one = engineBytes({ params: 0, inputSize: 0, activationsPerExample: 0, examples: 0, batchSize: 0 });
  const budget = { bytes: Math.round(1.2 * one), source: 'test budget' };
  const r = await runAnalysis(spec, { backend: 'cpu', budget });
  assert.equal(r.scopes.length > 0, true);
  await assert.rejects(runAnalysis(spec, { backend: 'cpu', budget, workers: 2 }), (e: unknown) => {
    assert.ok(isUserError(e), String(e));
    assert.match((e as Error).message, /^memory: 32 examples of \d+ parameters need about .* more than its budget of .* \(one of 2 threads' shares of .* \(test budget\) after the main engine's .*; fewer --workers give each thread more\); /);
    return true;
  });
});
