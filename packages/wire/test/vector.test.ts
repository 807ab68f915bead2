import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toChunks, VectorAssembler } from '../src/index.js';

test('toChunks + VectorAssembler round-trip any length, in any chunk order, through unaligned Buffers', () => {
  for (const n of [0, 1, 5, 256, 1000]) {
    const v = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 1e3 + i / 7);
    const chunks = [...toChunks(v, 7)];
    assert.equal(chunks.length, Math.max(1, Math.ceil(n / 7)));
    const asm = new VectorAssembler();
    for (const c of chunks.reverse()) {
      // Copy into a Buffer at an odd byte offset, as gRPC may hand them over.
      const raw = Buffer.alloc(c.values.length + 1);
      c.values.copy(raw, 1);
      asm.add({ offset: c.offset, length: c.length, values: raw.subarray(1) });
    }
    assert.equal(asm.complete, true);
    assert.deepEqual(asm.result(), v);
  }
});

test('VectorAssembler refuses chunks that do not fit', () => {
  const c = [...toChunks(new Float32Array(10), 4)];
  const a = new VectorAssembler();
  a.add(c[0]);
  assert.throws(() => a.add({ ...c[1], length: 11 }), /length 11, earlier chunks 10/);
  assert.throws(() => a.add({ offset: 8, length: 10, values: Buffer.alloc(12) }), /exceeds length 10/);
  assert.throws(() => a.add({ offset: 0, length: 10, values: Buffer.alloc(6) }), /not whole float32 values/);
  assert.throws(() => a.result(), /incomplete: 4 of 10/);
});
