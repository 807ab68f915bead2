/**
 * Per-layer rules of the R-op (Pearlmutter) products in rop.ts: each supported layer's
 * forward (keeping what the R passes need: input, pre-activation z, phi'(z), phi''(z),
 * max pooling's argmax), its first-order backward (dL/dx from dL/dy), its R-forward
 * (R{y} from R{x} and the direction's weights V) and its R-backward (R{dL/dx} and the
 * scope's R{dL/dW} from R{dL/dy}). Only first-order kernels are used (matMul, conv2d,
 * conv2dTranspose, Conv2DBackpropFilter, MaxPoolGrad, gathers): no gradient of a gradient.
 *
 * Affine layers y = phi(z), z = lin(x, K) + b (Dense, Conv2D), with delta = dL/dz:
 *   R{z} = lin(R{x}, K) + lin(x, V_K) + V_b          R{y} = phi'(z) R{z}
 *   R{delta} = phi'(z) R{dL/dy} + phi''(z) R{z} dL/dy
 *   R{g_K} = linW(x, R{delta}) + linW(R{x}, delta)   R{g_b} = sum R{delta}
 *   R{dL/dx} = linT(R{delta}, K) + linT(delta, V_K)
 * Gauss-Newton (G v = J^T H_out J v) is the same without phi'' and the two cross terms.
 */
import * as tf from '@tensorflow/tfjs-core';
import { activationName, convUsesIm2col, conv2d, isStripped, type CompiledLayer, type WeightGetter } from './layers.js';
import { padding, pair } from './layer-config.js';
import { pool2d, usePoolKernel, type Pool2DSpec } from './pool.js';
import { actRule, eluRule, type Act } from './rop-activations.js';

/** What the forward keeps for a node (per chunk, per weights). */
export interface Saved {
  x: tf.Tensor[];
  y: tf.Tensor;
  /** affine layers: pre-activation, in the linear part's layout (Dense: rows [M, units]) */
  z?: tf.Tensor;
  /** phi'(z) (null: identity) and phi''(z) (null: zero) */
  d1?: tf.Tensor | null;
  d2?: tf.Tensor | null;
  /** max pooling: flat argmax indices into x (batch included), BN: xhat */
  aux?: tf.Tensor;
}

export interface RBackwardIn {
  /** dL/dy and (affine layers) dL/dz */
  gy: tf.Tensor;
  gz?: tf.Tensor;
  rx: (tf.Tensor | null)[];
  rz?: tf.Tensor | null;
  rgy: tf.Tensor;
  /** which inputs need R{dL/dx} */
  wantX: boolean[];
  /** trainable roles of this layer in the scope */
  roles: string[];
  /** drop the second-order cross terms (Gauss-Newton) */
  gn: boolean;
}

/** V's tensors of one layer, by role (missing = zero). */
export type LayerV = Map<string, tf.Tensor>;

export interface RopRule {
  forward(x: tf.Tensor[], w: WeightGetter, keepCurvature: boolean): Saved;
  /** dL/dx for the inputs in `want` (null elsewhere), and dL/dz for affine layers */
  backward(s: Saved, gy: tf.Tensor, w: WeightGetter, want: boolean[]): { gz?: tf.Tensor; gx: (tf.Tensor | null)[] };
  rForward(s: Saved, rx: (tf.Tensor | null)[], w: WeightGetter, v: LayerV | undefined): { rz?: tf.Tensor | null; ry: tf.Tensor | null };
  rBackward(s: Saved, r: RBackwardIn, w: WeightGetter, v: LayerV | undefined): { rgx: (tf.Tensor | null)[]; rgw: Map<string, tf.Tensor> };
}

function plus(a: tf.Tensor | null, b: tf.Tensor | null): tf.Tensor | null {
  return a && b ? tf.add(a, b) : (a ?? b);
}

/** The linear part of an affine layer and its two adjoints. */
interface Linear {
  lin(x: tf.Tensor, k: tf.Tensor): tf.Tensor;
  /** adjoint in x: linT(g, k) with g shaped like lin's output */
  linT(g: tf.Tensor, k: tf.Tensor, x: tf.Tensor): tf.Tensor;
  /** adjoint in k */
  linW(x: tf.Tensor, g: tf.Tensor, k: tf.Tensor): tf.Tensor;
  /** the bias gradient: sum over everything but the last axis */
  biasSum(g: tf.Tensor): tf.Tensor;
}

function denseLinear(inDim: number): Linear {
  const rows = (x: tf.Tensor): tf.Tensor2D => (x.rank === 2 ? (x as tf.Tensor2D) : (tf.reshape(x, [-1, inDim]) as tf.Tensor2D));
  return {
    lin: (x, k) => tf.matMul(rows(x), k as tf.Tensor2D),
    linT: (g, k, x) => tf.reshape(tf.matMul(g as tf.Tensor2D, k as tf.Tensor2D, false, true), x.shape),
    linW: (x, g) => tf.matMul(rows(x), g as tf.Tensor2D, true, false),
    biasSum: (g) => tf.sum(g, 0),
  };
}

function convLinear(c: CompiledLayer): Linear {
  const s = pair(c.node, 'strides', [1, 1]);
  const d = pair(c.node, 'dilation_rate', [1, 1]);
  const pad = padding(c.node);
  const lin = (x: tf.Tensor, k: tf.Tensor): tf.Tensor => conv2d(x as tf.Tensor4D, k as tf.Tensor4D, s, pad, d);
  // The backend's first-order kernels where the layer runs tf.conv2d undilated; otherwise
  // the first-order gradient of the layer's own convolution (same function, any backend).
  const kernels = (): boolean => d[0] === 1 && d[1] === 1 && !convUsesIm2col();
  return {
    lin,
    linT: (g, k, x) =>
      kernels()
        ? tf.conv2dTranspose(g as tf.Tensor4D, k as tf.Tensor4D, x.shape as [number, number, number, number], s, pad)
        : tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(lin(xx, k), g)))(x),
    linW: (x, g, k) =>
      kernels()
        ? (tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy: g }, { strides: s, pad, dataFormat: 'NHWC', filterShape: k.shape }) as tf.Tensor)
        : tf.grad((kk: tf.Tensor) => tf.sum(tf.mul(lin(x, kk), g)))(k),
    biasSum: (g) => tf.sum(g, [0, 1, 2]),
  };
}

function affineRule(c: CompiledLayer, act: Act, linear: Linear, hasBias: boolean): RopRule {
  const outShape = (m: number): number[] => [m, ...c.outShape];
  const m0 = (x: tf.Tensor): number => x.shape[0];
  return {
    forward: (x, w, keepCurvature) => {
      let z = linear.lin(x[0], w('kernel'));
      if (hasBias) z = tf.add(z, w('bias'));
      const yl = act.fn(z);
      return { x, y: tf.reshape(yl, outShape(m0(x[0]))), z, d1: act.d1(z, yl), d2: keepCurvature ? act.d2(z, yl) : null };
    },
    backward: (s, gy, w, want) => {
      const g = tf.reshape(gy, (s.z as tf.Tensor).shape);
      const gz = s.d1 ? tf.mul(g, s.d1) : g;
      return { gz, gx: [want[0] ? linear.linT(gz, w('kernel'), s.x[0]) : null] };
    },
    rForward: (s, rx, w, v) => {
      const vk = v?.get('kernel');
      const vb = v?.get('bias');
      let rz = rx[0] ? linear.lin(rx[0], w('kernel')) : null;
      rz = plus(rz, vk ? linear.lin(s.x[0], vk) : null);
      if (vb) rz = rz ? tf.add(rz, vb) : tf.add(tf.zerosLike(s.z as tf.Tensor), vb);
      if (!rz) return { rz: null, ry: null };
      const ry = s.d1 ? tf.mul(rz, s.d1) : rz;
      return { rz, ry: tf.reshape(ry, outShape(m0(s.x[0]))) };
    },
    rBackward: (s, r, w, v) => {
      const z = s.z as tf.Tensor;
      const rgy = tf.reshape(r.rgy, z.shape);
      let rgz = s.d1 ? tf.mul(rgy, s.d1) : rgy;
      if (!r.gn && s.d2 && r.rz) rgz = tf.add(rgz, tf.mul(tf.mul(s.d2, r.rz), tf.reshape(r.gy, z.shape)));
      const gz = r.gz as tf.Tensor;
      const rgw = new Map<string, tf.Tensor>();
      if (r.roles.includes('kernel')) {
        let rk = linear.linW(s.x[0], rgz, w('kernel'));
        if (!r.gn && r.rx[0]) rk = tf.add(rk, linear.linW(r.rx[0], gz, w('kernel')));
        rgw.set('kernel', rk);
      }
      if (r.roles.includes('bias')) rgw.set('bias', linear.biasSum(rgz));
      let rgx: tf.Tensor | null = null;
      if (r.wantX[0]) {
        rgx = linear.linT(rgz, w('kernel'), s.x[0]);
        const vk = v?.get('kernel');
        if (!r.gn && vk) rgx = tf.add(rgx, linear.linT(gz, vk, s.x[0]));
      }
      return { rgx: [rgx], rgw };
    },
  };
}

/** y = phi(x) elementwise (Activation, ReLU layers). */
function activationRule(c: CompiledLayer, act: Act): RopRule {
  return {
    forward: (x, w, keepCurvature) => {
      const y = c.apply(x, w);
      return { x, y, d1: act.d1(x[0], y), d2: keepCurvature ? act.d2(x[0], y) : null };
    },
    backward: (s, gy, _w, want) => ({ gx: [want[0] ? (s.d1 ? tf.mul(gy, s.d1) : gy) : null] }),
    rForward: (s, rx) => ({ ry: rx[0] ? (s.d1 ? tf.mul(rx[0], s.d1) : rx[0]) : null }),
    rBackward: (s, r) => {
      let rgx = s.d1 ? tf.mul(r.rgy, s.d1) : r.rgy;
      if (!r.gn && s.d2 && r.rx[0]) rgx = tf.add(rgx, tf.mul(tf.mul(s.d2, r.rx[0]), r.gy));
      return { rgx: [r.wantX[0] ? rgx : null], rgw: new Map() };
    },
  };
}

/** The first-order VJP of a layer's own forward at its inputs (for linear and piecewise-linear layers). */
function vjp(c: CompiledLayer, x: tf.Tensor[], w: WeightGetter, gy: tf.Tensor, want: boolean[]): (tf.Tensor | null)[] {
  const at = x.filter((_, i) => want[i]);
  if (at.length === 0) return x.map(() => null);
  const gs = tf.grads((...xs: tf.Tensor[]) => {
    let k = 0;
    const full = x.map((t, i) => (want[i] ? xs[k++] : t));
    return tf.sum(tf.mul(c.apply(full, w), gy)) as tf.Scalar;
  })(at);
  let k = 0;
  return x.map((_, i) => (want[i] ? gs[k++] : null));
}

/** Layers linear in their inputs with no parameters: R{y} = f(R{x}), R-backward = the VJP. */
function linearRule(c: CompiledLayer, kind: 'identity' | 'reshape' | 'add' | 'other'): RopRule {
  const back = (x: tf.Tensor[], w: WeightGetter, gy: tf.Tensor, want: boolean[]): (tf.Tensor | null)[] => {
    if (kind === 'identity' || kind === 'add') return x.map((_, i) => (want[i] ? gy : null));
    if (kind === 'reshape') return [want[0] ? tf.reshape(gy, x[0].shape) : null];
    return vjp(c, x, w, gy, want);
  };
  return {
    forward: (x, w) => ({ x, y: c.apply(x, w) }),
    backward: (s, gy, w, want) => ({ gx: back(s.x, w, gy, want) }),
    rForward: (s, rx, w) => {
      if (kind === 'add') return { ry: rx.reduce<tf.Tensor | null>((a, b) => plus(a, b), null) };
      if (rx.every((r) => !r)) return { ry: null };
      return { ry: c.apply(rx.map((r, i) => r ?? tf.zerosLike(s.x[i])), w) };
    },
    rBackward: (s, r, w) => ({ rgx: back(s.x, w, r.rgy, r.wantX), rgw: new Map() }),
  };
}

/** Max pooling: R{y} gathers R{x} at the forward's argmax; R-backward is MaxPoolGrad of R{dL/dy}. */
function maxPoolRule(c: CompiledLayer): RopRule {
  const pool = pair(c.node, 'pool_size', [2, 2]);
  const spec: Pool2DSpec = { pool, strides: pair(c.node, 'strides', pool), padding: padding(c.node) };
  const gathers = (x: tf.Tensor): boolean =>
    usePoolKernel('max', x.shape[1] as number, x.shape[2] as number, spec) && tf.getKernel(tf.MaxPoolWithArgmax, tf.getBackend()) !== undefined;
  const f = (x: tf.Tensor): tf.Tensor => pool2d('max', x as tf.Tensor4D, spec);
  const generic = (x: tf.Tensor, gy: tf.Tensor): tf.Tensor => tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(f(xx), gy)))(x);
  // Where the forward ran tf.maxPool (argmax kept), its gradient kernel directly: no forward re-run.
  const back = (s: Saved, gy: tf.Tensor): tf.Tensor =>
    s.aux
      ? (tf.engine().runKernel(tf.MaxPoolGrad, { dy: gy, input: s.x[0], output: s.y }, { filterSize: spec.pool, strides: spec.strides, pad: spec.padding }) as tf.Tensor)
      : generic(s.x[0], gy);
  return {
    forward: (x) => {
      const y = f(x[0]);
      const aux = gathers(x[0]) ? tf.maxPoolWithArgmax(x[0] as tf.Tensor4D, spec.pool, spec.strides, spec.padding, true).indexes : undefined;
      return { x, y, aux };
    },
    backward: (s, gy, _w, want) => ({ gx: [want[0] ? back(s, gy) : null] }),
    rForward: (s, rx) => {
      const r = rx[0];
      if (!r) return { ry: null };
      if (s.aux) return { ry: tf.reshape(tf.gather(tf.reshape(r, [-1]), tf.reshape(s.aux, [-1])), s.y.shape) };
      // Elsewhere: the JVP as the derivative of the (linear) VJP, u -> <VJP(u), R{x}>, at u = 0.
      return { ry: tf.grad((u: tf.Tensor) => tf.sum(tf.mul(generic(s.x[0], u), r)))(tf.zerosLike(s.y)) };
    },
    rBackward: (s, r) => ({ rgx: [r.wantX[0] ? back(s, r.rgy) : null], rgw: new Map() }),
  };
}

/**
 * A parameterless layer that is piecewise linear in its single input (global max pooling):
 * R{y} is the JVP, taken as the derivative of the (linear) VJP u -> <VJP(u), R{x}> at u = 0;
 * the R-backward is the VJP at the forward's input.
 */
function piecewiseRule(c: CompiledLayer): RopRule {
  const back = (x: tf.Tensor, w: WeightGetter, gy: tf.Tensor): tf.Tensor => vjp(c, [x], w, gy, [true])[0] as tf.Tensor;
  return {
    forward: (x, w) => ({ x, y: c.apply(x, w) }),
    backward: (s, gy, w, want) => ({ gx: [want[0] ? back(s.x[0], w, gy) : null] }),
    rForward: (s, rx, w) => {
      const r = rx[0];
      if (!r) return { ry: null };
      return { ry: tf.grad((u: tf.Tensor) => tf.sum(tf.mul(back(s.x[0], w, u), r)))(tf.zerosLike(s.y)) };
    },
    rBackward: (s, r, w) => ({ rgx: [r.wantX[0] ? back(s.x[0], w, r.rgy) : null], rgw: new Map() }),
  };
}

/** BatchNormalization in inference mode: y = xhat * gamma + beta, xhat = (x - mean) / sqrt(var + eps). */
function batchNormRule(c: CompiledLayer): RopRule {
  const eps = typeof c.node.config['epsilon'] === 'number' ? (c.node.config['epsilon'] as number) : 1e-3;
  const roles = new Set(c.weights.map((x) => x.role));
  const scale = roles.has('gamma');
  const inv = (w: WeightGetter): tf.Tensor => tf.rsqrt(tf.add(w('moving_variance'), eps));
  const mult = (w: WeightGetter): tf.Tensor => (scale ? tf.mul(w('gamma'), inv(w)) : inv(w));
  const chSum = (t: tf.Tensor): tf.Tensor => tf.sum(t, [...Array(t.rank - 1).keys()]);
  return {
    forward: (x, w) => ({ x, y: c.apply(x, w), aux: tf.mul(tf.sub(x[0], w('moving_mean')), inv(w)) }),
    backward: (s, gy, w, want) => ({ gx: [want[0] ? tf.mul(gy, mult(w)) : null] }),
    rForward: (s, rx, w, v) => {
      const xhat = s.aux as tf.Tensor;
      let ry = rx[0] ? tf.mul(rx[0], mult(w)) : null;
      const vg = v?.get('gamma');
      const vb = v?.get('beta');
      if (vg) ry = plus(ry, tf.mul(xhat, vg));
      if (vb) ry = ry ? tf.add(ry, vb) : tf.add(tf.zerosLike(s.y), vb);
      return { ry };
    },
    rBackward: (s, r, w, v) => {
      const xhat = s.aux as tf.Tensor;
      const rgw = new Map<string, tf.Tensor>();
      if (r.roles.includes('gamma')) {
        let rg = chSum(tf.mul(r.rgy, xhat));
        if (!r.gn && r.rx[0]) rg = tf.add(rg, chSum(tf.mul(tf.mul(r.gy, r.rx[0]), inv(w))));
        rgw.set('gamma', rg);
      }
      if (r.roles.includes('beta')) rgw.set('beta', chSum(r.rgy));
      let rgx: tf.Tensor | null = null;
      if (r.wantX[0]) {
        rgx = tf.mul(r.rgy, mult(w));
        const vg = v?.get('gamma');
        if (!r.gn && vg) rgx = tf.add(rgx, tf.mul(r.gy, tf.mul(vg, inv(w))));
      }
      return { rgx: [rgx], rgw };
    },
  };
}

const ALIAS: Record<string, string> = { Convolution2D: 'Conv2D', MaxPool2D: 'MaxPooling2D', AvgPool2D: 'AveragePooling2D', AveragePool2D: 'AveragePooling2D', GlobalAvgPool2D: 'GlobalAveragePooling2D', GlobalAveragePool2D: 'GlobalAveragePooling2D' };

/** The R-op rule of a compiled layer, or a sentence saying why there is none. */
export function ropRule(c: CompiledLayer, inShape: number[]): RopRule | string {
  const cls = ALIAS[c.node.className] ?? c.node.className;
  const name = c.node.name;
  const hasBias = c.weights.some((x) => x.role === 'bias');
  switch (cls) {
    case 'Dense':
    case 'Conv2D': {
      const act = actRule(isStripped(c) ? 'linear' : activationName(c.node));
      if (typeof act === 'string') return `layer '${name}': ${act}`;
      return affineRule(c, act, cls === 'Dense' ? denseLinear(inShape[inShape.length - 1]) : convLinear(c), hasBias);
    }
    case 'Activation':
    case 'Softmax': {
      if (isStripped(c)) return linearRule(c, 'identity');
      const act = actRule(cls === 'Softmax' ? 'softmax' : activationName(c.node));
      return typeof act === 'string' ? `layer '${name}': ${act}` : activationRule(c, act);
    }
    case 'ReLU': {
      const mv = c.node.config['max_value'];
      const slope = typeof c.node.config['negative_slope'] === 'number' ? (c.node.config['negative_slope'] as number) : 0;
      if (typeof mv === 'number' && (mv !== 6 || slope !== 0)) return `layer '${name}': ReLU with max_value ${mv} has no R-op rule`;
      if (typeof mv === 'number') return activationRule(c, actRule('relu6') as Act);
      return activationRule(c, { fn: (z) => (slope !== 0 ? tf.leakyRelu(z, slope) : tf.relu(z)), d1: (z) => tf.step(z, slope), d2: () => null });
    }
    case 'LeakyReLU': {
      // Keras 2 / tfjs: alpha; Keras 3: negative_slope (default 0.3 in both), as layers-extra.ts reads it
      const cfg = c.node.config['negative_slope'] ?? c.node.config['alpha'];
      const slope = typeof cfg === 'number' ? cfg : 0.3;
      return activationRule(c, { fn: (z) => tf.leakyRelu(z, slope), d1: (z) => tf.step(z, slope), d2: () => null });
    }
    case 'ELU': {
      const a = c.node.config['alpha'];
      return activationRule(c, eluRule(typeof a === 'number' ? a : 1));
    }
    case 'InputLayer':
    case 'Dropout':
    case 'SpatialDropout2D':
    case 'GaussianDropout':
    case 'GaussianNoise':
    case 'AlphaDropout':
      return linearRule(c, 'identity');
    case 'Flatten':
    case 'Reshape':
      return linearRule(c, 'reshape');
    case 'Add':
      return linearRule(c, 'add');
    case 'Concatenate':
      return linearRule(c, 'other');
    case 'GlobalMaxPooling2D':
    case 'GlobalMaxPool2D':
      return piecewiseRule(c);
    case 'AveragePooling2D':
    case 'GlobalAveragePooling2D':
    case 'ZeroPadding2D':
      return linearRule(c, 'other');
    case 'MaxPooling2D':
      return maxPoolRule(c);
    case 'BatchNormalization':
      return batchNormRule(c);
    default:
      return `layer '${name}' (${c.node.className}) has no R-op rule`;
  }
}
