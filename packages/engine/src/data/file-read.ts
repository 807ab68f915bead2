/**
 * Reading a data file: all of it (gunzipped when it starts with the gzip magic), or only a
 * prefix that decompresses to the bytes a decoder asks for (a slice [0:256] of Fashion-MNIST's
 * training images needs 200 KB of its 47 MB: about 100 KB of the 26 MB gzip file).
 */
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import { constants, gunzip } from 'node:zlib';
import { UserError } from '@hessian/linalg';
import { gunzipError, isGzip } from './binary.js';

const gunzipAsync = promisify(gunzip);

/** The first read of a prefix: a header plus some 100 Fashion-MNIST images, compressed. */
export const FIRST_READ = 64 * 1024;

function readError(path: string, e: unknown, notFound: () => UserError): UserError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return notFound();
  return new UserError(`Data file ${path} cannot be read (${code ?? (e as Error).message}); make it readable by this process.`, 'FAILED_PRECONDITION');
}

/** The whole file, gunzipped if it is gzip: a fresh buffer nobody else holds. */
export async function readWhole(path: string, notFound: () => UserError): Promise<Buffer> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    throw readError(path, e, notFound);
  }
  if (!isGzip(buf)) return buf;
  try {
    return await gunzipAsync(buf);
  } catch (e) {
    throw gunzipError(path, e);
  }
}

export interface Prefix {
  /** The decompressed (or plain) bytes from the start of the file, a fresh buffer. */
  out: Buffer;
  /** The whole file was read, so `out` is all there is (it may still be shorter than needed). */
  whole: boolean;
}

/**
 * Reads a growing prefix of the file until it yields the output bytes `need` asks for, or the
 * file ends. A gzip prefix is inflated with Z_SYNC_FLUSH: a deflate stream cut anywhere then
 * yields the output decoded so far instead of an error (a corrupt header or block still throws).
 * Each round inflates from the start again; the prefix grows at least twofold per round (and
 * to the size the compression ratio seen so far predicts), so the rounds cost at most about
 * twice the last one. `need(out)` gives the output bytes needed in view of what has been decoded
 * (it may parse a header from `out`, and throw); null means the whole file is needed, and then
 * readPrefix returns null for the caller to read it whole.
 */
export async function readPrefix(path: string, notFound: () => UserError, need: (out: Buffer) => number | null): Promise<Prefix | null> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw readError(path, e, notFound);
  }
  try {
    const size = (await fh.stat()).size;
    let file: Buffer = Buffer.alloc(0);
    let want = Math.min(FIRST_READ, size);
    for (;;) {
      file = await extend(fh, file, want, path, notFound);
      // A short read is the end too (the file shrank since the stat).
      const whole = file.length >= size || file.length < want;
      const gz = isGzip(file);
      const out = gz ? await inflatePrefix(file, path) : file;
      const n = need(out);
      if (n === null) return null;
      if (out.length >= n || whole) return { out, whole };
      const predicted = gz ? Math.ceil((file.length * n) / Math.max(out.length, 1) * 1.05) + 4096 : n;
      want = Math.min(size, Math.max(2 * file.length, predicted));
    }
  } finally {
    await fh.close();
  }
}

/** `file` grown to `want` bytes from the file (fewer if it ends first). */
async function extend(fh: FileHandle, file: Buffer, want: number, path: string, notFound: () => UserError): Promise<Buffer> {
  const buf = Buffer.alloc(want);
  file.copy(buf, 0);
  let pos = file.length;
  try {
    while (pos < want) {
      const { bytesRead } = await fh.read(buf, pos, want - pos, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
    }
  } catch (e) {
    throw readError(path, e, notFound);
  }
  return buf.subarray(0, pos);
}

async function inflatePrefix(file: Buffer, path: string): Promise<Buffer> {
  try {
    return await gunzipAsync(file, { finishFlush: constants.Z_SYNC_FLUSH });
  } catch (e) {
    throw gunzipError(path, e);
  }
}
