/** SGD (momentum, weight decay as PyTorch) against hand-computed updates; schedules; spec errors. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { htrActive, learningRate, normalizeTrainSpec, parseSchedule, Sgd } from '../src/index.js';

describe('Sgd', () => {
  test('momentum and weight decay follow torch.optim.SGD step by step', () => {
    const theta = new Float32Array([1, -2, 0.5]);
    const opt = new Sgd(3, { momentum: 0.9, weightDecay: 0.1 });
    // step 1: d = g + 0.1 theta; buf = d; theta -= lr buf
    opt.step(theta, new Float32Array([0.5, 0.25, -1]), 0.1);
    const d1 = [0.5 + 0.1 * 1, 0.25 + 0.1 * -2, -1 + 0.1 * 0.5];
    const t1 = [1 - 0.1 * d1[0], -2 - 0.1 * d1[1], 0.5 - 0.1 * d1[2]];
    t1.forEach((v, i) => assert.ok(Math.abs(theta[i] - v) < 1e-6, `step 1 [${i}]: ${theta[i]} vs ${v}`));
    // step 2: buf = 0.9 buf + d
    opt.step(theta, new Float32Array([-0.5, 1, 0]), 0.05);
    const d2 = [-0.5 + 0.1 * t1[0], 1 + 0.1 * t1[1], 0 + 0.1 * t1[2]];
    const b2 = d1.map((b, i) => 0.9 * b + d2[i]);
    const t2 = t1.map((t, i) => t - 0.05 * b2[i]);
    t2.forEach((v, i) => assert.ok(Math.abs(theta[i] - v) < 1e-6, `step 2 [${i}]: ${theta[i]} vs ${v}`));
    b2.forEach((v, i) => assert.ok(Math.abs((opt.buf as Float32Array)[i] - v) < 1e-6));
  });

  test('without momentum it is plain SGD with L2 and keeps no buffer', () => {
    const theta = new Float32Array([2]);
    const opt = new Sgd(1, { momentum: 0, weightDecay: 0.5 });
    opt.step(theta, new Float32Array([1]), 0.1);
    assert.ok(Math.abs(theta[0] - (2 - 0.1 * (1 + 0.5 * 2))) < 1e-7);
    assert.equal(opt.buf, null);
  });
});

describe('schedules and spec', () => {
  test('constant, step and cosine per epoch', () => {
    assert.equal(learningRate(parseSchedule('constant'), 0.1, 7, 10), 0.1);
    const s = parseSchedule('step:3:0.5');
    assert.deepEqual([0, 2, 3, 6].map((e) => learningRate(s, 1, e, 10)), [1, 1, 0.5, 0.25]);
    assert.equal(learningRate(parseSchedule('step:2'), 1, 2, 10), 0.1);
    const c = parseSchedule('cosine');
    assert.equal(learningRate(c, 1, 0, 4), 1);
    assert.ok(Math.abs(learningRate(c, 1, 2, 4) - 0.5) < 1e-12);
    assert.ok(Math.abs(learningRate(parseSchedule('cosine:0.1'), 1, 4, 4) - 0.1) < 1e-12);
    for (const bad of ['linear', 'step', 'step:0', 'step:2:-1', 'cosine:x', 'step:2:', 'milestones:20,10', 'milestones:', 'milestones:10,x:0.25']) assert.throws(() => parseSchedule(bad), /--schedule/);
    // the paper's milestones 10, 20 with x0.25 (MultiStepLR): 40 epochs do not decay again at 30
    const m = parseSchedule('milestones:10,20:0.25');
    assert.deepEqual([0, 9, 10, 19, 20, 30, 39].map((e) => learningRate(m, 0.01, e, 40)), [0.01, 0.01, 0.0025, 0.0025, 0.000625, 0.000625, 0.000625]);
  });

  test('defaults and one-line errors naming the flag', () => {
    const s = normalizeTrainSpec({ model: 'zoo:lenet' });
    assert.equal(s.htr.freq, 50);
    assert.equal(s.htr.start, 15);
    assert.equal(s.htr.probes, 10);
    assert.equal(s.htr.gamma, 0);
    assert.throws(() => normalizeTrainSpec({ model: 'zoo:lenet', lr: 0 }), /--lr: must be a finite number above 0/);
    assert.throws(() => normalizeTrainSpec({ model: 'zoo:lenet', momentum: 1 }), /--momentum: must be below 1/);
    assert.throws(() => normalizeTrainSpec({ model: 'zoo:lenet', htr: { probes: 0 } }), /--htr-probes/);
    assert.throws(() => normalizeTrainSpec({ model: 'zoo:lenet', htr: { dist: 'uniform' as 'gaussian' } }), /--htr-probe-dist/);
    assert.throws(() => normalizeTrainSpec({ model: ' ' }), /--model is required/);
    const on = normalizeTrainSpec({ model: 'zoo:lenet', htr: { gamma: 1e-3, freq: 50, start: 15 } });
    assert.equal(htrActive(on, 14, 700), false);
    assert.equal(htrActive(on, 15, 700), true);
    assert.equal(htrActive(on, 15, 701), false);
  });
});
