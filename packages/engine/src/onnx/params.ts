/**
 * Which ONNX initializers are trainable parameters, the layer each belongs to, and the one
 * layout conversion made at load. The rule (documented in the engine README):
 *   Conv W, B                      -> layer = the Conv node; kernel OIHW -> HWIO
 *                                     (depthwise, group = C: [C*m, 1, kh, kw] -> [kh, kw, C, m])
 *   Gemm B, C                      -> layer = the Gemm node; kernel [N, K] (transB=1, torch
 *                                     Linear) -> [K, N]; bias as is
 *   MatMul B (+ the Add after it)  -> layer = the MatMul node; kernel [K, N] as is, bias as is
 *   BatchNormalization scale, B    -> layer = the BN node, roles gamma, beta (mean and
 *                                     variance are constants: inference mode)
 *   LayerNormalization Scale, B    -> layer = the LN node, roles gamma, beta, as is
 * Every other float initializer is a constant. The parameter vector is these tensors in
 * node order, each flattened row-major in our layout; `origin` keeps the initializer name
 * (the PyTorch state_dict name for torch.onnx exports) and the permutation.
 */
import { UserError } from '@hessian/linalg';
import type { OnnxGraph, OnnxNode, OnnxTensor } from './read.js';

export interface OnnxParam {
  initializer: string;
  layer: string;
  className: string;
  role: 'kernel' | 'bias' | 'gamma' | 'beta';
  onnxDims: number[];
  /** our shape */
  shape: number[];
  /** e.g. 'OIHW->HWIO'; 'as is' when unchanged */
  layout: string;
  /** ONNX-order values -> our order */
  toOurs(v: Float32Array): Float32Array;
  /** our order -> ONNX order */
  toOnnx(v: Float32Array): Float32Array;
}

/** Permutes a row-major array of shape `dims` by `perm` (out dims = perm.map(p => dims[p])). */
export function permute(v: Float32Array, dims: number[], perm: number[]): Float32Array {
  const r = dims.length;
  const out = new Float32Array(v.length);
  const outDims = perm.map((p) => dims[p]);
  const inStride = new Array<number>(r).fill(1);
  for (let i = r - 2; i >= 0; i--) inStride[i] = inStride[i + 1] * dims[i + 1];
  const stride = perm.map((p) => inStride[p]);
  const idx = new Array<number>(r).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let a = 0; a < r; a++) src += idx[a] * stride[a];
    out[o] = v[src];
    for (let a = r - 1; a >= 0; a--) {
      if (++idx[a] < outDims[a]) break;
      idx[a] = 0;
    }
  }
  return out;
}

function inverse(perm: number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

function permuted(dims: number[], perm: number[], layout: string): Pick<OnnxParam, 'shape' | 'layout' | 'toOurs' | 'toOnnx'> {
  const shape = perm.map((p) => dims[p]);
  return { shape, layout, toOurs: (v) => permute(v, dims, perm), toOnnx: (v) => permute(v, shape, inverse(perm)) };
}

const asIs = (dims: number[]): Pick<OnnxParam, 'shape' | 'layout' | 'toOurs' | 'toOnnx'> => ({ shape: dims, layout: 'as is', toOurs: (v) => v, toOnnx: (v) => v });

export function collectParams(g: OnnxGraph, source: string): OnnxParam[] {
  const out: OnnxParam[] = [];
  const seen = new Map<string, string>();
  const producer = new Map<string, OnnxNode>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n);
  const floatInit = (name: string | undefined): OnnxTensor | null => {
    if (!name) return null;
    const t = g.initializers.get(name);
    return t && t.kind === 'float' ? t : null;
  };
  const add = (n: OnnxNode, layer: string, name: string | undefined, role: OnnxParam['role'], conv: (t: OnnxTensor) => Pick<OnnxParam, 'shape' | 'layout' | 'toOurs' | 'toOnnx'>): void => {
    const t = floatInit(name);
    if (!t || !name) return;
    const prev = seen.get(name);
    if (prev !== undefined) {
      throw new UserError(`ONNX initializer '${name}' in ${source} is used by both '${prev}' and '${n.name}' (tied weights); the engine supports each parameter in one layer.`);
    }
    seen.set(name, n.name);
    out.push({ initializer: name, layer, className: n.opType, role, onnxDims: t.dims, ...conv(t) });
  };
  for (const n of g.nodes) {
    switch (n.opType) {
      case 'Conv': {
        const w = floatInit(n.inputs[1]);
        if (!w) throw new UserError(`ONNX node '${n.name}' (Conv) in ${source} takes its weight from a computed tensor; the engine needs it as an initializer.`);
        if (w.dims.length !== 4) throw new UserError(`ONNX node '${n.name}' (Conv) in ${source} is a ${w.dims.length - 2}-D convolution; the engine supports 2-D convolutions.`);
        const group = Number(n.attrs.get('group') ?? 1);
        const [o, i, kh, kw] = w.dims;
        if (group > 1 && i === 1) {
          // depthwise: output channel c*m + j reads input channel c
          const m = o / group;
          add(n, n.name, n.inputs[1], 'kernel', () => permuted([group, m, kh, kw], [2, 3, 0, 1], 'OIHW->[kh,kw,C,multiplier] (depthwise)'));
        } else {
          add(n, n.name, n.inputs[1], 'kernel', (t) => permuted(t.dims, [2, 3, 1, 0], 'OIHW->HWIO'));
        }
        add(n, n.name, n.inputs[2], 'bias', (t) => asIs(t.dims));
        break;
      }
      case 'Gemm': {
        const transB = Number(n.attrs.get('transB') ?? 0) === 1;
        add(n, n.name, n.inputs[1], 'kernel', (t) => (transB ? permuted(t.dims, [1, 0], '[N,K]->[K,N] (transB)') : asIs(t.dims)));
        add(n, n.name, n.inputs[2], 'bias', (t) => asIs(t.dims));
        break;
      }
      case 'MatMul':
        add(n, n.name, n.inputs[1], 'kernel', (t) => asIs(t.dims));
        break;
      case 'Add': {
        // the bias of a MatMul (torch exports Linear on rank > 2 inputs as MatMul + Add)
        const [a, b] = n.inputs;
        const [act, bias] = floatInit(b) ? [a, b] : floatInit(a) ? [b, a] : [null, null];
        const mm = act ? producer.get(act) : undefined;
        const t = floatInit(bias ?? undefined);
        const kernel = mm && mm.opType === 'MatMul' ? floatInit(mm.inputs[1]) : null;
        if (mm && kernel && t && t.dims.length === 1 && t.dims[0] === kernel.dims[kernel.dims.length - 1]) {
          add(n, mm.name, bias ?? undefined, 'bias', (x) => asIs(x.dims));
        }
        break;
      }
      case 'BatchNormalization':
      case 'LayerNormalization':
        add(n, n.name, n.inputs[1], 'gamma', (t) => asIs(t.dims));
        add(n, n.name, n.inputs[2], 'beta', (t) => asIs(t.dims));
        break;
      default:
        break;
    }
  }
  return out;
}
