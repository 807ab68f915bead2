import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The functions of build/Release/hessian_native.node (see addon/native.cc). */
export interface NativeAddon {
  setThreads(n: number): void;
  getThreads(): number;
  gemm(
    a: Float32Array, b: Float32Array, out: Float32Array, batchA: number, batchB: number,
    m: number, n: number, k: number, transA: boolean, transB: boolean,
    bias: Float32Array | null, biasLen: number, act: number, alpha: number,
  ): void;
  conv2d(x: Float32Array, w: Float32Array, out: Float32Array, p: number[]): void;
  conv2dBackpropInput(dy: Float32Array, w: Float32Array, dx: Float32Array, p: number[]): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, p: number[]): void;
  binary(op: number, a: Float32Array, aShape: number[], b: Float32Array, bShape: number[],
    out: Float32Array | Uint8Array, outShape: number[]): void;
  unary(op: number, x: Float32Array, out: Float32Array, alpha: number): void;
  reduce(op: number, x: Float32Array, shape: number[], mask: number[], out: Float32Array): void;
  transpose(x: Float32Array, shape: number[], perm: number[], out: Float32Array): void;
  addN(xs: Float32Array[], out: Float32Array): void;
  maxPool(x: Float32Array, out: Float32Array, p: number[]): void;
  maxPoolGrad(dy: Float32Array, x: Float32Array, dx: Float32Array, p: number[]): void;
  avgPool(x: Float32Array, out: Float32Array, p: number[]): void;
  avgPoolGrad(dy: Float32Array, dx: Float32Array, p: number[]): void;
  select(cond: Uint8Array, a: Float32Array, b: Float32Array, out: Float32Array): void;
  castToFloat(x: Uint8Array | Int32Array, out: Float32Array): void;
  maxPoolWithArgmax(x: Float32Array, out: Float32Array, idx: Int32Array, p: number[], includeBatch: boolean): void;
  gather(x: Float32Array, outer: number, axisLen: number, inner: number, indices: Int32Array, out: Float32Array): boolean;
  /** Absent in addons built before them (a stale build/): callers feature-test. */
  symEigvals?(a: Float64Array, n: number, w: Float64Array): number;
  gsProject?(basis: readonly Float64Array[], k: number, w: Float64Array, c: Float64Array): number;
  gsSubtract?(basis: readonly Float64Array[], k: number, c: Float64Array, w: Float64Array): number;
  gsProject32?(basis: readonly Float32Array[], k: number, w: Float64Array, c: Float64Array): number;
  gsSubtract32?(basis: readonly Float32Array[], k: number, c: Float64Array, w: Float64Array): number;
  lanczosStep32?(aq: Float32Array, q: Float32Array, qPrev: Float32Array | null, betaPrev: number, w: Float64Array, out: Float64Array): void;
  scaleTo32?(x: Float64Array, s: number, out: Float32Array): void;
}

export interface LoadResult {
  addon?: NativeAddon;
  reason?: string;
}

/** Loads the compiled addon; never throws. */
export function loadAddon(): LoadResult {
  if (process.env.HESSIAN_NATIVE_DISABLE) {
    return { reason: 'disabled by HESSIAN_NATIVE_DISABLE' };
  }
  const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const file = join(pkgDir, 'build', 'Release', 'hessian_native.node');
  if (!existsSync(file)) {
    return {
      reason:
        `native addon not built (${file} missing): apt-get install libopenblas-dev g++ make python3, ` +
        'then npm run build:addon -w @hessian/native',
    };
  }
  try {
    const req = createRequire(import.meta.url);
    return { addon: req(file) as NativeAddon };
  } catch (e) {
    return { reason: `native addon failed to load: ${(e as Error).message}` };
  }
}
