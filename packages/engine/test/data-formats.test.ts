/**
 * The data spec grammar and the file readers (src/data/spec.ts, idx.ts, npy.ts) on files
 * written here with known contents: exact values, every dtype, and every malformed input
 * refused with its code.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { parseDataSpec, readIdx, readNpy } from '../src/data/index.js';
import { assertUserError, f32, idxBytes, N, npyBytes, PIX, type IdxType } from './data-files.js';

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
