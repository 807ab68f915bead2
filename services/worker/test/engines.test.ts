/**
 * Engine eviction under a burst of submit-time checks: an engine a job asked for (its own
 * Prepare, or a task on it) outlives engines only the coordinator's checks of queued jobs
 * asked for (PrepareRequest.check), even when it was used longer ago; plain
 * least-recently-used evicted the starting or running job's engine and sent its next task
 * round the queue as "not prepared".
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { normalizeSpec } from '@hessian/analysis';
import { specToProto, type PrepareRequest__Output } from '@hessian/wire';
import { pino } from 'pino';
import { EngineCache } from '../src/engines.js';

const cache = new EngineCache({ backend: 'cpu', maxEngines: 2 }, pino({ level: 'silent' }), 'cpu');
after(() => cache.closeAll());

const request = (seed: number, check = false): PrepareRequest__Output =>
  ({
    jobId: `job-${seed}`,
    spec: specToProto(normalizeSpec({ model: 'zoo:tiny-mlp', data: 'synthetic:16', topK: { k: 1, maxIter: 5 }, trace: null, density: null, similarity: false, seed })),
    shardIndex: 0,
    shardCount: 0,
    modelDigest: '',
    training: false,
    check,
  }) as PrepareRequest__Output;

test('past HESSIAN_MAX_ENGINES an engine only checks asked for goes before a running job\'s', async () => {
  const running = (await cache.prepare(request(1))).entry;
  cache.entry(running.key); // a task of the running job
  const queued = (await cache.prepare(request(2, true))).entry; // a later submit check, more recently used
  const next = (await cache.prepare(request(3, true))).entry; // one more check: over the limit of 2
  assert.deepEqual(cache.keys().sort(), [running.key, next.key].sort());
  assert.ok(!cache.keys().includes(queued.key));
  assert.doesNotThrow(() => cache.entry(running.key));
});

test('a starting job\'s engine (its own Prepare, no task yet) outlives older checks', async () => {
  await cache.closeAll();
  const starting = (await cache.prepare(request(4))).entry; // the job's Prepare at start
  const check = (await cache.prepare(request(5, true))).entry;
  const later = (await cache.prepare(request(6, true))).entry; // over the limit of 2
  assert.deepEqual(cache.keys().sort(), [starting.key, later.key].sort());
  assert.ok(!cache.keys().includes(check.key));
});
