/** `hessctl analyze --diagonal DIR`: .npy files numpy (and our reader) read back, equal to the engine's exact diagonal. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { normalizeSpec, prepare } from '@hessian/analysis';
import { readNpy } from '@hessian/engine';
import { npyFloat64, writeDiagonals } from '../src/commands/diagonal.js';

test('npyFloat64 writes a float64 .npy with a 64-byte aligned header', () => {
  const v = Float64Array.from([1.5, -2, 1e-300, 3]);
  const buf = npyFloat64(v);
  assert.equal((10 + buf.readUInt16LE(8)) % 64, 0);
  const back = readNpy(buf);
  assert.deepEqual(back.shape, [4]);
  assert.deepEqual(Array.from(back.data), Array.from(v));
});

test('--diagonal writes every layer where exact, with its verdict', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'diag-'));
  const spec = normalizeSpec({ model: 'zoo:tiny-cnn', data: 'synthetic:8', seed: 1 });
  const files = await writeDiagonals(spec, 'cpu', dir);
  const meta = JSON.parse(await readFile(join(dir, 'diagonal.json'), 'utf8'));
  assert.equal(files.length, meta.layers.length);
  const p = await prepare(spec, 'cpu');
  for (const l of meta.layers) {
    assert.equal(l.exact, true, l.why);
    const got = readNpy(await readFile(join(dir, l.file)));
    const want = await p.engine.hessianDiagonal({ kind: 'group', group: l.layer, convention: 'layer' });
    assert.deepEqual(Array.from(got.data), Array.from(want));
  }
  p.engine.dispose();
  p.model.dispose();
  await rm(dir, { recursive: true });
});
