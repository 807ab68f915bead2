/**
 * loadDataset (src/data) on small files written here with known contents (plain and gzipped),
 * the file cache, per-class subsets, synthetic data, onehot and sliceBatch, and every user
 * error with its code. Spec parsing and the readers are in data-formats.test.ts, the real
 * Fashion-MNIST set in data-fashion-mnist.test.ts.
 */
import assert from 'node:assert/strict';
import { utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { loadDataset, onehot, sliceBatch, type Batch } from '../src/data/index.js';
import { RACY_MS } from '../src/data/file-cache.js';
import { assertUserError, dir, f32, file, idxBytes, imgIdx, imgIdxGz, LABELS, lblIdx, lblIdxGz, N, npyBytes, PIX } from './data-files.js';

describe('loadDataset on IDX files', () => {
  test('pixels are uint8 / 255 as float32, NHWC with a channel added, labels exact (plain and gz)', async () => {
    for (const [img, lbl] of [[imgIdx, lblIdx], [imgIdxGz, lblIdxGz], [imgIdx, lblIdxGz]]) {
      const d = await loadDataset(`idx:${img},${lbl}`);
      assert.deepEqual(d.shape, [N, 2, 3, 1]);
      assert.ok(d.x instanceof Float32Array);
      assert.deepEqual(Array.from(d.x), PIX.map((v) => f32(v / 255)));
      assert.deepEqual(Array.from(d.labels), LABELS);
      assert.equal(d.numClasses, 3);
      assert.equal(d.description, `idx:${img},${lbl}[0:6]`);
      assert.equal(d.source, `${img},${lbl}`);
    }
  });

  test('slices are half-open with optional ends', async () => {
    const spec = `idx:${imgIdx},${lblIdx}`;
    const d = await loadDataset(`${spec}[2:5]`);
    assert.deepEqual(d.shape, [3, 2, 3, 1]);
    assert.deepEqual(Array.from(d.labels), LABELS.slice(2, 5));
    assert.deepEqual(Array.from(d.x), PIX.slice(12, 30).map((v) => f32(v / 255)));
    assert.equal(d.numClasses, 3, 'numClasses comes from the whole file, so shards agree');
    assert.equal(d.description, `${spec}[2:5]`);
    assert.deepEqual(Array.from((await loadDataset(`${spec}[:2]`)).labels), [2, 0]);
    assert.deepEqual(Array.from((await loadDataset(`${spec}[4:]`)).labels), [2, 1]);
    assert.deepEqual(Array.from((await loadDataset(`${spec}[5:6]`)).labels), [1]);
    const sub = await loadDataset(`${spec}[4:]`);
    assert.equal(sub.description, `${spec}[4:6]`);
    assert.equal(sub.numClasses, 3);
  });

  test('relative paths resolve against the working directory', async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const d = await loadDataset(`idx:${imgIdx.slice(dir.length + 1)},${lblIdx.slice(dir.length + 1)}[0:1]`);
      assert.equal(d.source, `${imgIdx},${lblIdx}`);
      assert.deepEqual(Array.from(d.labels), [2]);
    } finally {
      process.chdir(cwd);
    }
  });

  test('float IDX images are used as is, [n, d] stays flat, [n, h, w, c] is kept', async () => {
    const flat = file('flat.idx', idxBytes(0x0d, [2, 3], [0.5, -2, 7.25, 1, 2, 3]));
    const lbl2 = file('lbl2.idx', idxBytes(0x08, [2], [1, 4]));
    const d = await loadDataset(`idx:${flat},${lbl2}`);
    assert.deepEqual(d.shape, [2, 3]);
    assert.deepEqual(Array.from(d.x), [0.5, -2, 7.25, 1, 2, 3]);
    assert.equal(d.numClasses, 5);
    const rgb = file('rgb.idx', idxBytes(0x08, [2, 1, 2, 3], [0, 51, 102, 153, 204, 255, 1, 2, 3, 4, 5, 6]));
    const e = await loadDataset(`idx:${rgb},${lbl2}[1:2]`);
    assert.deepEqual(e.shape, [1, 1, 2, 3]);
    assert.deepEqual(Array.from(e.x), [1, 2, 3, 4, 5, 6].map((v) => f32(v / 255)));
  });

  test('a file changed on disk is read again (the cache checks size and mtime)', async () => {
    const img = file('changing.idx', idxBytes(0x08, [1, 1, 1], [10]));
    const lbl = file('changing-lbl.idx', idxBytes(0x08, [1], [0]));
    assert.deepEqual(Array.from((await loadDataset(`idx:${img},${lbl}`)).x), [f32(10 / 255)]);
    writeFileSync(img, idxBytes(0x08, [2, 1, 1], [20, 30]));
    writeFileSync(lbl, idxBytes(0x08, [2], [0, 1]));
    assert.deepEqual(Array.from((await loadDataset(`idx:${img},${lbl}`)).x), [f32(20 / 255), f32(30 / 255)]);
  });

  // A same-size rewrite within a coarse timestamp tick keeps (size, mtime); utimes pins the mtime
  // to what it was, as such a file system would.
  const pinned = (p: string, bytes: Buffer, mtime: Date): void => {
    writeFileSync(p, bytes);
    utimesSync(p, mtime, mtime);
  };
  const pixelsOf = async (img: string, lbl: string) => Array.from((await loadDataset(`idx:${img},${lbl}`)).x);

  test('a same-size rewrite that keeps a recent mtime is read again (the entry was cached within the timestamp tick)', async () => {
    const img = file('racy.idx', idxBytes(0x08, [1, 1, 1], [10]));
    const lbl = file('racy-lbl.idx', idxBytes(0x08, [1], [0]));
    const now = new Date();
    pinned(img, idxBytes(0x08, [1, 1, 1], [10]), now);
    assert.deepEqual(await pixelsOf(img, lbl), [f32(10 / 255)]);
    pinned(img, idxBytes(0x08, [1, 1, 1], [99]), now);
    assert.deepEqual(await pixelsOf(img, lbl), [f32(99 / 255)]);
  });

  test(`a file older than ${RACY_MS} ms when cached is served from the cache while (size, mtime) stay the same`, async () => {
    const img = file('settled.idx', idxBytes(0x08, [1, 1, 1], [10]));
    const lbl = file('settled-lbl.idx', idxBytes(0x08, [1], [0]));
    const old = new Date(Date.now() - 10 * RACY_MS);
    pinned(img, idxBytes(0x08, [1, 1, 1], [10]), old);
    assert.deepEqual(await pixelsOf(img, lbl), [f32(10 / 255)]);
    // Not a read: the cached decode (a rewrite that also forges the old mtime goes unseen, by design).
    pinned(img, idxBytes(0x08, [1, 1, 1], [99]), old);
    assert.deepEqual(await pixelsOf(img, lbl), [f32(10 / 255)]);
    // A new mtime is a new file.
    pinned(img, idxBytes(0x08, [1, 1, 1], [99]), new Date(old.getTime() + 1000));
    assert.deepEqual(await pixelsOf(img, lbl), [f32(99 / 255)]);
  });
});

describe('loadDataset on npy files', () => {
  test('uint8 X [n, h, w] gets a channel and is scaled; int64 labels', async () => {
    const x = file('x.npy', npyBytes('|u1', [N, 2, 3], PIX));
    const y = file('y.npy', npyBytes('<i8', [N], LABELS));
    const d = await loadDataset(`npy:${x},${y}[1:4]`);
    assert.deepEqual(d.shape, [3, 2, 3, 1]);
    assert.deepEqual(Array.from(d.x), PIX.slice(6, 24).map((v) => f32(v / 255)));
    assert.deepEqual(Array.from(d.labels), [0, 1, 0]);
    assert.equal(d.numClasses, 3);
  });

  test('float X is used as is; [n, d] and [n, h, w, c] keep their shape; labels [n, 1], gz, any int dtype', async () => {
    const vals = [0.25, -1, 3.5, 100, 0, 1e-3, 7, 8];
    const x2 = file('x2.npy.gz', gzipSync(npyBytes('<f8', [2, 4], vals)));
    const y2 = file('y2.npy', npyBytes('<i4', [2, 1], [3, 1]));
    const d = await loadDataset(`npy:${x2},${y2}`);
    assert.deepEqual(d.shape, [2, 4]);
    assert.deepEqual(Array.from(d.x), vals.map(f32));
    assert.deepEqual(Array.from(d.labels), [3, 1]);
    assert.equal(d.numClasses, 4);
    const x4 = file('x4.npy', npyBytes('<f4', [2, 2, 1, 2], vals, { version: 2 }));
    const y4 = file('y4.npy', npyBytes('|u1', [2], [0, 0]));
    const e = await loadDataset(`npy:${x4},${y4}`);
    assert.deepEqual(e.shape, [2, 2, 1, 2]);
    assert.deepEqual(Array.from(e.x), vals.map(f32));
    assert.equal(e.numClasses, 1);
    const yf = file('yf.npy', npyBytes('<f4', [2], [2, 0]));
    assert.deepEqual(Array.from((await loadDataset(`npy:${x4},${yf}`)).labels), [2, 0]);
  });
});

describe('per-class subsets', () => {
  // Labels 0..2; class 1 appears late.
  const labels = [0, 0, 2, 0, 2, 1, 2, 0, 1, 1, 0, 2];
  const img = file('pc-img.idx', idxBytes(0x08, [labels.length, 1, 1], labels.map((_, i) => i)));
  const lbl = file('pc-lbl.idx', idxBytes(0x08, [labels.length], labels));
  const spec = `idx:${img},${lbl}`;

  test('first k of each class within the range, in original order', async () => {
    const d = await loadDataset(spec, { perClass: 2 });
    // First two 0s: 0, 1; first two 2s: 2, 4; first two 1s: 5, 8.
    assert.deepEqual(Array.from(d.x).map((v) => Math.round(v * 255)), [0, 1, 2, 4, 5, 8]);
    assert.deepEqual(Array.from(d.labels), [0, 0, 2, 2, 1, 1]);
    assert.deepEqual(d.shape, [6, 1, 1, 1]);
    assert.equal(d.description, `${spec}[0:12] per-class 2`);
    const r = await loadDataset(`${spec}[3:]`, { perClass: 1 });
    assert.deepEqual(Array.from(r.x).map((v) => Math.round(v * 255)), [3, 4, 5]);
    assert.deepEqual(Array.from(r.labels), [0, 2, 1]);
    assert.equal(r.description, `${spec}[3:12] per-class 1`);
  });

  test('a class with too few examples is named with its count', async () => {
    await assertUserError(() => loadDataset(`${spec}[0:8]`, { perClass: 2 }), 'INVALID_ARGUMENT', /Class 1 has only 1 examples in .*\[0:8\]/, /at most 1/);
    await assertUserError(() => loadDataset(`${spec}[0:4]`, { perClass: 1 }), 'INVALID_ARGUMENT', /Class 1 has only 0 examples/, /widen the slice/);
    await assertUserError(() => loadDataset(spec, { perClass: 5 }), 'INVALID_ARGUMENT', /Class 1 has only 3 examples/);
  });

  test('zero, negative or fractional per-class is refused', async () => {
    for (const k of [0, -1, 1.5]) {
      await assertUserError(() => loadDataset(spec, { perClass: k }), 'INVALID_ARGUMENT', new RegExp(`Per-class count ${k} is invalid`));
    }
  });
});

describe('synthetic data', () => {
  test('deterministic from the seed; a different seed gives different data', async () => {
    const a = await loadDataset('synthetic:50', { seed: 3 });
    const b = await loadDataset('synthetic:50', { seed: 3 });
    const c = await loadDataset('synthetic:50', { seed: 4 });
    assert.deepEqual(a.shape, [50, 28, 28, 1]);
    assert.deepEqual(a.x, b.x);
    assert.deepEqual(a.labels, b.labels);
    assert.notDeepEqual(a.x, c.x);
    assert.notDeepEqual(a.labels, c.labels);
    assert.equal(a.numClasses, 10);
    assert.equal(a.description, 'synthetic:50[0:50] (seed 3, shape [28,28,1], 10 classes)');
    assert.ok(a.x.every((v) => v >= 0 && v < 1));
    const mean = a.x.reduce((s, v) => s + v, 0) / a.x.length;
    assert.ok(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`);
    const seen = new Set(a.labels);
    assert.ok(seen.size >= 8, `only ${seen.size} classes in 50 examples`);
  });

  test('a slice equals the same slice of the whole set; per-class works', async () => {
    const all = await loadDataset('synthetic:40', { inputShape: [5], numClasses: 3 });
    const part = await loadDataset('synthetic:40[10:25]', { inputShape: [5], numClasses: 3 });
    assert.deepEqual(part.shape, [15, 5]);
    assert.deepEqual(part.x, all.x.slice(50, 125));
    assert.deepEqual(part.labels, all.labels.slice(10, 25));
    const pc = await loadDataset('synthetic:40', { inputShape: [5], numClasses: 3, perClass: 4 });
    assert.deepEqual(pc.shape, [12, 5]);
    for (let k = 0; k < 3; k++) assert.equal(pc.labels.filter((l) => l === k).length, 4);
    assert.match(pc.description, /^synthetic:40\[0:40\] per-class 4 \(seed 0, shape \[5\], 3 classes\)$/);
    const img = await loadDataset('synthetic:2', { inputShape: [4, 3] });
    assert.deepEqual(img.shape, [2, 4, 3, 1]);
  });

  test('labels follow one linear rule across seeds, so a linear model learns them', async () => {
    const opts = { inputShape: [8], numClasses: 3 };
    const train = await loadDataset('synthetic:600', { ...opts, seed: 1 });
    const test2 = await loadDataset('synthetic:300', { ...opts, seed: 2 });
    // Softmax regression by full-batch gradient descent.
    const d = 8;
    const k = 3;
    const w = new Float64Array(k * d);
    const y = onehot(train.labels, k);
    for (let it = 0; it < 300; it++) {
      const g = new Float64Array(k * d);
      for (let i = 0; i < 600; i++) {
        const z = [0, 0, 0];
        for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) z[c] += w[c * d + j] * (train.x[i * d + j] - 0.5);
        const m = Math.max(...z);
        const e = z.map((v) => Math.exp(v - m));
        const s = e[0] + e[1] + e[2];
        for (let c = 0; c < k; c++) {
          const r = e[c] / s - y[i * k + c];
          for (let j = 0; j < d; j++) g[c * d + j] += r * (train.x[i * d + j] - 0.5);
        }
      }
      for (let q = 0; q < k * d; q++) w[q] -= (20 / 600) * g[q];
    }
    let correct = 0;
    for (let i = 0; i < 300; i++) {
      let best = 0;
      let bestZ = -Infinity;
      for (let c = 0; c < k; c++) {
        let z = 0;
        for (let j = 0; j < d; j++) z += w[c * d + j] * (test2.x[i * d + j] - 0.5);
        if (z > bestZ) [best, bestZ] = [c, z];
      }
      if (best === test2.labels[i]) correct++;
    }
    assert.ok(correct / 300 > 0.9, `held-out accuracy ${correct / 300}`);
  });

  test('bad options are refused', async () => {
    await assertUserError(() => loadDataset('synthetic:5', { inputShape: [0, 3] }), 'INVALID_ARGUMENT', /input shape \[0,3\]/);
    await assertUserError(() => loadDataset('synthetic:5', { inputShape: [] }), 'INVALID_ARGUMENT', /input shape/);
    await assertUserError(() => loadDataset('synthetic:5', { numClasses: 0 }), 'INVALID_ARGUMENT', /0 classes/);
    await assertUserError(() => loadDataset('synthetic:5', { seed: 0.5 }), 'INVALID_ARGUMENT', /seed 0\.5/);
    await assertUserError(() => loadDataset('synthetic:5[3:9]'), 'INVALID_ARGUMENT', /out of range for synthetic:5, which has 5 examples; use an end of at most 5/);
  });
});

describe('loadDataset errors', () => {
  const spec = `idx:${imgIdx},${lblIdx}`;

  test('missing files are NOT_FOUND and name the path', async () => {
    const missing = join(dir, 'no-such-images.idx');
    await assertUserError(() => loadDataset(`idx:${missing},${lblIdx}`), 'NOT_FOUND', new RegExp(`Data file ${missing} was not found`));
    const x = file('present.npy', npyBytes('<f4', [1, 1], [0]));
    await assertUserError(() => loadDataset(`npy:${x},${join(dir, 'gone.npy')}`), 'NOT_FOUND', /gone\.npy was not found/, /fix the path/);
    await assertUserError(() => loadDataset(`idx:${dir},${lblIdx}`), 'INVALID_ARGUMENT', /is not a regular file/);
  });

  test('slices out of range say the size of the set', async () => {
    await assertUserError(() => loadDataset(`${spec}[0:7]`), 'INVALID_ARGUMENT', /\[0:7\] is out of range for idx:.*, which has 6 examples; use an end of at most 6\./);
    await assertUserError(() => loadDataset(`${spec}[6:]`), 'INVALID_ARGUMENT', /starts past the end of .*, which has 6 examples; use a start below 6\./);
    await assertUserError(() => loadDataset(`${spec}[4:2]`), 'INVALID_ARGUMENT', /empty or reversed/);
  });

  test('images and labels must agree in count', async () => {
    const shortLbl = file('short.idx', idxBytes(0x08, [5], LABELS.slice(0, 5)));
    await assertUserError(() => loadDataset(`idx:${imgIdx},${shortLbl}`), 'FAILED_PRECONDITION', /has 6 examples but .*short\.idx has 5 labels/);
  });

  test('NaN or Inf in float data names the file and the first index', async () => {
    const nan = file('nan.npy', npyBytes('<f4', [2, 3], [0, 1, 2, 3, NaN, 5]));
    const y = file('y-nan.npy', npyBytes('|u1', [2], [0, 1]));
    await assertUserError(() => loadDataset(`npy:${nan},${y}`), 'FAILED_PRECONDITION', /nan\.npy holds NaN at flat index 4 \(example 1\)/);
    const inf = file('inf.idx', idxBytes(0x0e, [2, 3], [0, -Infinity, 2, 3, 4, 5]));
    await assertUserError(() => loadDataset(`idx:${inf},${lblIdx}`), 'FAILED_PRECONDITION', /inf\.idx holds -Infinity at flat index 1 \(example 0\)/);
  });

  test('bad labels and shapes are refused', async () => {
    const x = file('xl.npy', npyBytes('<f4', [2, 2], [0, 0, 0, 0]));
    await assertUserError(() => loadDataset(`npy:${x},${file('neg.npy', npyBytes('<i4', [2], [0, -1]))}`), 'FAILED_PRECONDITION', /holds label -1 at index 1/);
    await assertUserError(() => loadDataset(`npy:${x},${file('frac.npy', npyBytes('<f4', [2], [0, 1.5]))}`), 'FAILED_PRECONDITION', /holds label 1\.5 at index 1/);
    await assertUserError(() => loadDataset(`npy:${x},${file('oh.npy', npyBytes('<f4', [2, 2], [1, 0, 0, 1]))}`), 'INVALID_ARGUMENT', /labels must be a vector/);
    await assertUserError(() => loadDataset(`npy:${file('x1.npy', npyBytes('<f4', [2], [0, 0]))},${lblIdx}`), 'INVALID_ARGUMENT', /inputs must be \[n, d\]/);
    await assertUserError(() => loadDataset(`npy:${file('x0.npy', npyBytes('<f4', [0, 3], []))},${file('y0.npy', npyBytes('<i4', [0], []))}`), 'FAILED_PRECONDITION', /holds no examples/);
  });

  test('malformed files are refused with the path', async () => {
    const junk = file('junk.idx', Buffer.from('this is not idx'));
    await assertUserError(() => loadDataset(`idx:${junk},${lblIdx}`), 'INVALID_ARGUMENT', /junk\.idx is not an IDX file/);
    const npyAsIdx = file('x.idx', npyBytes('<f4', [1], [0]));
    await assertUserError(() => loadDataset(`npy:${imgIdx},${npyAsIdx}`), 'INVALID_ARGUMENT', /img\.idx is not a NumPy \.npy file/);
    const badGz = file('bad.gz', gzipSync(idxBytes(0x08, [N], LABELS)).subarray(0, 15));
    await assertUserError(() => loadDataset(`idx:${imgIdx},${badGz}`), 'INVALID_ARGUMENT', /bad\.gz starts like a gzip file/);
  });
});

describe('onehot and sliceBatch', () => {
  test('onehot rows', async () => {
    assert.deepEqual(Array.from(onehot(Int32Array.from([2, 0, 1]), 3)), [0, 0, 1, 1, 0, 0, 0, 1, 0]);
    assert.deepEqual(onehot(new Int32Array(0), 4), new Float32Array(0));
    await assertUserError(() => onehot(Int32Array.from([0, 3]), 3), 'INVALID_ARGUMENT', /Label 3 of example 1 is outside 0\.\.2/);
    await assertUserError(() => onehot(Int32Array.from([0]), 0), 'INVALID_ARGUMENT', /0 classes/);
  });

  test('sliceBatch copies a range of examples and keeps numClasses', async () => {
    const d = await loadDataset(`idx:${imgIdx},${lblIdx}`);
    const s: Batch = sliceBatch(d, 1, 3);
    assert.deepEqual(s.shape, [2, 2, 3, 1]);
    assert.deepEqual(Array.from(s.x), PIX.slice(6, 18).map((v) => f32(v / 255)));
    assert.deepEqual(Array.from(s.labels), [0, 1]);
    assert.equal(s.numClasses, 3);
    s.x[0] = 42;
    assert.notEqual(d.x[6], 42, 'a copy, not a view');
    // Shards that cover the batch reassemble it.
    const parts = [sliceBatch(d, 0, 2), sliceBatch(d, 2, 5), sliceBatch(d, 5, 6)];
    assert.deepEqual(Array.from(parts.flatMap((p) => Array.from(p.labels))), LABELS);
    const flat = sliceBatch({ x: Float32Array.from([1, 2, 3, 4, 5, 6]), shape: [3, 2], labels: Int32Array.from([0, 1, 0]), numClasses: 2 }, 2, 3);
    assert.deepEqual([flat.shape, Array.from(flat.x)], [[1, 2], [5, 6]]);
    for (const [a, b] of [[0, 0], [3, 2], [-1, 2], [0, 7], [0.5, 2]]) {
      await assertUserError(() => sliceBatch(d, a, b), 'INVALID_ARGUMENT', /0 <= start < end <= 6/);
    }
  });
});
