/**
 * The per-process cache of decoded data files: a Map keyed by (decoder, absolute path),
 * revalidated by size and mtime, holding the compact decoded arrays (uint8 pixels for
 * Fashion-MNIST), so several slices of one file cost one read and one gunzip.
 *
 * (size, mtime) identifies a file's content only once its timestamp has stopped moving: a
 * same-size rewrite within the file system's timestamp tick (one or two seconds on some file
 * systems, however fine mtime looks) keeps the mtime. As git does for its index ("racy git"),
 * an entry whose mtime was within RACY_MS of the moment it was cached is unverified: the next
 * load reads the file again (and caches it again, verified once the file is old enough).
 */
import { readFile, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { UserError } from '@hessian/linalg';
import { isGzip } from './binary.js';

const gunzipAsync = promisify(gunzip);

/** Timestamps closer than this to the caching time may hide a rewrite (FAT: 2 s; ext3 and HFS+: 1 s). */
export const RACY_MS = 2000;

interface CacheEntry {
  size: number;
  mtimeMs: number;
  /** Date.now() when the file was stat-ed for this entry */
  cachedAt: number;
  value: Promise<unknown>;
}
const cache = new Map<string, CacheEntry>();

async function statOrThrow(path: string, notFound: () => UserError): Promise<{ size: number; mtimeMs: number }> {
  try {
    const s = await stat(path);
    if (!s.isFile()) {
      throw new UserError(`Data path ${path} is not a regular file; point the data spec at the file itself.`, 'INVALID_ARGUMENT');
    }
    return { size: s.size, mtimeMs: s.mtimeMs };
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw notFound();
    throw new UserError(`Data file ${path} cannot be read (${code ?? (e as Error).message}); make it readable by this process.`, 'FAILED_PRECONDITION');
  }
}

/** Reads, gunzips (if needed) and decodes a file once per process. */
export async function cached<T>(kind: string, path: string, notFound: () => UserError, decode: (buf: Buffer) => T): Promise<T> {
  const cachedAt = Date.now();
  const st = await statOrThrow(path, notFound);
  const key = `${kind}:${path}`;
  const hit = cache.get(key);
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs && verified(hit)) return hit.value as Promise<T>;
  const value = (async () => {
    let buf: Buffer;
    try {
      buf = await readFile(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw notFound();
      throw new UserError(`Data file ${path} cannot be read (${code ?? (e as Error).message}); make it readable by this process.`, 'FAILED_PRECONDITION');
    }
    if (isGzip(buf)) {
      try {
        buf = await gunzipAsync(buf);
      } catch (e) {
        throw new UserError(`${path} starts like a gzip file but does not decompress (${(e as Error).message}); replace it with an intact copy.`);
      }
    }
    return decode(buf);
  })();
  cache.set(key, { ...st, cachedAt, value });
  value.catch(() => {
    if (cache.get(key)?.value === value) cache.delete(key);
  });
  return value;
}

/** An entry is trusted only when its file's mtime was at least RACY_MS older than the moment it was cached. */
function verified(e: CacheEntry): boolean {
  return e.cachedAt - e.mtimeMs >= RACY_MS;
}
