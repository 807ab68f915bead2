/**
 * Optional faster float64 kernels for the hot loops of this package, registered by a caller
 * that has them (the engine registers OpenBLAS / LAPACK ones from @hessian/native when the
 * `native` backend is chosen). This package imports nothing of ours, so they come in from
 * above; without them the JavaScript kernels run. Both give the same results up to float64
 * summation order.
 */
export interface DenseKernels {
  /** c = Q^T w over the first k basis vectors; returns ||w||^2 (vector.ts's blocked kernel). */
  project64?(basis: readonly Float64Array[], k: number, w: Float64Array, c: Float64Array): number;
  /** w -= Q c over the first k basis vectors; returns the new ||w||^2. */
  subtract64?(basis: readonly Float64Array[], k: number, c: Float64Array, w: Float64Array): number;
  /** The same two sweeps over a float32 basis, accumulated in float64. */
  project32?(basis: readonly Float32Array[], k: number, w: Float64Array, c: Float64Array): number;
  subtract32?(basis: readonly Float32Array[], k: number, c: Float64Array, w: Float64Array): number;
  /** vector.ts lanczosStep32 (same passes and sums); out = [alpha, before2, after2]. */
  lanczosStep32?(aq: Float32Array, q: Float32Array, qPrev: Float32Array | null, betaPrev: number, w: Float64Array, out: Float64Array): void;
  /** out = x * s rounded to float32. */
  scaleTo32?(x: Float64Array, s: number, out: Float32Array): void;
  /** Every eigenvalue, ascending, of a symmetric n x n row-major matrix (not modified). */
  symmetricEigenvalues?(a: Float64Array, n: number): Float64Array;
}

let current: DenseKernels = {};

/** Registers kernels (null: back to the JavaScript ones). Process-wide, per thread. */
export function setDenseKernels(k: DenseKernels | null): void {
  current = k ?? {};
}

export function denseKernels(): DenseKernels {
  return current;
}
