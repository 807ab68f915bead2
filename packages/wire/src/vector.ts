/**
 * Float32 vectors on the wire: little-endian bytes in chunks of about 1 MiB (DESIGN §5).
 */
import type { VectorChunk__Output } from './gen/hessian/v1/VectorChunk.js';

export const CHUNK_VALUES = 256 * 1024; // 1 MiB of float32

export function* toChunks(v: Float32Array, chunkValues = CHUNK_VALUES): Generator<{ offset: number; length: number; values: Buffer }> {
  if (v.length === 0) yield { offset: 0, length: 0, values: Buffer.alloc(0) };
  for (let off = 0; off < v.length; off += chunkValues) {
    const part = v.subarray(off, Math.min(v.length, off + chunkValues));
    // Copy: the receiver may hold the buffer after we reuse v.
    yield { offset: off, length: v.length, values: Buffer.from(part.buffer.slice(part.byteOffset, part.byteOffset + part.byteLength)) };
  }
}

/** Reassembles chunks (in any order); throws when they do not cover the vector exactly. */
export class VectorAssembler {
  private out: Float32Array | null = null;
  private filled = 0;
  add(c: Pick<VectorChunk__Output, 'offset' | 'length' | 'values'>): void {
    const length = Number(c.length);
    const offset = Number(c.offset);
    if (!this.out) this.out = new Float32Array(length);
    if (length !== this.out.length) throw new Error(`vector chunk says length ${length}, earlier chunks ${this.out.length}`);
    const buf = c.values;
    if (buf.byteLength % 4 !== 0) throw new Error(`vector chunk of ${buf.byteLength} bytes is not whole float32 values`);
    const n = buf.byteLength / 4;
    if (offset + n > length) throw new Error(`vector chunk [${offset}, ${offset + n}) exceeds length ${length}`);
    // A Buffer's byteOffset need not be a multiple of 4: copy before viewing as float32.
    const aligned = buf.byteOffset % 4 === 0 ? buf : Buffer.from(buf);
    this.out.set(new Float32Array(aligned.buffer, aligned.byteOffset, n), offset);
    this.filled += n;
  }
  get complete(): boolean {
    return this.out !== null && this.filled === this.out.length;
  }
  result(): Float32Array {
    if (!this.out) return new Float32Array(0);
    if (this.filled !== this.out.length) throw new Error(`vector incomplete: ${this.filled} of ${this.out.length} values`);
    return this.out;
  }
}
