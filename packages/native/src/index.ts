/**
 * @hessian/native: a TensorFlow.js backend named `native` that extends tfjs `cpu` and runs
 * matmul, convolution, pooling, element-wise, activation and reduction kernels in an N-API
 * addon linked against OpenBLAS. Importing this module registers the backend when the addon
 * is built; select it with `await tf.setBackend('native')`.
 */
import '@tensorflow/tfjs-backend-cpu';
import { loadAddon } from './addon.js';
import { registerNativeBackend, BACKEND_NAME, NativeBackend } from './backend.js';

export { registerSecondOrderGradients } from './grads.js';
export { BACKEND_NAME, NativeBackend };

const loaded = loadAddon();

function envThreads(): number {
  const raw = process.env.HESSIAN_NATIVE_THREADS;
  const n = raw === undefined || raw === '' ? 1 : Number.parseInt(raw, 10);
  return Number.isFinite(n) && n >= 1 ? n : 1;
}

/** Whether the addon is built and the `native` backend is registered. */
export const available: boolean = loaded.addon !== undefined;
/** Why the backend is unavailable (absent when available). */
export const reason: string | undefined = loaded.reason;
/** Names of the kernels that run natively (empty when unavailable). */
export const nativeKernelNames: readonly string[] = loaded.addon ? registerNativeBackend(loaded.addon) : [];

if (loaded.addon) loaded.addon.setThreads(envThreads());

/** Threads OpenBLAS uses (1 when unavailable). */
export function threads(): number {
  return loaded.addon ? loaded.addon.getThreads() : 1;
}

/** Sets OpenBLAS's thread count (default: env HESSIAN_NATIVE_THREADS, else 1). */
export function setThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setThreads: expected a positive integer, got ${n}`);
  loaded.addon?.setThreads(n);
}

/**
 * Float64 kernels for @hessian/linalg's `setDenseKernels` (the engine registers them when it
 * selects this backend): Gram-Schmidt sweeps over float64 or float32 bases as float64-
 * accumulating vectorized loops (memory-bound: no BLAS call does mixed precision), eigenvalues
 * with LAPACK dsyevd. Null when the addon is missing or was built before these existed.
 */
export const denseKernels: {
  project64(basis: readonly Float64Array[], k: number, w: Float64Array, c: Float64Array): number;
  subtract64(basis: readonly Float64Array[], k: number, c: Float64Array, w: Float64Array): number;
  project32?(basis: readonly Float32Array[], k: number, w: Float64Array, c: Float64Array): number;
  subtract32?(basis: readonly Float32Array[], k: number, c: Float64Array, w: Float64Array): number;
  lanczosStep32?(aq: Float32Array, q: Float32Array, qPrev: Float32Array | null, betaPrev: number, w: Float64Array, out: Float64Array): void;
  scaleTo32?(x: Float64Array, s: number, out: Float32Array): void;
  symmetricEigenvalues(a: Float64Array, n: number): Float64Array;
} | null = (() => {
  const a = loaded.addon;
  if (!a?.symEigvals || !a.gsProject || !a.gsSubtract) return null;
  const { symEigvals, gsProject, gsSubtract, gsProject32, gsSubtract32, lanczosStep32, scaleTo32 } = a;
  return {
    project64: (basis, k, w, c) => gsProject(basis, k, w, c),
    subtract64: (basis, k, c, w) => gsSubtract(basis, k, c, w),
    // float32 bases (SLQ's semi-orthogonal one): absent from an addon built before them
    ...(gsProject32 && gsSubtract32
      ? {
          project32: (basis: readonly Float32Array[], k: number, w: Float64Array, c: Float64Array) => gsProject32(basis, k, w, c),
          subtract32: (basis: readonly Float32Array[], k: number, c: Float64Array, w: Float64Array) => gsSubtract32(basis, k, c, w),
        }
      : {}),
    // the float32 Lanczos step and the basis vector's rounding: absent from older addons too
    ...(lanczosStep32 && scaleTo32
      ? {
          lanczosStep32: (aq: Float32Array, q: Float32Array, qPrev: Float32Array | null, betaPrev: number, w: Float64Array, out: Float64Array) => lanczosStep32(aq, q, qPrev, betaPrev, w, out),
          scaleTo32: (x: Float64Array, s: number, out: Float32Array) => scaleTo32(x, s, out),
        }
      : {}),
    symmetricEigenvalues(m, n) {
      const w = new Float64Array(n);
      const info = symEigvals(m, n, w);
      if (info !== 0) throw new Error(`LAPACK dsyevd failed (info ${info}) on a ${n} x ${n} matrix`);
      return w;
    },
  };
})();

const nativeModule: {
  available: boolean;
  reason?: string;
  threads(): number;
  setThreads(n: number): void;
} = { available, ...(reason !== undefined ? { reason } : {}), threads, setThreads };
export default nativeModule;
