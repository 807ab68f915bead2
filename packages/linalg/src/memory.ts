/**
 * Bytes a Lanczos-based task holds in n-vectors, by mode, so a worker can choose the mode that
 * fits its memory budget before it starts (and a coordinator can refuse what fits nowhere).
 * Counts the long vectors only (basis, work vectors, Ritz vectors); the small tridiagonal or
 * projected matrix is negligible.
 */
import type { BasisStorage } from './lanczos.js';

export type LanczosMode = 'full' | 'local' | 'thick-restart';

export interface LanczosMemoryPlan {
  dim: number;
  /** Lanczos steps (full, local) or products (thick-restart). */
  steps: number;
  mode: LanczosMode;
  storage: BasisStorage;
  /** Ritz vectors formed at the end (top-k). */
  k?: number;
  /** local: vectors in the reorthogonalization window. */
  window?: number;
  /** thick-restart: basis vectors held at most. */
  maxBasis?: number;
}

/** Float64 work vectors besides the basis: the product, its float64 copy, the next vector. */
const WORK_VECTORS = 3;

export function lanczosMemoryBytes(p: LanczosMemoryPlan): number {
  const per = p.storage === 'float32' ? 4 : 8;
  const k = p.k ?? 0;
  let basis: number;
  let extra64 = WORK_VECTORS;
  if (p.mode === 'full') {
    basis = Math.min(p.steps, p.dim);
    extra64 += k;
  } else if (p.mode === 'local') {
    basis = (p.window ?? 2) + 1;
  } else {
    const m = Math.min(p.maxBasis ?? 2 * k + 10, p.dim);
    basis = m;
    // At a restart the kept Ritz vectors (float64) exist beside the old basis: at most m of them.
    extra64 += Math.max(k, m - 2);
  }
  return p.dim * (basis * per + extra64 * 8);
}
