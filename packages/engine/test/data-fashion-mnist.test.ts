/**
 * The installed Fashion-MNIST set (Debian package dataset-fashion-mnist, or the folder in
 * HESSIAN_FASHION_MNIST). Known facts checked: train[0] and test[0] are both class 9
 * (Ankle boot), each class has 6000 training and 1000 test examples, and the raw bytes of a
 * row of train[0]. Skipped (with a note) only when the files are not installed.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { UserError } from '@hessian/linalg';
import { loadDataset } from '../src/data/index.js';

const root = process.env.HESSIAN_FASHION_MNIST ?? '/usr/share/datasets/fashion-mnist';
const installed = existsSync(join(root, 'train-images-idx3-ubyte.gz')) || existsSync(join(root, 'train-images-idx3-ubyte'));
const skip = installed ? false : `Fashion-MNIST not found in ${root} (apt-get install dataset-fashion-mnist)`;

describe('fashion-mnist', { skip }, () => {
  test('the whole training set: shape, first labels, known pixels, balance', async () => {
    const d = await loadDataset('fashion-mnist:train');
    assert.deepEqual(d.shape, [60000, 28, 28, 1]);
    assert.equal(d.x.length, 60000 * 784);
    assert.equal(d.numClasses, 10);
    assert.equal(d.description, 'fashion-mnist:train[0:60000]');
    assert.match(d.source, /train-images-idx3-ubyte(\.gz)?,.*train-labels-idx1-ubyte(\.gz)?$/);
    assert.deepEqual(Array.from(d.labels.subarray(0, 10)), [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    // Row 14 of train[0] (an ankle boot), raw bytes from the IDX file.
    const row = [0, 0, 1, 4, 6, 7, 2, 0, 0, 0, 0, 0, 237, 226, 217, 223, 222, 219, 222, 221, 216, 223, 229, 215, 218, 255, 77, 0];
    assert.deepEqual(Array.from(d.x.subarray(14 * 28, 15 * 28)), row.map((v) => Math.fround(v / 255)));
    const counts = new Array(10).fill(0);
    for (const l of d.labels) counts[l]++;
    assert.deepEqual(counts, new Array(10).fill(6000));
    let min = Infinity;
    let max = -Infinity;
    for (const v of d.x) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    assert.deepEqual([min, max], [0, 1]);
    // Load time is measured by bench/, never asserted here (a shared machine is noisy).
  });

  test('test split, slices and the per-class Hessian subset', async () => {
    const t = await loadDataset('fashion-mnist:test[0:20]');
    assert.deepEqual(Array.from(t.labels), [9, 2, 1, 1, 6, 1, 4, 6, 5, 7, 4, 5, 7, 3, 4, 1, 2, 4, 8, 0]);
    assert.deepEqual(t.shape, [20, 28, 28, 1]);
    const alias = await loadDataset('fashion-mnist:t10k[5:9]');
    assert.deepEqual(Array.from(alias.labels), [1, 4, 6, 5]);
    assert.deepEqual(alias.x, t.x.slice(5 * 784, 9 * 784));
    assert.equal(alias.description, 'fashion-mnist:test[5:9]');
    const tail = await loadDataset('fashion-mnist:test[9990:]');
    assert.equal(tail.shape[0], 10);

    const pc = await loadDataset('fashion-mnist:train', { perClass: 10 });
    assert.deepEqual(pc.shape, [100, 28, 28, 1]);
    assert.equal(pc.description, 'fashion-mnist:train[0:60000] per-class 10');
    const counts = new Array(10).fill(0);
    for (const l of pc.labels) counts[l]++;
    assert.deepEqual(counts, new Array(10).fill(10));
    // In original order: the first examples are train[0], train[1], ... (labels 9, 0, 0, 3, 0, 2, 7, 2, 5, 5).
    assert.deepEqual(Array.from(pc.labels.subarray(0, 10)), [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    const full = await loadDataset('fashion-mnist:train[0:1]');
    assert.deepEqual(pc.x.subarray(0, 784), full.x);

    await assert.rejects(loadDataset('fashion-mnist:test[0:30]', { perClass: 5 }), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.equal(e.code, 'INVALID_ARGUMENT');
      assert.match(e.message, /^Class \d \([A-Za-z/ -]+\) has only \d examples in fashion-mnist:test\[0:30\]/);
      return true;
    });
    await assert.rejects(loadDataset('fashion-mnist:train[0:60001]'), /which has 60000 examples; use an end of at most 60000/);
  });
});

describe('fashion-mnist root', () => {
  test('the root option and HESSIAN_FASHION_MNIST choose the folder; a missing one says how to install', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hessian-fmnist-'));
    const prev = process.env.HESSIAN_FASHION_MNIST;
    try {
      const img = Buffer.alloc(16 + 2 * 4);
      img.writeUInt32BE(0x803, 0);
      img.writeUInt32BE(2, 4);
      img.writeUInt32BE(2, 8);
      img.writeUInt32BE(2, 12);
      img.set([0, 51, 102, 255, 255, 0, 0, 0], 16);
      const lbl = Buffer.from([0, 0, 8, 1, 0, 0, 0, 2, 3, 7]);
      writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(img));
      writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), lbl); // plain files are found too
      const d = await loadDataset('fashion-mnist:test', { root: dir });
      assert.deepEqual(d.shape, [2, 2, 2, 1]);
      assert.deepEqual(Array.from(d.labels), [3, 7]);
      assert.equal(d.numClasses, 10, 'at least 10 classes for Fashion-MNIST');
      assert.deepEqual(Array.from(d.x.subarray(0, 4)), [0, 0.2, 0.4, 1].map(Math.fround));
      process.env.HESSIAN_FASHION_MNIST = dir;
      assert.deepEqual(Array.from((await loadDataset('fashion-mnist:test[1:]')).labels), [7]);
      await assert.rejects(loadDataset('fashion-mnist:train'), (e: unknown) => {
        assert.ok(e instanceof UserError);
        assert.equal(e.code, 'NOT_FOUND');
        assert.ok(e.message.includes(join(dir, 'train-images-idx3-ubyte.gz')), e.message);
        assert.match(e.message, /apt-get install dataset-fashion-mnist/);
        assert.match(e.message, /HESSIAN_FASHION_MNIST/);
        return true;
      });
    } finally {
      if (prev === undefined) delete process.env.HESSIAN_FASHION_MNIST;
      else process.env.HESSIAN_FASHION_MNIST = prev;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
