/**
 * Tests of the data loaders (src/data): spec parsing, the IDX and npy readers, loadDataset on
 * small files written here with known contents (plain and gzipped), per-class subsets,
 * synthetic data, onehot and sliceBatch, and every user error with its code.
 * The real Fashion-MNIST set is tested in data-fashion-mnist.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { UserError } from '@hessian/linalg';
import { loadDataset, onehot, parseDataSpec, readIdx, readNpy, sliceBatch, type Batch } from '../src/data/index.js';

// ---------------------------------------------------------------------------------------------
// Writers of small fixture files

type IdxType = 0x08 | 0x09 | 0x0b | 0x0c | 0x0d | 0x0e;
const IDX_SIZE: Record<IdxType, number> = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 };

function idxBytes(type: IdxType, dims: number[], values: ArrayLike<number>): Buffer {
  const size = IDX_SIZE[type];
  const buf = Buffer.alloc(4 + 4 * dims.length + values.length * size);
  buf[2] = type;
  buf[3] = dims.length;
  dims.forEach((d, i) => buf.writeUInt32BE(d, 4 + 4 * i));
  const off = 4 + 4 * dims.length;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const o = off + i * size;
    switch (type) {
      case 0x08: buf.writeUInt8(v, o); break;
      case 0x09: buf.writeInt8(v, o); break;
      case 0x0b: buf.writeInt16BE(v, o); break;
      case 0x0c: buf.writeInt32BE(v, o); break;
      case 0x0d: buf.writeFloatBE(v, o); break;
      case 0x0e: buf.writeDoubleBE(v, o); break;
    }
  }
  return buf;
}

const NPY_WRITE: Record<string, [number, (b: Buffer, v: number, o: number) => void]> = {
  '<f4': [4, (b, v, o) => b.writeFloatLE(v, o)],
  '<f8': [8, (b, v, o) => b.writeDoubleLE(v, o)],
  '|u1': [1, (b, v, o) => b.writeUInt8(v, o)],
  '|i1': [1, (b, v, o) => b.writeInt8(v, o)],
  '|b1': [1, (b, v, o) => b.writeUInt8(v, o)],
  '<i2': [2, (b, v, o) => b.writeInt16LE(v, o)],
  '<u2': [2, (b, v, o) => b.writeUInt16LE(v, o)],
  '<i4': [4, (b, v, o) => b.writeInt32LE(v, o)],
  '<u4': [4, (b, v, o) => b.writeUInt32LE(v, o)],
  '<i8': [8, (b, v, o) => b.writeBigInt64LE(BigInt(v), o)],
  '<u8': [8, (b, v, o) => b.writeBigUInt64LE(BigInt(v), o)],
  '>f4': [4, (b, v, o) => b.writeFloatBE(v, o)],
};

/** A .npy file as numpy.save writes it (header padded so the data starts at a multiple of 64). */
function npyBytes(descr: string, shape: number[], values: ArrayLike<number>, opts: { version?: 1 | 2 | 3; fortran?: boolean } = {}): Buffer {
  const version = opts.version ?? 1;
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': ${opts.fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const pre = version === 1 ? 10 : 12;
  const total = Math.ceil((pre + header.length + 1) / 64) * 64;
  header = header.padEnd(total - pre - 1, ' ') + '\n';
  const [size, write] = NPY_WRITE[descr];
  const data = Buffer.alloc(values.length * size);
  for (let i = 0; i < values.length; i++) write(data, values[i], i * size);
  const pro = Buffer.alloc(pre);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]).copy(pro);
  if (version === 1) pro.writeUInt16LE(header.length, 8);
  else pro.writeUInt32LE(header.length, 8);
  return Buffer.concat([pro, Buffer.from(header, 'latin1'), data]);
}

const dir = mkdtempSync(join(tmpdir(), 'hessian-data-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
function file(name: string, bytes: Buffer): string {
  const p = join(dir, `${fileNo++}-${name}`);
  writeFileSync(p, bytes);
  return p;
}

/** Asserts that `fn` throws (or rejects with) a UserError of `code` whose message matches every pattern. */
async function assertUserError(fn: () => unknown, code: string, ...patterns: RegExp[]): Promise<UserError> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof UserError, `expected a UserError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  for (const p of patterns) assert.match(caught.message, p);
  // One sentence: a single final period, no line breaks.
  assert.doesNotMatch(caught.message, /\n/);
  assert.match(caught.message, /\.$/);
  return caught;
}

// A 6-example, 2x3-pixel image set with labels [2, 0, 1, 0, 2, 1]: pixel j of example i is 10 i + j.
const N = 6;
const PIX = Array.from({ length: N * 6 }, (_, k) => 10 * Math.floor(k / 6) + (k % 6));
const LABELS = [2, 0, 1, 0, 2, 1];
const imgIdx = file('img.idx', idxBytes(0x08, [N, 2, 3], PIX));
const lblIdx = file('lbl.idx', idxBytes(0x08, [N], LABELS));
const imgIdxGz = file('img.idx.gz', gzipSync(idxBytes(0x08, [N, 2, 3], PIX)));
const lblIdxGz = file('lbl.idx.gz', gzipSync(idxBytes(0x08, [N], LABELS)));

function f32(v: number): number {
  return Math.fround(v);
}

// ---------------------------------------------------------------------------------------------

describe('parseDataSpec', () => {
  test('accepts every documented form', () => {
    assert.deepEqual(parseDataSpec('fashion-mnist:train[0:256]'), { source: { kind: 'fashion-mnist', split: 'train' }, start: 0, end: 256 });
    assert.deepEqual(parseDataSpec('fashion-mnist:test[100:200]'), { source: { kind: 'fashion-mnist', split: 'test' }, start: 100, end: 200 });
    assert.deepEqual(parseDataSpec('fashion-mnist:t10k'), { source: { kind: 'fashion-mnist', split: 'test' }, start: null, end: null });
    assert.deepEqual(parseDataSpec(' fashion-mnist:train '), { source: { kind: 'fashion-mnist', split: 'train' }, start: null, end: null });
    assert.deepEqual(parseDataSpec('fashion-mnist:train[:256]'), { source: { kind: 'fashion-mnist', split: 'train' }, start: null, end: 256 });
    assert.deepEqual(parseDataSpec('fashion-mnist:train[1000:]'), { source: { kind: 'fashion-mnist', split: 'train' }, start: 1000, end: null });
    assert.deepEqual(parseDataSpec('fashion-mnist:train[:]'), { source: { kind: 'fashion-mnist', split: 'train' }, start: null, end: null });
    assert.deepEqual(parseDataSpec('idx:a/img.gz, b/lbl[0:100]'), { source: { kind: 'idx', images: 'a/img.gz', labels: 'b/lbl' }, start: 0, end: 100 });
    assert.deepEqual(parseDataSpec('npy:/d/x.npy,/d/y.npy'), { source: { kind: 'npy', x: '/d/x.npy', y: '/d/y.npy' }, start: null, end: null });
    assert.deepEqual(parseDataSpec('synthetic:512[10:20]'), { source: { kind: 'synthetic', n: 512 }, start: 10, end: 20 });
  });

  test('rejects bad syntax with INVALID_ARGUMENT', async () => {
    await assertUserError(() => parseDataSpec('mnist:train'), 'INVALID_ARGUMENT', /unknown source "mnist"/, /fashion-mnist:, idx:, npy:, synthetic:/);
    await assertUserError(() => parseDataSpec('/data/x.npy'), 'INVALID_ARGUMENT', /unknown source/);
    await assertUserError(() => parseDataSpec(''), 'INVALID_ARGUMENT', /empty/);
    await assertUserError(() => parseDataSpec('fashion-mnist'), 'INVALID_ARGUMENT', /fashion-mnist:train or fashion-mnist:test/);
    await assertUserError(() => parseDataSpec('fashion-mnist:val'), 'INVALID_ARGUMENT', /instead of "val"/);
    await assertUserError(() => parseDataSpec('fashion-mnist:train[5:5]'), 'INVALID_ARGUMENT', /empty or reversed/);
    await assertUserError(() => parseDataSpec('fashion-mnist:train[9:3]'), 'INVALID_ARGUMENT', /empty or reversed/);
    await assertUserError(() => parseDataSpec('fashion-mnist:train[:0]'), 'INVALID_ARGUMENT', /empty or reversed/);
    await assertUserError(() => parseDataSpec('fashion-mnist:train[-5:]'), 'INVALID_ARGUMENT', /negative/);
    await assertUserError(() => parseDataSpec('fashion-mnist:train[a:b]'), 'INVALID_ARGUMENT', /not a whole number/);
    await assertUserError(() => parseDataSpec('fashion-mnist:train[1:2:3]'), 'INVALID_ARGUMENT', /malformed slice/);
    await assertUserError(() => parseDataSpec('fashion-mnist:train[10]'), 'INVALID_ARGUMENT', /malformed slice/);
    await assertUserError(() => parseDataSpec('fashion-mnist:train[0:10'), 'INVALID_ARGUMENT', /unclosed/);
    await assertUserError(() => parseDataSpec('synthetic:0'), 'INVALID_ARGUMENT', /positive count/);
    await assertUserError(() => parseDataSpec('synthetic:-3'), 'INVALID_ARGUMENT', /positive count/);
    await assertUserError(() => parseDataSpec('synthetic:ten'), 'INVALID_ARGUMENT', /whole number/);
    await assertUserError(() => parseDataSpec('idx:only-one-path'), 'INVALID_ARGUMENT', /two files/);
    await assertUserError(() => parseDataSpec('npy:a,b,c'), 'INVALID_ARGUMENT', /two files/);
    await assertUserError(() => parseDataSpec('npy:a,'), 'INVALID_ARGUMENT', /two files/);
  });
});

describe('readIdx', () => {
  test('reads uint8 images and labels, plain and gzipped, to exact values', () => {
    for (const buf of [idxBytes(0x08, [N, 2, 3], PIX), gzipSync(idxBytes(0x08, [N, 2, 3], PIX))]) {
      const r = readIdx(buf);
      assert.deepEqual(r.dims, [N, 2, 3]);
      assert.ok(r.data instanceof Uint8Array);
      assert.deepEqual(Array.from(r.data), PIX);
    }
  });

  test('reads every IDX type big-endian', () => {
    const cases: [IdxType, number[], abstract new (n: number) => ArrayLike<number>][] = [
      [0x09, [-128, -1, 0, 127], Int8Array],
      [0x0b, [-32768, -2, 300, 32767], Int16Array],
      [0x0c, [-2147483648, -7, 65536, 2147483647], Int32Array],
      [0x0d, [-1.5, 0, 0.1, 3e38], Float32Array],
      [0x0e, [-1.5, 0, 0.1, 1e300], Float64Array],
    ];
    for (const [type, vals, ctor] of cases) {
      const r = readIdx(idxBytes(type, [2, 2], vals));
      assert.deepEqual(r.dims, [2, 2]);
      assert.ok(r.data instanceof ctor, `type 0x${type.toString(16)}`);
      assert.deepEqual(Array.from(r.data), type === 0x0d ? vals.map(f32) : vals);
    }
  });

  test('rejects malformed files', async () => {
    const good = idxBytes(0x08, [N, 2, 3], PIX);
    await assertUserError(() => readIdx(Buffer.from('hello world'), 'x.idx'), 'INVALID_ARGUMENT', /x\.idx is not an IDX file/);
    const badType = Buffer.from(good);
    badType[2] = 0x07;
    await assertUserError(() => readIdx(badType), 'INVALID_ARGUMENT', /unknown IDX type byte 0x07/);
    await assertUserError(() => readIdx(good.subarray(0, good.length - 1)), 'INVALID_ARGUMENT', /holds 35 bytes .* needs 36/);
    await assertUserError(() => readIdx(Buffer.concat([good, Buffer.alloc(1)])), 'INVALID_ARGUMENT', /holds 37 bytes/);
    await assertUserError(() => readIdx(good.subarray(0, 10)), 'INVALID_ARGUMENT', /truncated inside its IDX header/);
    await assertUserError(() => readIdx(Buffer.from([0, 0, 8, 0])), 'INVALID_ARGUMENT', /zero IDX dimensions/);
    await assertUserError(() => readIdx(gzipSync(good).subarray(0, 20), 'y.gz'), 'INVALID_ARGUMENT', /y\.gz starts like a gzip file/);
  });
});

describe('readNpy', () => {
  const cases: [string, number[], abstract new (n: number) => ArrayLike<number>][] = [
    ['<f4', [-1.5, 0, 0.1, 3.25, 1e-8, 7], Float32Array],
    ['<f8', [-1.5, 0, 0.1, 3.25, 1e-300, 7], Float64Array],
    ['|u1', [0, 1, 127, 128, 254, 255], Uint8Array],
    ['|i1', [-128, -1, 0, 1, 64, 127], Int8Array],
    ['|b1', [1, 0, 0, 1, 1, 0], Uint8Array],
    ['<i2', [-32768, -1, 0, 1, 300, 32767], Int16Array],
    ['<u2', [0, 1, 300, 40000, 65534, 65535], Uint16Array],
    ['<i4', [-2147483648, -1, 0, 1, 70000, 2147483647], Int32Array],
    ['<u4', [0, 1, 70000, 2147483648, 4000000000, 4294967295], Uint32Array],
    ['<i8', [-(2 ** 53) + 1, -1, 0, 1, 2 ** 40, 2 ** 53 - 1], Float64Array],
    ['<u8', [0, 1, 2 ** 32, 2 ** 40, 2 ** 52, 2 ** 53 - 1], Float64Array],
  ];
  for (const [descr, vals, ctor] of cases) {
    test(`dtype ${descr}`, () => {
      for (const version of [1, 2, 3] as const) {
        const r = readNpy(npyBytes(descr, [2, 3], vals, { version }));
        assert.deepEqual(r.shape, [2, 3]);
        assert.equal(r.fortranOrder, false);
        assert.equal(r.dtype, descr);
        assert.ok(r.data instanceof ctor, `${descr} v${version} gave ${r.data.constructor.name}`);
        assert.deepEqual(Array.from(r.data), descr === '<f4' ? vals.map(f32) : vals);
      }
    });
  }

  test('reads gzipped files, 1-d and 0-d shapes, and the header numpy writes', () => {
    const r = readNpy(gzipSync(npyBytes('<i4', [4], [5, 6, 7, 8])));
    assert.deepEqual(r.shape, [4]);
    assert.deepEqual(Array.from(r.data), [5, 6, 7, 8]);
    const s = readNpy(npyBytes('<f8', [], [2.5]));
    assert.deepEqual(s.shape, []);
    assert.deepEqual(Array.from(s.data), [2.5]);
    // Bytes of numpy.save('x.npy', numpy.array([1, 2], dtype=numpy.uint8)) (numpy 2.x).
    const hdr = "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }";
    const np = Buffer.concat([
      Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0x76, 0]),
      Buffer.from(hdr.padEnd(117, ' ') + '\n', 'latin1'),
      Buffer.from([1, 2]),
    ]);
    const u = readNpy(np);
    assert.deepEqual([u.shape, Array.from(u.data)], [[2], [1, 2]]);
  });

  test('rejects Fortran order, big-endian, unsupported dtypes and malformed files', async () => {
    await assertUserError(() => readNpy(npyBytes('<f4', [2, 3], [1, 2, 3, 4, 5, 6], { fortran: true }), 'f.npy'), 'INVALID_ARGUMENT', /f\.npy is stored in Fortran/);
    await assertUserError(() => readNpy(npyBytes('>f4', [3], [1, 2, 3]), 'b.npy'), 'INVALID_ARGUMENT', /b\.npy holds big-endian data \(>f4\)/);
    const c8 = npyBytes('<f4', [2], [1, 2]);
    c8.write('<c8', c8.indexOf('<f4'), 'latin1');
    await assertUserError(() => readNpy(c8), 'INVALID_ARGUMENT', /unsupported dtype <c8/);
    await assertUserError(() => readNpy(Buffer.from('not numpy at all'), 'z.npy'), 'INVALID_ARGUMENT', /z\.npy is not a NumPy \.npy file/);
    const good = npyBytes('<f4', [2, 3], [1, 2, 3, 4, 5, 6]);
    await assertUserError(() => readNpy(good.subarray(0, good.length - 4)), 'INVALID_ARGUMENT', /holds 20 bytes .* needs 24/);
    await assertUserError(() => readNpy(good.subarray(0, 40)), 'INVALID_ARGUMENT', /truncated inside its \.npy header/);
    const v9 = Buffer.from(good);
    v9[6] = 9;
    await assertUserError(() => readNpy(v9), 'INVALID_ARGUMENT', /format version 9\.0/);
    const noShape = Buffer.from(good);
    noShape.write("'shapX'", noShape.indexOf("'shape'"), 'latin1');
    await assertUserError(() => readNpy(noShape), 'INVALID_ARGUMENT', /malformed \.npy header/);
  });

  test('rejects 64-bit integers beyond 2^53', async () => {
    const b = npyBytes('<i8', [2], [1, 0]);
    b.writeBigInt64LE(2n ** 60n, 128 + 8);
    await assertUserError(() => readNpy(b, 'big.npy'), 'INVALID_ARGUMENT', /big\.npy holds the 64-bit integer 1152921504606846976 at flat index 1/);
  });
});

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
