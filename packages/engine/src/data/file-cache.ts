/**
 * The per-process cache of decoded data files: a Map keyed by (decoder, absolute path),
 * revalidated by size and mtime, holding the compact decoded arrays (uint8 pixels for
 * Fashion-MNIST), so several slices of one file cost one read and one gunzip.
 *
 * Rows: an entry records how many leading rows (examples) of its file it can serve:
 * Infinity for a whole-file decode, END for a prefix decode made for a slice ending at END
 * (file-read.ts, idx-prefix.ts). A request for the first `rows` rows is served by an entry
 * with at least that many; any other request decodes again (more rows, or the whole file) and
 * its entry replaces the smaller one, which serves nothing the new one does not.
 *
 * (size, mtime) identifies a file's content only once its timestamp has stopped moving: a
 * same-size rewrite within the file system's timestamp tick (one or two seconds on some file
 * systems, however fine mtime looks) keeps the mtime. As git does for its index ("racy git"),
 * an entry whose mtime was within RACY_MS of the moment it was cached is unverified: the next
 * load reads the file again (and caches it again, verified once the file is old enough).
 */
import { stat } from 'node:fs/promises';
import { UserError } from '@hessian/linalg';

/** Timestamps closer than this to the caching time may hide a rewrite (FAT: 2 s; ext3 and HFS+: 1 s). */
export const RACY_MS = 2000;

/** What a loader decoded, and how many leading rows of the file it serves (Infinity: all). */
export interface Loaded<T> {
  value: T;
  rows: number;
}

interface CacheEntry {
  size: number;
  mtimeMs: number;
  /** Date.now() when the file was stat-ed for this entry */
  cachedAt: number;
  /** Leading rows served: those asked for while the decode runs, then those the loader reported. */
  rows: number;
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

/**
 * The decoded file from the cache when an entry for (kind, path) is current and serves `rows`
 * leading rows (Infinity: the whole file), else from `load`, cached once per process.
 */
export async function cached<T>(kind: string, path: string, notFound: () => UserError, rows: number, load: () => Promise<Loaded<T>>): Promise<T> {
  const cachedAt = Date.now();
  const st = await statOrThrow(path, notFound);
  const key = `${kind}:${path}`;
  const hit = cache.get(key);
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs && verified(hit) && hit.rows >= rows) return hit.value as Promise<T>;
  const entry: CacheEntry = { ...st, cachedAt, rows, value: Promise.resolve() };
  const value = load().then((loaded) => {
    entry.rows = loaded.rows;
    return loaded.value;
  });
  entry.value = value;
  cache.set(key, entry);
  value.catch(() => {
    if (cache.get(key) === entry) cache.delete(key);
  });
  return value;
}

/** Leading rows the current entry for (kind, path) serves, if there is one (for tests). */
export function cachedRows(kind: string, path: string): number | undefined {
  return cache.get(`${kind}:${path}`)?.rows;
}

/** An entry is trusted only when its file's mtime was at least RACY_MS older than the moment it was cached. */
function verified(e: CacheEntry): boolean {
  return e.cachedAt - e.mtimeMs >= RACY_MS;
}
