/**
 * Kernels that replace tfjs-backend-webgpu 4.22's where its own are far too slow for
 * Hessian-vector products.
 *
 * Conv2DBackpropFilter: tfjs's shader gives one thread to each filter weight, and that thread
 * loops over every (example, output row, output column). A LeNet conv1 filter has 150 weights,
 * so at batch 1024 150 threads each sum 800k products: on an H200 this one kernel was 98% of an
 * HVP's GPU time (439 of 449 ms; bench/results/gpu-*.json). Here the same sum is a matrix
 * product over im2col patches with the reduction split into B independent blocks (a batched
 * matmul [B, K/B, KH*KW*Ci]^T x [B, K/B, Co], then a sum over B), which fills the GPU.
 *
 * Built from the backend's own kernels (Pad, StridedSlice, Concat, Reshape, BatchMatMul, Sum,
 * Add), called directly, so nothing is recorded on a gradient tape: the kernel's gradient stays
 * the one registered for Conv2DBackpropFilter (gradients.ts), as for every other backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { input, listAsInputs } from './kernel-inputs.js';

type KernelArgs = Parameters<tf.KernelFunc>[0];
type Info = tf.TensorInfo;

/** Bytes of im2col patches built at once (examples are processed in chunks below this). */
const PATCH_BYTES = 256 * 2 ** 20;

function kernel(name: string): tf.KernelFunc {
  const k = tf.getKernel(name, 'webgpu');
  if (!k) throw new Error(`webgpu backend has no ${name} kernel`);
  return k.kernelFunc;
}

/** The largest divisor of m that is at most `cap` (>= 1). */
function divisorAtMost(m: number, cap: number): number {
  for (let b = Math.max(1, Math.min(cap, m)); b > 1; b--) if (m % b === 0) return b;
  return 1;
}

function conv2dBackpropFilter(args: KernelArgs): Info {
  const backend = args.backend as tf.KernelBackend;
  const x = input(args.inputs, 'x');
  const dy = input(args.inputs, 'dy');
  // tfjs's Conv2DBackpropFilterAttrs, read from the untyped attribute map
  const a0 = args.attrs ?? {};
  const attrs = {
    strides: a0['strides'] as [number, number] | number,
    pad: a0['pad'] as 'valid' | 'same' | number | tf.backend_util.ExplicitPadding,
    dataFormat: a0['dataFormat'] as 'NHWC' | 'NCHW' | undefined,
    dimRoundingMode: a0['dimRoundingMode'] as 'floor' | 'round' | 'ceil' | undefined,
    filterShape: a0['filterShape'] as [number, number, number, number],
  };
  if ((attrs.dataFormat ?? 'NHWC') !== 'NHWC') throw new Error('webgpu Conv2DBackpropFilter: NHWC only');
  const call = (name: string, inputs: tf.NamedTensorInfoMap, a: tf.NamedAttrMap = {}): Info => kernel(name)({ inputs, backend, attrs: a }) as Info;
  const temps: Info[] = [];
  const keep = (t: Info): Info => (temps.push(t), t);

  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  const [N, H, W, C] = x.shape;
  const { filterHeight: KH, filterWidth: KW, outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw, padInfo } = info;
  const CO = attrs.filterShape[3];
  const KKC = KH * KW * C;
  try {
    const needsPad = padInfo.top + padInfo.bottom + padInfo.left + padInfo.right > 0;
    const xp = needsPad
      ? keep(call(tf.PadV2, { x }, { paddings: [[0, 0], [padInfo.top, padInfo.bottom], [padInfo.left, padInfo.right], [0, 0]], constantValue: 0 }))
      : x;
    const HP = H + padInfo.top + padInfo.bottom;
    const WP = W + padInfo.left + padInfo.right;
    const perExample = OH * OW * KKC * 4;
    const chunk = Math.max(1, Math.min(N, Math.floor(PATCH_BYTES / Math.max(1, perExample))));
    let acc: Info | null = null;
    for (let n0 = 0; n0 < N; n0 += chunk) {
      const n = Math.min(chunk, N - n0);
      const xc = n === N ? xp : keep(call(tf.Slice, { x: xp }, { begin: [n0, 0, 0, 0], size: [n, HP, WP, C] }));
      const dyc = n === N ? dy : keep(call(tf.Slice, { x: dy }, { begin: [n0, 0, 0, 0], size: [n, OH, OW, CO] }));
      // im2col: one strided window of the (padded) input per filter tap, channels last
      const taps: Info[] = [];
      for (let kh = 0; kh < KH; kh++) {
        for (let kw = 0; kw < KW; kw++) {
          taps.push(
            keep(
              call(
                tf.StridedSlice,
                { x: xc },
                { begin: [0, kh, kw, 0], end: [n, kh + (OH - 1) * sh + 1, kw + (OW - 1) * sw + 1, C], strides: [1, sh, sw, 1], beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0 },
              ),
            ),
          );
        }
      }
      // Concat takes its inputs as a list, not a named map
      const patches = taps.length === 1 ? taps[0] : keep(call(tf.Concat, listAsInputs(taps), { axis: 3 }));
      // split the reduction over M = n*OH*OW rows into B blocks of about 2k rows
      const M = n * OH * OW;
      const B = divisorAtMost(M, Math.max(1, Math.floor(M / 2048)));
      const a = keep(call(tf.Reshape, { x: patches }, { shape: [B, M / B, KKC] }));
      const d = keep(call(tf.Reshape, { x: dyc }, { shape: [B, M / B, CO] }));
      const prod = keep(call(tf.BatchMatMul, { a, b: d }, { transposeA: true, transposeB: false }));
      const part = B === 1 ? keep(call(tf.Reshape, { x: prod }, { shape: [KKC, CO] })) : keep(call(tf.Sum, { x: prod }, { axis: [0], keepDims: false }));
      acc = acc === null ? part : keep(call(tf.Add, { a: acc, b: part }));
    }
    return call(tf.Reshape, { x: acc as Info }, { shape: [KH, KW, C, CO] });
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

let registered = false;
/** Registers the replacements above for the `webgpu` backend (idempotent). */
export function registerWebgpuKernels(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({ kernelName: tf.Conv2DBackpropFilter, backendName: 'webgpu', kernelFunc: conv2dBackpropFilter });
}
