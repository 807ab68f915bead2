/**
 * Files for the data-loader tests, written here with known contents: IDX and npy encoders, a
 * temporary folder (removed after the importing test file), the 6-example fixture set, and
 * the one-sentence UserError assertion.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { gzipSync } from 'node:zlib';
import { UserError } from '@hessian/linalg';

// ---------------------------------------------------------------------------------------------
// Writers of small fixture files

export type IdxType = 0x08 | 0x09 | 0x0b | 0x0c | 0x0d | 0x0e;
const IDX_SIZE: Record<IdxType, number> = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 };

export function idxBytes(type: IdxType, dims: number[], values: ArrayLike<number>): Buffer {
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
export function npyBytes(descr: string, shape: number[], values: ArrayLike<number>, opts: { version?: 1 | 2 | 3; fortran?: boolean } = {}): Buffer {
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

export const dir = mkdtempSync(join(tmpdir(), 'hessian-data-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
export function file(name: string, bytes: Buffer): string {
  const p = join(dir, `${fileNo++}-${name}`);
  writeFileSync(p, bytes);
  return p;
}

/** Asserts that `fn` throws (or rejects with) a UserError of `code` whose message matches every pattern. */
export async function assertUserError(fn: () => unknown, code: string, ...patterns: RegExp[]): Promise<UserError> {
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
export const N = 6;
export const PIX = Array.from({ length: N * 6 }, (_, k) => 10 * Math.floor(k / 6) + (k % 6));
export const LABELS = [2, 0, 1, 0, 2, 1];
export const imgIdx = file('img.idx', idxBytes(0x08, [N, 2, 3], PIX));
export const lblIdx = file('lbl.idx', idxBytes(0x08, [N], LABELS));
export const imgIdxGz = file('img.idx.gz', gzipSync(idxBytes(0x08, [N, 2, 3], PIX)));
export const lblIdxGz = file('lbl.idx.gz', gzipSync(idxBytes(0x08, [N], LABELS)));

export function f32(v: number): number {
  return Math.fround(v);
}
