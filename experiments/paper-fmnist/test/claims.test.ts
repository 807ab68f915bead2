/**
 * The claims' verdicts on made-up runs whose answer is known: a clear HTR gain is supported,
 * a loss contradicted, an interval that excludes the paper's effect without a gain
 * contradicted, noise undecided; middle layers always closest is supported, never closest
 * contradicted; falling curvature supported, rising contradicted; one seed is undecided.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { allClaims, closestIsMiddle, falls, htrFlatter, isMiddleDepth, lowerError, middleClosest, type RunResult } from '../src/claims.js';
import { modelName, type Config } from '../src/protocol.js';
import type { CheckpointSummary, ScopeSummary } from '../src/sweeps.js';

const SEEDS = [0, 1, 2, 3, 4];
// a fixed "noise" per seed, so the tests do not depend on a generator
const NOISE = [0.03, -0.02, 0.01, -0.04, 0.02];

function scope(name: string, depth: number | null, w1: number | null, trace = 1, top = 1): ScopeSummary {
  return { name, kind: depth === null ? 'full' : 'layer', depth, params: 10, top, topResidual: 0, trace, traceStderr: 0, wasserstein1: w1, jensenShannon: w1, esd: null };
}

/** A checkpoint of a 5-layer net: w1 distances per layer (depths 0, .25, .5, .75, 1), full-network trace/top. */
function cp(epoch: number, w1: number[], trace = 1, top = 1): CheckpointSummary {
  return {
    schema: 'hessian-cluster/paper-fmnist-checkpoint/v1',
    epoch,
    lossValue: 1,
    examples: 100,
    hvps: 0,
    seconds: 0,
    scopes: [scope('full', null, null, trace, top), ...w1.map((d, i) => scope(`l${i}`, i / 4, d))],
  };
}

function runs(config: Config, err: (seed: number) => number, sweep: (seed: number) => CheckpointSummary[] = () => []): RunResult[] {
  return SEEDS.map((s) => ({ config, seed: s, complete: true, finalTestError: err(s), sweep: sweep(s) }));
}

describe('test-error claims', () => {
  const sgd = runs('sgd', (s) => 5.5 + NOISE[s]);
  test('a clear gain is supported; a loss contradicted', () => {
    const gain = lowerError([...sgd, ...runs('htr', (s) => 4.9 + NOISE[(s + 1) % 5])], 'htr', 'sgd');
    assert.equal(gain.verdict, 'supported', gain.why);
    assert.match(gain.why, /^paired difference -0\.60 \[-0\.\d\d, -0\.\d\d\] \(n = 5, p = .*\) points lies below 0$/);
    const loss = lowerError([...sgd, ...runs('htr', (s) => 5.9 + NOISE[(s + 2) % 5])], 'htr', 'sgd');
    assert.equal(loss.verdict, 'contradicted', loss.why);
  });
  test('no gain, with an interval that excludes the paper’s -0.65: contradicted; a wide interval: undecided', () => {
    const none = lowerError([...sgd, ...runs('htr', (s) => 5.5 + NOISE[(s + 3) % 5])], 'htr', 'sgd');
    assert.equal(none.verdict, 'contradicted', none.why);
    assert.match(none.why, /excludes the paper’s -0\.65/);
    const wide = lowerError([...sgd, ...runs('htr', (s) => 5.5 + [-1, 1, -0.8, 0.9, -0.5][s])], 'htr', 'sgd');
    assert.equal(wide.verdict, 'undecided', wide.why);
    // without a paper number, no gain is undecided rather than contradicted
    const mid = lowerError([...sgd, ...runs('htr-middle', (s) => 5.5 + NOISE[(s + 3) % 5])], 'htr-middle', 'sgd');
    assert.equal(mid.verdict, 'undecided', mid.why);
  });
  test('incomplete runs do not count; one pair is undecided', () => {
    const one = [...sgd, ...runs('htr', () => 4).map((r) => (r.seed === 0 ? r : { ...r, complete: false, finalTestError: null }))];
    const c = lowerError(one, 'htr', 'sgd');
    assert.equal(c.verdict, 'undecided');
    assert.equal(c.why, '1 complete seed pair(s); an interval needs 2');
  });
  test('pairs that all differ by the same amount (test errors are quantized) decide nothing', () => {
    // seen in the real runs: two seeds, both +0.05 points, a t-interval of (nearly) zero width
    const l2 = runs('l2', (s) => [10.66, 10.06][s]).slice(0, 2);
    const two = [...l2.map((r) => ({ ...r, config: 'sgd' as const })), ...runs('htr', (s) => [10.71, 10.11][s]).slice(0, 2)];
    const c = lowerError(two, 'htr', 'sgd');
    assert.equal(c.verdict, 'undecided', c.why);
    assert.match(c.why, /^all 2 paired differences are \+0\.05 points: no spread/);
  });
});

describe('ESD and curvature claims', () => {
  const mid = [0.5, 0.2, 0.1, 0.3, 0.6]; // closest: depth 0.5
  const end = [0.1, 0.4, 0.5, 0.3, 0.2]; // closest: depth 0
  test('closestIsMiddle: chance 3/5 on five layers, the gap of means', () => {
    const v = closestIsMiddle(cp(5, mid), 'wasserstein1')!;
    assert.equal(v.middle, true);
    assert.equal(v.chance, 0.6);
    assert.ok(Math.abs(v.gap - (0.2 - 0.55)) < 1e-12);
    assert.equal(closestIsMiddle(cp(5, end), 'wasserstein1')!.middle, false);
  });
  test('modelName names the network of the titles from the --model spec', () => {
    assert.equal(modelName('zoo:lenet-32'), 'LeNet');
    assert.equal(modelName('zoo:vgg11?width=0.125&input=32x32x1'), 'VGG-11 (width x0.125)');
    assert.equal(modelName('zoo:vgg11'), 'VGG-11');
    assert.equal(modelName('/tmp/m/model.json'), '/tmp/m/model.json');
  });

  test('isMiddleDepth: the middle half of the depth (5 of 9 layers of VGG-11, 3 of 5 of LeNet)', () => {
    assert.equal(Array.from({ length: 9 }, (_, k) => k / 8).filter(isMiddleDepth).length, 5);
    assert.equal([0, 0.25, 0.5, 0.75, 1].filter(isMiddleDepth).length, 3);
  });
  test('middle always closest: supported; never: contradicted; epoch 0 ignored', () => {
    const yes = middleClosest(runs('sgd', () => 5, () => [cp(0, end), cp(5, mid), cp(10, mid)]));
    assert.equal(yes.verdict, 'supported', yes.why);
    const no = middleClosest(runs('sgd', () => 5, () => [cp(0, mid), cp(5, end), cp(10, end)]));
    assert.equal(no.verdict, 'contradicted', no.why);
    const half = middleClosest(runs('sgd', () => 5, (s) => [cp(5, s % 2 ? mid : end), cp(10, s % 3 ? end : mid)]));
    assert.equal(half.verdict, 'undecided', half.why);
  });
  test('falling trace: supported; rising: contradicted; HTR flatter by paired log trace', () => {
    const down = runs('sgd', () => 5, (s) => [cp(0, mid, 10), cp(5, mid, 50 + s), cp(10, mid, 30 + s), cp(15, mid, 20 + s)]);
    assert.equal(falls(down, ['sgd'], 'trace').verdict, 'supported');
    const up = runs('sgd', () => 5, (s) => [cp(5, mid, 10 + s), cp(10, mid, 20 + s), cp(15, mid, 40 + s)]);
    const c = falls(up, ['sgd'], 'trace');
    assert.equal(c.verdict, 'contradicted', c.why);
    const flat = htrFlatter([...down, ...runs('htr', () => 5, (s) => [cp(15, mid, 10 + s)])], 'htr');
    assert.equal(flat.verdict, 'supported', flat.why);
    assert.match(flat.why, /trace ratio 0\.\d\d/);
  });
  test('allClaims lists every claim once; with nothing run, every verdict is undecided', () => {
    const none: RunResult[] = (['sgd', 'l2', 'htr', 'htr-middle'] as Config[]).flatMap((c) => SEEDS.map((s) => ({ config: c, seed: s, complete: false, finalTestError: null, sweep: [] })));
    const cs = allClaims(none, ['sgd', 'l2', 'htr', 'htr-middle']);
    assert.deepEqual(
      cs.map((c) => c.id),
      ['error-htr-vs-sgd', 'error-htr-vs-l2', 'error-htr-middle-vs-sgd', 'esd-middle-closest-w1', 'esd-middle-closest-js', 'trace-falls', 'top-falls', 'flatter-htr', 'flatter-htr-middle'],
    );
    assert.ok(cs.every((c) => c.verdict === 'undecided'));
  });
});
