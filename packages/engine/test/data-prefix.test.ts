/**
 * Slices of IDX files decoded from a prefix of the file (src/data/idx-prefix.ts): the same
 * bytes as a whole-file decode, on real Fashion-MNIST and on a file written here with known
 * values (gzipped and plain, whole and cut short), and the file cache's row rule (a prefix
 * entry serves slices ending within its rows; a larger request decodes more).
 */
import assert from 'node:assert/strict';
import { existsSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Rng } from '@hessian/linalg';
import { loadDataset, type Dataset } from '../src/data/index.js';
import { cachedRows, RACY_MS } from '../src/data/file-cache.js';
import { FIRST_READ } from '../src/data/file-read.js';
import { assertUserError, f32, file, idxBytes } from './data-files.js';

function bytesOf(a: Float32Array | Int32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function assertSameRows(got: Dataset, want: Dataset, what: string): void {
  assert.deepEqual(got.shape, want.shape, what);
  assert.ok(bytesOf(got.x).equals(bytesOf(want.x)), `${what}: x differs`);
  assert.ok(bytesOf(got.labels).equals(bytesOf(want.labels)), `${what}: labels differ`);
  assert.equal(got.numClasses, want.numClasses, what);
}

const root = process.env.HESSIAN_FASHION_MNIST ?? '/usr/share/datasets/fashion-mnist';
const fmnist = (base: string): string => (existsSync(join(root, `${base}.gz`)) ? join(root, `${base}.gz`) : join(root, base));
const installed = existsSync(fmnist('train-images-idx3-ubyte')) && existsSync(fmnist('t10k-images-idx3-ubyte'));
const skip = installed ? false : `Fashion-MNIST not found in ${root} (apt-get install dataset-fashion-mnist)`;

describe('fashion-mnist slices from a prefix', { skip }, () => {
  test('train[0:256], train[1000:1300] and test[0:50] equal the same rows of a whole-file decode', async () => {
    const train = fmnist('train-images-idx3-ubyte');
    const testImages = fmnist('t10k-images-idx3-ubyte');
    // Cold: nothing of these files is cached yet, so each load decodes a prefix.
    const a = await loadDataset('fashion-mnist:train[0:256]');
    assert.equal(cachedRows('idx-images', train), 256);
    const b = await loadDataset('fashion-mnist:train[1000:1300]');
    assert.equal(cachedRows('idx-images', train), 1300, 'a larger slice decodes more');
    const c = await loadDataset('fashion-mnist:test[0:50]');
    assert.equal(cachedRows('idx-images', testImages), 50);
    assert.deepEqual(Array.from(a.labels.subarray(0, 10)), [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    assert.equal(a.numClasses, 10);

    // A slice to the end needs the whole file; its entry then serves every slice.
    await loadDataset('fashion-mnist:train[59999:]');
    assert.equal(cachedRows('idx-images', train), Infinity);
    await loadDataset('fashion-mnist:test[9999:]');
    assert.equal(cachedRows('idx-images', testImages), Infinity);
    assertSameRows(a, await loadDataset('fashion-mnist:train[0:256]'), 'train[0:256]');
    assertSameRows(b, await loadDataset('fashion-mnist:train[1000:1300]'), 'train[1000:1300]');
    assertSameRows(c, await loadDataset('fashion-mnist:test[0:50]'), 'test[0:50]');
    assert.equal(cachedRows('idx-images', train), Infinity, 'a smaller request never replaces a larger entry');
  });
});

// 5000 examples of 4x8 seeded random bytes: incompressible, so the gzip file (about 160 KB) is
// larger than the first read and a prefix takes several rounds. Labels: i mod 7.
const ROWS = 5000;
const ROW = 32;
const rng = new Rng(12);
const PIXELS = Uint8Array.from({ length: ROWS * ROW }, () => rng.nextU32() & 255);
const raw = idxBytes(0x08, [ROWS, 4, 8], PIXELS);
const gz = gzipSync(raw);
const labels = file('prefix-lbl.idx.gz', gzipSync(idxBytes(0x08, [ROWS], Array.from({ length: ROWS }, (_, i) => i % 7))));

/** A file written here, dated in the past: a fresh mtime would leave its cache entries unverified (the racy-timestamp rule), so every load would decode again. */
function settledFile(name: string, bytes: Buffer): string {
  const p = file(name, bytes);
  const old = new Date(Date.now() - 10 * RACY_MS);
  utimesSync(p, old, old);
  return p;
}

function expectRows(d: Dataset, start: number, end: number): void {
  assert.deepEqual(d.shape, [end - start, 4, 8, 1]);
  const want = Float32Array.from(PIXELS.subarray(start * ROW, end * ROW), (v) => f32(v / 255));
  assert.ok(bytesOf(d.x).equals(bytesOf(want)), `pixels of rows ${start}..${end}`);
  assert.deepEqual(Array.from(d.labels), Array.from({ length: end - start }, (_, i) => (start + i) % 7));
  assert.equal(d.numClasses, 7, 'numClasses from the whole labels file');
}

describe('IDX slices from a prefix of a file written here', () => {
  test('the fixture needs several rounds of reading', () => {
    assert.ok(gz.length > 2 * FIRST_READ, `gzip file of ${gz.length} bytes`);
  });

  test('gzipped and plain: any slice gives the known rows; the cache grows from a prefix to the whole file', async () => {
    for (const [name, bytes] of [['prefix-img.idx.gz', gz], ['prefix-img.idx', raw]] as const) {
      const img = settledFile(name, bytes);
      const spec = `idx:${img},${labels}`;
      expectRows(await loadDataset(`${spec}[0:100]`), 0, 100);
      assert.equal(cachedRows('idx-images', img), 100);
      expectRows(await loadDataset(`${spec}[10:20]`), 10, 20);
      assert.equal(cachedRows('idx-images', img), 100, 'served by the prefix entry');
      expectRows(await loadDataset(`${spec}[3000:4500]`), 3000, 4500);
      assert.equal(cachedRows('idx-images', img), 4500);
      expectRows(await loadDataset(spec), 0, ROWS);
      assert.equal(cachedRows('idx-images', img), Infinity);
      expectRows(await loadDataset(`${spec}[4990:4999]`), 4990, 4999);
      assert.equal(cachedRows('idx-images', img), Infinity);
    }
  });

  test('a gzip file cut in the middle: the rows before the cut load, a slice past them says how many the file holds', async () => {
    const img = file('cut.idx.gz', gz.subarray(0, Math.floor(gz.length / 2)));
    const spec = `idx:${img},${labels}`;
    const e = await assertUserError(() => loadDataset(`${spec}[0:4000]`), 'INVALID_ARGUMENT', /cut\.idx\.gz holds only \d+ complete example\(s\) of the 5000 its IDX header declares \(the file ends early\); use a slice that ends at \d+ or before, or replace the file with a complete copy\./);
    const held = Number(/holds only (\d+)/.exec(e.message)?.[1]);
    // Random bytes barely compress: half the file holds about half the rows.
    assert.ok(held > 0.4 * ROWS && held < 0.6 * ROWS, `held ${held}`);
    expectRows(await loadDataset(`${spec}[0:${held}]`), 0, held);
    expectRows(await loadDataset(`${spec}[${held - 5}:${held}]`), held - 5, held);
    await assertUserError(() => loadDataset(`${spec}[0:${held + 1}]`), 'INVALID_ARGUMENT', new RegExp(`holds only ${held} complete`));
    // The whole file (no slice) still fails to decompress, as before.
    await assertUserError(() => loadDataset(spec), 'INVALID_ARGUMENT', /cut\.idx\.gz starts like a gzip file but does not decompress/);
  });

  test('a plain file cut in the middle of a row holds the rows before it', async () => {
    const img = file('cut.idx', raw.subarray(0, 16 + 1234 * ROW + 7));
    const spec = `idx:${img},${labels}`;
    expectRows(await loadDataset(`${spec}[1200:1234]`), 1200, 1234);
    await assertUserError(() => loadDataset(`${spec}[0:1235]`), 'INVALID_ARGUMENT', /cut\.idx holds only 1234 complete example\(s\) of the 5000/);
    await assertUserError(() => loadDataset(spec), 'INVALID_ARGUMENT', /cut\.idx holds 39495 bytes of data but its IDX header \[5000, 4, 8\] of uint8 needs 160000/);
  });

  test('a corrupt gzip header or block still does not decompress; the header is checked', async () => {
    const badMethod = Buffer.from(gz);
    badMethod[2] = 7; // compression method: only 8 (deflate) exists
    await assertUserError(() => loadDataset(`idx:${file('method.idx.gz', badMethod)},${labels}[0:10]`), 'INVALID_ARGUMENT', /method\.idx\.gz starts like a gzip file but does not decompress/);
    const badBlock = Buffer.from(gz);
    badBlock[10] = 0xff; // first deflate block header: type 3 is reserved
    await assertUserError(() => loadDataset(`idx:${file('block.idx.gz', badBlock)},${labels}[0:10]`), 'INVALID_ARGUMENT', /block\.idx\.gz starts like a gzip file but does not decompress/);
    const notIdx = file('not-idx.gz', gzipSync(Buffer.alloc(1000, 7)));
    await assertUserError(() => loadDataset(`idx:${notIdx},${labels}[0:10]`), 'INVALID_ARGUMENT', /not-idx\.gz is not an IDX file/);
    const headerOnly = file('header-cut.idx.gz', gzipSync(raw.subarray(0, 10)));
    await assertUserError(() => loadDataset(`idx:${headerOnly},${labels}[0:10]`), 'INVALID_ARGUMENT', /header-cut\.idx\.gz is truncated inside its IDX header/);
  });

  test('the header still bounds the slice; a slice to the end decodes the whole file', async () => {
    const img = settledFile('bounds.idx.gz', gz);
    const spec = `idx:${img},${labels}`;
    await assertUserError(() => loadDataset(`${spec}[0:5001]`), 'INVALID_ARGUMENT', /\[0:5001\] is out of range for idx:.*, which has 5000 examples; use an end of at most 5000\./);
    expectRows(await loadDataset(`${spec}[4000:5000]`), 4000, 5000);
    assert.equal(cachedRows('idx-images', img), Infinity);
  });
});
