import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc } from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from './addon.js';
import { nativeKernels, withFallback } from './kernels.js';

export const BACKEND_NAME = 'native';

/** The `cpu` backend with its hot kernels replaced by native code (data layout is cpu's). */
export class NativeBackend extends MathBackendCPU {}

/**
 * Registers the `native` backend: every cpu kernel is registered for 'native', the native
 * ones wrapped so that they fall back to the cpu kernel for inputs they do not handle
 * (non-float32 dtypes, NCHW, exotic broadcasts). Returns the names of the native kernels.
 */
export function registerNativeBackend(addon: NativeAddon, priority = 0): string[] {
  const native = nativeKernels(addon);
  const replaced: string[] = [];
  if (tf.findBackendFactory(BACKEND_NAME) == null) {
    tf.registerBackend(BACKEND_NAME, () => new NativeBackend(), priority);
  }
  const registered = new Set(tf.getKernelsForBackend(BACKEND_NAME).map((k) => k.kernelName));
  for (const cfg of tf.getKernelsForBackend('cpu')) {
    if (registered.has(cfg.kernelName)) continue;
    const nk = native[cfg.kernelName];
    const kernelFunc: KernelFunc = nk ? withFallback(nk, cfg.kernelFunc) : cfg.kernelFunc;
    if (nk) replaced.push(cfg.kernelName);
    tf.registerKernel({ ...cfg, backendName: BACKEND_NAME, kernelFunc });
  }
  return replaced.sort();
}
