/**
 * The data pipeline's image operations and the spec's preprocessing options, on images whose
 * answers are known: padding, mirror, rotations by multiples of 90 degrees (exact permutations),
 * a single bright pixel rotated by 30 degrees (lands where cos/sin put it), shifts, the
 * statistics, and loadDataset with `?pad=..,mean=..,std=..`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { flipHorizontal, loadDataset, meanStd, padImage, parseDataSpec, rotateImage, transformBackground, translateImage, withTransform } from '../src/data/index.js';

const f32 = (a: number[]): Float32Array => Float32Array.from(a);
const seq = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => i + 1);

describe('image operations', () => {
  test('padImage: zeros (or fill) around, the image in the middle', () => {
    assert.deepEqual(padImage(f32([1, 2, 3, 4]), { h: 2, w: 2, c: 1 }, 1), f32([0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0]));
    // two channels stay interleaved
    assert.deepEqual(padImage(f32([1, 2, 3, 4]), { h: 1, w: 2, c: 2 }, 1, -1), f32([-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 1, 2, 3, 4, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1]));
  });

  test('flipHorizontal mirrors each row', () => {
    const out = new Float32Array(6);
    flipHorizontal(seq(6), { h: 2, w: 3, c: 1 }, out);
    assert.deepEqual(out, f32([3, 2, 1, 6, 5, 4]));
  });

  test('rotateImage: 90 degrees counter-clockwise is an exact permutation; 180 reverses; 360 is the identity', () => {
    const s = { h: 3, w: 3, c: 1 };
    const out = new Float32Array(9);
    rotateImage(seq(9), s, 90, 0, out);
    assert.deepEqual(out, f32([3, 6, 9, 2, 5, 8, 1, 4, 7]));
    rotateImage(seq(9), s, -90, 0, out);
    assert.deepEqual(out, f32([7, 4, 1, 8, 5, 2, 9, 6, 3]));
    const s4 = { h: 4, w: 4, c: 1 };
    const o4 = new Float32Array(16);
    rotateImage(seq(16), s4, 180, 0, o4);
    assert.deepEqual(o4, seq(16).reverse());
    rotateImage(seq(16), s4, 360, 0, o4);
    assert.deepEqual(o4, seq(16));
  });

  test('rotateImage by 30 degrees: a bright pixel 8 to the right of the centre lands at (8 cos 30, 8 sin 30) up-right; corners get the fill', () => {
    const s = { h: 21, w: 21, c: 1 };
    const img = new Float32Array(21 * 21);
    img[10 * 21 + 18] = 1; // row 10 (centre row), column 18
    const out = new Float32Array(21 * 21);
    rotateImage(img, s, 30, -5, out);
    const lit: [number, number][] = [];
    for (let y = 0; y < 21; y++) for (let x = 0; x < 21; x++) if (out[y * 21 + x] === 1) lit.push([x, y]);
    const ex = 10 + 8 * Math.cos(Math.PI / 6); // 16.93
    const ey = 10 - 8 * Math.sin(Math.PI / 6); // 6
    assert.ok(lit.length >= 1 && lit.length <= 2, `lit ${JSON.stringify(lit)}`);
    for (const [x, y] of lit) assert.ok(Math.hypot(x - ex, y - ey) < 1, `pixel at ${x},${y}, expected near ${ex.toFixed(2)},${ey}`);
    assert.deepEqual(lit[0], [17, 6]);
    assert.equal(out[0], -5, 'the corner comes from outside: fill');
  });

  test('rotating a normalized image with the normalized background equals normalizing the rotated image (exactly)', () => {
    const s = { h: 8, w: 8, c: 1 };
    const raw = Float32Array.from({ length: 64 }, (_, i) => ((i * 37) % 11) / 10);
    const mean = 0.3;
    const std = 0.7;
    const norm = (a: Float32Array) => a.map((v) => (v - mean) / std);
    const a = new Float32Array(64);
    rotateImage(norm(raw), s, 17, transformBackground({ pad: 0, normalize: { mean, std } }), a);
    const b = new Float32Array(64);
    rotateImage(raw, s, 17, 0, b);
    assert.deepEqual(a, norm(b));
  });

  test('translateImage shifts right/down and fills what moves in', () => {
    const out = new Float32Array(9);
    translateImage(seq(9), { h: 3, w: 3, c: 1 }, 1, -1, 0, out);
    assert.deepEqual(out, f32([0, 4, 5, 0, 7, 8, 0, 0, 0]));
  });

  test('meanStd: population mean and standard deviation', () => {
    const r = meanStd([1, 2, 3, 4]);
    assert.equal(r.mean, 2.5);
    assert.equal(r.std, Math.sqrt(1.25));
  });
});

describe('preprocessing options in a data spec', () => {
  test('parse, format and errors', () => {
    assert.deepEqual(parseDataSpec('fashion-mnist:train[0:10]?pad=2,mean=0.5,std=0.25'), {
      source: { kind: 'fashion-mnist', split: 'train' },
      start: 0,
      end: 10,
      transform: { pad: 2, normalize: { mean: 0.5, std: 0.25 } },
    });
    assert.equal(withTransform('fashion-mnist:train[0:10]', { pad: 2, normalize: { mean: 0.1, std: 1 / 3 } }), `fashion-mnist:train[0:10]?pad=2,mean=0.1,std=${1 / 3}`);
    assert.equal(parseDataSpec(withTransform('synthetic:9', { pad: 0, normalize: { mean: 0.1, std: 1 / 3 } })).transform?.normalize?.std, 1 / 3, 'numbers round-trip');
    assert.equal(withTransform('synthetic:9?pad=1', { pad: 0 }), 'synthetic:9', 'a transform that does nothing drops the options');
    assert.throws(() => parseDataSpec('synthetic:9?pad=1,zoom=2'), /unknown option "zoom"; the options after '\?' are pad=P, mean=M and std=S/);
    assert.throws(() => parseDataSpec('synthetic:9?mean=0.5'), /give mean=M and std=S together/);
    assert.throws(() => parseDataSpec('synthetic:9?mean=0.5,std=0'), /std=0 must be a positive finite number/);
    assert.throws(() => parseDataSpec('synthetic:9?pad=-1'), /pad=-1 must be a whole number of pixels/);
  });

  test('loadDataset pads, then normalizes; the background is the normalized 0; flat data cannot be padded', async () => {
    const raw = await loadDataset('synthetic:3', { inputShape: [2, 2, 1] });
    const t = await loadDataset('synthetic:3?pad=1,mean=0.5,std=0.25', { inputShape: [2, 2, 1] });
    assert.deepEqual(t.shape, [3, 4, 4, 1]);
    assert.equal(t.description.split(' ')[0], 'synthetic:3[0:3]?pad=1,mean=0.5,std=0.25');
    assert.equal(t.background, -2);
    for (let i = 0; i < 3; i++)
      for (let y = 0; y < 4; y++)
        for (let x = 0; x < 4; x++) {
          const inside = y >= 1 && y <= 2 && x >= 1 && x <= 2;
          const v = inside ? raw.x[i * 4 + (y - 1) * 2 + (x - 1)] : 0;
          assert.equal(t.x[i * 16 + y * 4 + x], Math.fround((v - 0.5) / 0.25));
        }
    await assert.rejects(loadDataset('synthetic:3?pad=1', { inputShape: [6] }), /pad=1 needs images \(h x w x c\), but the examples have shape \[6\]; drop pad/);
  });
});
