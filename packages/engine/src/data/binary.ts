/** Shared helpers of the binary readers: gzip detection, host byte order, typed-array copies. */
import { endianness } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { UserError } from '@hessian/linalg';

export const HOST_LITTLE_ENDIAN = endianness() === 'LE';

export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/** Gunzips `buf` if it starts with the gzip magic, else returns it unchanged. */
export function maybeGunzip(buf: Buffer, name: string): Buffer {
  if (!isGzip(buf)) return buf;
  try {
    return gunzipSync(buf);
  } catch (e) {
    throw gunzipError(name, e);
  }
}

/** The one sentence for a file that starts with the gzip magic but fails to inflate. */
export function gunzipError(name: string, e: unknown): UserError {
  return new UserError(`${name} starts like a gzip file but does not decompress (${(e as Error).message}); replace it with an intact copy.`);
}

/** A fresh, aligned copy of `nbytes` bytes of `buf` from `offset`. */
export function copyBytes(buf: Uint8Array, offset: number, nbytes: number): ArrayBuffer {
  const out = new Uint8Array(nbytes);
  out.set(buf.subarray(offset, offset + nbytes));
  return out.buffer;
}
