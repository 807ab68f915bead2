/** Cost prediction: the plan's predicted time on N workers, and the ETA from a calibration before any task finishes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeSpec, plan, predictPlan, taskDeadlineSeconds, TaskQueue, traceChunkAdvice } from '../src/index.js';

const groups = [
  { name: 'a', className: 'Dense', size: 1000, tensors: [{ name: 'a/kernel', shape: [100, 10], offset: 0, size: 1000 }] },
  { name: 'b', className: 'Dense', size: 10, tensors: [{ name: 'b/kernel', shape: [10, 1], offset: 1000, size: 10 }] },
];
const spec = normalizeSpec({ model: 'zoo:x', data: 'synthetic:8', topK: { k: 2, maxIter: 20 }, trace: { method: 'hutchinson', probes: 40, chunk: 10 }, density: { runs: 3, steps: 15 }, exactMax: 0 });

test('predictPlan: products x seconds per product, makespan longest-first on N workers, Lanczos modes', () => {
  const p = plan(spec, groups);
  const pred = predictPlan(p, 0.5, Infinity, [1, 2, 100]);
  assert.equal(pred.tasks, p.tasks.length);
  assert.equal(pred.hvps, p.tasks.reduce((a, t) => a + t.cost, 0));
  assert.equal(pred.seconds, pred.hvps * 0.5);
  assert.equal(pred.secondsOn[1], pred.seconds);
  assert.ok(pred.secondsOn[2] >= pred.seconds / 2 && pred.secondsOn[2] < pred.seconds);
  // With more workers than tasks the longest task bounds the time.
  assert.equal(pred.secondsOn[100], Math.max(...p.tasks.map((t) => t.cost * 0.5)));
  // 3 scopes without a budget: 3 top-k in full/float64, 9 density runs in full/float32 (SLQ's default).
  assert.deepEqual(pred.modes, { 'full/float64': 3, 'full/float32': 9 });
  // A tight budget moves the 1010-dim full scope's runs to bounded modes.
  const tight = predictPlan(p, 0.5, 1010 * 8 * 8);
  assert.ok((tight.modes['local/float64'] ?? 0) + (tight.modes['full/float32'] ?? 0) > 0, JSON.stringify(tight.modes));
});

test('TaskQueue ETA: from the calibration before any task finished, then from the learned rate', () => {
  const p = plan(spec, groups);
  const q = new TaskQueue(spec, p);
  assert.equal(q.progress().etaSeconds, null);
  q.calibrate(2, 4);
  const total = p.tasks.reduce((a, t) => a + t.cost, 0);
  assert.equal(q.progress().etaSeconds, (total * 2) / 4);
});

test('traceChunkAdvice: chunks into 0.1-10 s from the calibration product, aiming at ~1 s; none when already there', () => {
  // tiny model: 1 ms per product, 10 probes = 10 ms per task -> 1000 probes would be 1 s, capped by the budget
  assert.deepEqual(traceChunkAdvice(0.001, 10, 100)?.chunk, 100);
  assert.match(traceChunkAdvice(0.001, 10, 100)!.why, /^tasks of 10 probes would take 10\.0 ms each \(dispatch costs more than the work\)$/);
  assert.equal(traceChunkAdvice(0.001, 10, 10), null, 'the chunk is already the whole budget');
  // within range: no advice
  assert.equal(traceChunkAdvice(0.5, 10, 100), null);
  assert.equal(traceChunkAdvice(0.01, 10, 100), null);
  // full-width resnet18 on 256 images: ~90 s per product; 10 probes = 900 s -> one probe per task, still above 10 s, said so
  const big = traceChunkAdvice(90, 10, 100)!;
  assert.equal(big.chunk, 1);
  assert.equal(big.seconds, 90);
  assert.match(big.why, /^one product takes 90\.0 s, so even one probe per task is longer than 10 s$/);
  // 2 s per product: 10 probes = 20 s -> 1 probe (2 s)
  assert.deepEqual(traceChunkAdvice(2, 10, 100), { chunk: 1, seconds: 2, why: 'tasks of 10 probes would take 20.0 s each (a lost worker loses that much)' });
  assert.equal(traceChunkAdvice(0, 10, 100), null, 'no calibration, no advice');
});

test('taskDeadlineSeconds: the configured floor, raised to 10x the predicted time of long tasks', () => {
  assert.equal(taskDeadlineSeconds({ cost: 10 }, 0.01, 600), 600);
  assert.equal(taskDeadlineSeconds({ cost: 100 }, 90, 600), 90000);
  assert.equal(taskDeadlineSeconds({ cost: 100 }, 0, 600), 600, 'no calibration: the floor');
});
