/**
 * The training-data pipeline: augmentation ops and their seeding (per epoch, per example, so
 * any split of a minibatch sees the same images), and a real run at the paper's settings in
 * miniature (lenet-32 on Fashion-MNIST, --pad 2 --normalize mean-std --augment
 * flip,rotate:15): interrupted in the middle of its epoch and resumed, it ends with the same
 * weight bytes as the uninterrupted run; the statistics in run.json are the training set's.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { normalizeSpec } from '@hessian/analysis';
import { initBackend, loadDataset, meanStd } from '@hessian/engine';
import {
  Augmenter,
  augmentImage,
  epochDraws,
  formatAugment,
  normalizeTrainSpec,
  parseAugment,
  readRunSpec,
  resume,
  testDataSpec,
  train,
  trainDataSpec,
  withRunPreprocessing,
  type PartialTrainSpec,
} from '../src/index.js';

let root: string;
before(async () => {
  await initBackend('cpu');
  root = mkdtempSync(join(tmpdir(), 'hessian-augment-'));
});

describe('augmentation', () => {
  test('parse and format; one-sentence errors naming --augment', () => {
    assert.deepEqual(parseAugment(' flip, rotate:15 ,crop:4'), [{ kind: 'flip' }, { kind: 'rotate', degrees: 15 }, { kind: 'crop', pixels: 4 }]);
    assert.equal(formatAugment(parseAugment('flip,rotate:15')), 'flip,rotate:15');
    assert.deepEqual(parseAugment('none'), []);
    assert.throws(() => parseAugment('flip,zoom:2'), /^UserError: --augment: unknown op "zoom:2"; use flip, rotate:DEGREES or crop:PIXELS/);
    assert.throws(() => parseAugment('rotate'), /--augment: rotate needs a maximum angle in degrees/);
    assert.throws(() => parseAugment('crop:1.5'), /--augment: crop needs a whole number of pixels/);
    assert.throws(() => normalizeTrainSpec({ model: 'zoo:lenet', normalize: 'z' as 'none' }), /--normalize: must be mean-std or none/);
    assert.throws(() => normalizeTrainSpec({ model: 'zoo:lenet-32', pad: 2, data: 'fashion-mnist:train?pad=2' }), /--data: "fashion-mnist:train\?pad=2" has its own preprocessing options; give them either as --pad\/--normalize/);
    assert.equal(normalizeTrainSpec({ model: 'zoo:lenet-32', data: 'fashion-mnist:train?pad=2' }).data, 'fashion-mnist:train?pad=2');
  });

  test('draws: fixed by (seed, epoch), other epochs differ, a prefix does not depend on n; angles within the bound, about half flipped', () => {
    const ops = parseAugment('flip,rotate:15');
    const a = epochDraws(ops, 7, 3, 1000);
    assert.deepEqual(epochDraws(ops, 7, 3, 1000), a);
    assert.deepEqual(epochDraws(ops, 7, 3, 10), a.subarray(0, 20));
    assert.notDeepEqual(epochDraws(ops, 7, 4, 1000), a);
    let flips = 0;
    for (let i = 0; i < 1000; i++) {
      flips += a[2 * i];
      assert.ok(Math.abs(a[2 * i + 1]) <= 15);
    }
    assert.ok(flips > 430 && flips < 570, `${flips} of 1000 flipped`);
  });

  test('augmentImage applies the drawn flip then the drawn rotation', () => {
    const ops = parseAugment('flip,rotate:90');
    const img = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    augmentImage(img, { h: 3, w: 3, c: 1 }, ops, [1, 90], 0, 0, new Float32Array(9));
    // mirror: 3 2 1 / 6 5 4 / 9 8 7, then 90 degrees counter-clockwise
    assert.deepEqual(img, Float32Array.from([1, 4, 7, 2, 5, 8, 3, 6, 9]));
  });

  test('an example is augmented the same in any minibatch or shard', async () => {
    const data = await loadDataset('fashion-mnist:train[0:64]?pad=2,mean=0.3,std=0.35');
    const aug = new Augmenter(data);
    const step = { ops: 'flip,rotate:15,crop:2', seed: 1, epoch: 2 };
    const per = 32 * 32;
    const rows = (idx: number[]) => {
      const xs = new Float32Array(idx.length * per);
      idx.forEach((i, j) => xs.set(data.x.subarray(i * per, (i + 1) * per), j * per));
      aug.apply(step, idx, xs);
      return xs;
    };
    const whole = rows([5, 40, 2, 9]);
    const parts = [rows([5, 40]), rows([2]), rows([9])];
    assert.deepEqual(whole, Float32Array.from([...parts[0], ...parts[1], ...parts[2]]));
    assert.notDeepEqual(whole.subarray(0, per), data.x.subarray(5 * per, 6 * per), 'something changed');
    // rotated-in and shifted-in pixels are the normalized black
    assert.ok(whole.every((v) => v >= (0 - 0.3) / 0.35 - 1e-6));
  });
});

const PAPER_MINI: PartialTrainSpec = {
  model: 'zoo:lenet-32',
  data: 'fashion-mnist:train[0:384]',
  testData: 'fashion-mnist:test[0:128]',
  epochs: 1,
  batchSize: 64,
  lr: 0.01,
  momentum: 0.9,
  pad: 2,
  normalize: 'mean-std',
  augment: 'flip,rotate:15',
  seed: 4,
};

describe('a run with --pad 2 --normalize mean-std --augment flip,rotate:15', () => {
  test('interrupted midway through its epoch and resumed: the same weight bytes as uninterrupted; stats in run.json; sweeps use them', async () => {
    const spec = normalizeTrainSpec(PAPER_MINI);
    const a = join(root, 'straight');
    const ra = await train(spec, a);
    assert.equal(ra.steps, 6);
    const stored = await readRunSpec(a);
    const raw = await loadDataset('fashion-mnist:train[0:384]');
    assert.deepEqual(stored.stats, meanStd(raw.x));
    assert.match(trainDataSpec(stored), /^fashion-mnist:train\[0:384\]\?pad=2,mean=0\.\d+,std=0\.\d+$/);
    assert.equal(testDataSpec(stored).split('?')[1], trainDataSpec(stored).split('?')[1], 'the test set gets the same preprocessing');

    const b = join(root, 'interrupted');
    await assert.rejects(
      train(spec, b, {
        onProgress: (p) => {
          if (p.step === 3) throw new Error('simulated kill at step 3 of 6');
        },
      }),
      /simulated kill/,
    );
    await resume(b);
    const w = (run: string) => readFileSync(join(run, 'checkpoints', 'epoch-001', 'weights.bin'));
    assert.ok(w(b).equals(w(a)), 'weights after the resumed epoch equal the uninterrupted run, byte for byte');
    assert.ok(readFileSync(join(b, 'checkpoints', 'epoch-001', 'momentum.bin')).equals(readFileSync(join(a, 'checkpoints', 'epoch-001', 'momentum.bin'))));

    // a padded set on a model for the unpadded size: one sentence naming the fix
    await assert.rejects(train(normalizeTrainSpec({ ...PAPER_MINI, model: 'zoo:lenet' }), join(root, 'wrong-size')), /--data: examples of shape \[32, 32, 1\] \(padded by 2\) do not fit model input \[28, 28, 1\]; give a model for the padded size \(zoo:lenet-32/);

    // without augmentation the run differs (the ops did something)
    const c = join(root, 'plain');
    await train(normalizeTrainSpec({ ...PAPER_MINI, augment: 'none' }), c);
    assert.ok(!w(c).equals(w(a)));

    // a sweep's analysis data gets the run's preprocessing; explicit options are kept
    const an = normalizeSpec({ model: 'zoo:lenet-32', data: 'fashion-mnist:train', perClass: 10 });
    assert.equal(withRunPreprocessing(an, stored).data, trainDataSpec({ ...stored, data: 'fashion-mnist:train' }));
    assert.equal(withRunPreprocessing({ ...an, data: 'fashion-mnist:train?pad=2' }, stored).data, 'fashion-mnist:train?pad=2');
  });
});
