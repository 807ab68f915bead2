/**
 * How the data-parallel scope splits its examples. The shard count S is fixed when the job is
 * submitted (`--shards`), not by how many workers happen to be live: shard s always holds
 * examples floor(s N / S) .. floor((s+1) N / S), and the operator sums the S shard products in
 * shard order (float64), so the numbers are the same bit for bit on 1, 2 or 7 workers, and
 * after a shard moves off a dead worker. Workers hold contiguous runs of shards.
 */
import { examplesOf } from '@hessian/analysis';
import { UserError } from '@hessian/linalg';

/** Most shards one job may ask for (each is an engine on some worker and a stream per product). */
export const MAX_SHARDS = 256;

/** Validates `--shards` at submit; returns it (0: one shard per live worker when the job starts). */
export function checkShards(shards: number, scope: 'batch' | 'dataset', data: string): number {
  if (!Number.isInteger(shards) || shards < 0) throw new UserError(`shards: must be a whole number >= 0, got ${shards}`, 'INVALID_ARGUMENT');
  if (shards === 0) return 0;
  if (scope !== 'dataset') throw new UserError(`shards: only the dataset scope splits the examples; drop --shards ${shards} or give --scope dataset`, 'INVALID_ARGUMENT');
  if (shards > MAX_SHARDS) throw new UserError(`shards: at most ${MAX_SHARDS}, got ${shards}; give fewer shards`, 'INVALID_ARGUMENT');
  const n = examplesOf(data);
  if (n !== null && shards > n) throw new UserError(`shards: ${shards} shards of ${n} examples would leave some empty; give --shards ${n} or fewer`, 'INVALID_ARGUMENT');
  return shards;
}

/** The worker (index into `workers`, in id order) of each of S shards: contiguous runs, as even as they go. */
export function placeShards(shards: number, workers: number): number[] {
  return Array.from({ length: shards }, (_, s) => Math.floor((s * workers) / shards));
}
