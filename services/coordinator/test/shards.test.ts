/** Shard placement: contiguous runs of shards per worker, every worker used when there are enough shards. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { placeShards } from '../src/shards.js';

test('placeShards: contiguous, balanced, in shard order', () => {
  assert.deepEqual(placeShards(3, 1), [0, 0, 0]);
  assert.deepEqual(placeShards(3, 2), [0, 0, 1]);
  assert.deepEqual(placeShards(3, 3), [0, 1, 2]);
  assert.deepEqual(placeShards(8, 3), [0, 0, 0, 1, 1, 1, 2, 2]);
  // More workers than shards: some workers hold none (the job uses S of them).
  assert.deepEqual(placeShards(2, 4), [0, 2]);
  for (let s = 1; s <= 12; s++)
    for (let w = 1; w <= 6; w++) {
      const p = placeShards(s, w);
      for (let i = 1; i < s; i++) assert.ok(p[i] >= p[i - 1] && p[i] - p[i - 1] <= Math.ceil(w / s), `${s} shards on ${w} workers: ${p}`);
      if (s >= w) assert.equal(new Set(p).size, w, `${s} shards use all ${w} workers`);
      const counts = Array.from({ length: w }, (_, k) => p.filter((x) => x === k).length).filter((x) => x > 0);
      assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `${s} on ${w}: ${counts}`);
    }
});
