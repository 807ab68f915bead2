/**
 * The Hessian-trace regularizer (HTR) of arXiv:2012.03801 and the training objective.
 *
 *   reg(theta) = sum over chosen layers l of (1/K) sum_k v_lk^T H_ll v_lk
 *
 * H = Hessian of the mean cross-entropy over the minibatch, H_ll its diagonal block for the
 * parameters of layer l (convention 'layer': kernel and bias; 'weights-only': kernel), v_lk
 * Rademacher or Gaussian probes supported on layer l only. Each quadratic form is an exact
 * Pearlmutter product (H_ll v = d/dtheta_l <grad_l CE, v>), built while the outer tape
 * records, so tf.grads of the objective differentiates through it (third order):
 * CE -> grad_l -> <grad_l, v> -> grad_l -> <v, H_ll v> -> grad_theta.
 */
import { tf } from '@hessian/engine';
import { lossSum, type Convention, type Model, type ParamGroup, type ParamTensor } from '@hessian/engine';
import { Rng, UserError } from '@hessian/linalg';
import { registerThirdOrderGradients } from './gradients.js';

export type LayerSet = { select: 'all' } | { select: 'middle' } | { select: 'names'; names: string[] };
export type ProbeDist = 'rademacher' | 'gaussian';

/**
 * One regularized block: a parameter group (the engine's type) of the model's own tensors. For
 * `middle` it is the layer the selected tensors belong to, restricted to those tensors.
 */
export type HtrBlock = ParamGroup<ParamTensor>;

/** Parses all | middle | name,name,... */
export function parseLayerSet(text: string): LayerSet {
  const t = text.trim();
  if (t === 'all') return { select: 'all' };
  if (t === 'middle') return { select: 'middle' };
  const names = t.split(',').map((s) => s.trim());
  if (t === '' || names.some((n) => n === '')) {
    throw new UserError(`--htr-layers: "${text}" is not all, middle or a comma-separated list of layer names (no empty names)`);
  }
  return { select: 'names', names };
}

export function formatLayerSet(s: LayerSet): string {
  return s.select === 'names' ? s.names.join(',') : s.select;
}

/**
 * The blocks of a layer set.
 * - all: every layer with trainable parameters (one block per layer, by the convention);
 * - middle: the paper's code takes the parameter TENSORS (model.parameters() order, filtered
 *   by the convention) from floor(n/4) to floor(3n/4) (exclusive, at least one); the chosen
 *   tensors are grouped back by layer, so a layer whose kernel is in and bias out is a block
 *   of its kernel alone;
 * - names: those layers (model order), an unknown name is a UserError listing the valid ones.
 * (`hessctl analyze --layers middle` means the middle LAYERS instead, each whole: analysis's
 * selectLayers. On LeNet: conv2, fc1 there; conv2, fc1 and fc2's kernel here. test/middle.test.ts)
 */
export function selectBlocks(model: Model, set: LayerSet, convention: Convention): HtrBlock[] {
  const groups = model.groups(convention);
  if (groups.length === 0) throw new UserError(`Model '${model.name}' has no trainable parameters to regularize.`, 'FAILED_PRECONDITION');
  switch (set.select) {
    case 'all':
      return groups;
    case 'middle': {
      const tensors = groups.flatMap((g) => g.tensors.map((t) => ({ t, className: g.className })));
      const n = tensors.length;
      const lo = Math.floor(n / 4);
      const hi = Math.max(lo + 1, Math.floor((3 * n) / 4));
      const chosen = tensors.slice(lo, hi);
      const out: HtrBlock[] = [];
      for (const { t, className } of chosen) {
        const last = out[out.length - 1];
        if (last && last.name === t.layer) {
          last.tensors.push(t);
          last.size += t.size;
        } else out.push({ name: t.layer, className, tensors: [t], size: t.size });
      }
      return out;
    }
    case 'names': {
      const known = new Set(groups.map((g) => g.name));
      const unknown = set.names.filter((n) => !known.has(n));
      if (unknown.length > 0) {
        throw new UserError(
          `--htr-layers: unknown layer ${unknown.map((u) => `"${u}"`).join(', ')}; layers with parameters (${convention}) are ${groups.map((g) => g.name).join(', ')}`,
        );
      }
      const wanted = new Set(set.names);
      return groups.filter((g) => wanted.has(g.name));
    }
  }
}

/** Probes of one step: probes[block][k] is a flat vector over the block's tensors. */
export type Probes = Float32Array[][];

export function drawProbes(blocks: HtrBlock[], k: number, dist: ProbeDist, rng: Rng): Probes {
  return blocks.map((b) => Array.from({ length: k }, () => (dist === 'gaussian' ? rng.gaussian(b.size) : rng.rademacher(b.size))));
}

function dotAll(a: tf.Tensor[], b: tf.Tensor[]): tf.Scalar {
  let s = tf.sum(tf.mul(a[0], b[0]));
  for (let i = 1; i < a.length; i++) s = tf.add(s, tf.sum(tf.mul(a[i], b[i])));
  return s as tf.Scalar;
}

/** Positions of a block's tensors in model.params (and so in the parameter tensor list). */
function indicesOf(model: Model, block: HtrBlock): number[] {
  return block.tensors.map((t) => model.params.findIndex((p) => p.name === t.name));
}

function splitProbe(block: HtrBlock, v: Float32Array): tf.Tensor[] {
  let o = 0;
  return block.tensors.map((p) => {
    const t = tf.tensor(v.subarray(o, o + p.size), p.shape);
    o += p.size;
    return t;
  });
}

export interface ObjectiveInput {
  x: tf.Tensor;
  /** one-hot [n, classes] */
  y: tf.Tensor2D;
}

export interface HtrTerm {
  blocks: HtrBlock[];
  probes: Probes;
  /** 0 computes the value only (no gradient contribution) */
  gamma: number;
}

export interface ObjectiveResult {
  /** mean cross-entropy of the minibatch */
  loss: number;
  /** the regularizer's value (before gamma), when an HTR term was given */
  reg?: number;
  /** correct predictions in the minibatch */
  correct: number;
  /** gradient of loss + gamma * reg, one tensor per model.params entry (caller disposes) */
  grads: tf.Tensor[];
}

/** reg(params) built from ops on `ps` (so that an enclosing tape can differentiate it). */
function regularizer(model: Model, ps: tf.Tensor[], input: ObjectiveInput, term: HtrTerm): tf.Scalar {
  const n = input.x.shape[0];
  let total: tf.Scalar | null = null;
  for (const [bi, block] of term.blocks.entries()) {
    const probes = term.probes[bi];
    const idx = indicesOf(model, block);
    const ql = idx.map((i) => ps[i]);
    const ceOfBlock = (...rs: tf.Tensor[]): tf.Scalar => {
      const p = ps.slice();
      idx.forEach((i, k) => (p[i] = rs[k]));
      return lossSum('cross-entropy', model.forward(p, input.x) as tf.Tensor2D, input.y, n);
    };
    let sum: tf.Scalar | null = null;
    for (const pv of probes) {
      const v = splitProbe(block, pv);
      const gDotV = (...rs: tf.Tensor[]): tf.Scalar => dotAll(tf.grads(ceOfBlock)(rs), v);
      const hv = tf.grads(gDotV)(ql);
      const q = dotAll(hv, v);
      sum = sum ? (tf.add(sum, q) as tf.Scalar) : q;
    }
    const mean = tf.div(sum as tf.Scalar, probes.length) as tf.Scalar;
    total = total ? (tf.add(total, mean) as tf.Scalar) : mean;
  }
  // no blocks: the regularizer of no layers is 0
  return total ?? tf.scalar(0);
}

/**
 * Loss, regularizer and the gradient of CE + gamma * reg at the model's current parameters.
 * With `term` undefined this is plain backprop.
 *
 * Asynchronous on purpose: the webgpu backend cannot read a tensor synchronously in Node
 * (its readSync needs OffscreenCanvas), so every read here is `await t.data()`.
 */
export async function objective(model: Model, input: ObjectiveInput, term?: HtrTerm): Promise<ObjectiveResult> {
  if (term) registerThirdOrderGradients();
  // set inside the tape's closure (kept past tidy), read after it
  const kept: { ce?: tf.Scalar; reg?: tf.Scalar; correct?: tf.Scalar } = {};
  const grads = tf.tidy(() => {
    const n = input.x.shape[0];
    let logitsT: tf.Tensor2D | undefined;
    const f = (...ps: tf.Tensor[]): tf.Scalar => {
      const logits = model.forward(ps, input.x) as tf.Tensor2D;
      const ce = lossSum('cross-entropy', logits, input.y, n);
      logitsT = tf.keep(logits);
      kept.ce = tf.keep(ce);
      if (!term) return ce;
      const r = regularizer(model, ps, input, term);
      kept.reg = tf.keep(r);
      return term.gamma === 0 ? ce : (tf.add(ce, tf.mul(r, term.gamma)) as tf.Scalar);
    };
    const g = tf.grads(f)(model.paramTensors());
    const pred = tf.argMax(logitsT as tf.Tensor2D, 1);
    const truth = tf.argMax(input.y, 1);
    kept.correct = tf.keep(tf.sum(tf.cast(tf.equal(pred, truth), 'int32')) as tf.Scalar);
    tf.dispose(logitsT as tf.Tensor2D);
    return g;
  });
  const { ce, correct: cor, reg: rg } = kept;
  if (!ce || !cor) throw new Error('objective: the tape did not run the loss');
  try {
    const loss = (await ce.data())[0];
    const correct = (await cor.data())[0];
    const reg = rg ? (await rg.data())[0] : undefined;
    return { loss, reg, correct, grads };
  } finally {
    tf.dispose([ce, cor, ...(rg ? [rg] : [])]);
  }
}

/** reg's value alone (no gradient): sum_l (1/K) sum_k v^T H_ll v. */
export async function regularizerValue(model: Model, input: ObjectiveInput, blocks: HtrBlock[], probes: Probes): Promise<number> {
  registerThirdOrderGradients();
  const t = tf.tidy(() => regularizer(model, model.paramTensors(), input, { blocks, probes, gamma: 0 }));
  try {
    return (await t.data())[0];
  } finally {
    t.dispose();
  }
}

/** Flattens per-tensor gradients into one vector in model.params order (float32). */
export async function flattenGrads(model: Model, grads: tf.Tensor[]): Promise<Float32Array> {
  const out = new Float32Array(model.paramCount);
  const parts = await Promise.all(grads.map((g) => g.data() as Promise<Float32Array>));
  parts.forEach((d, i) => out.set(d, model.params[i].offset));
  return out;
}

/** x and one-hot y tensors of examples `idx` of a data set (caller disposes); `edit` may change the copied inputs (augmentation) first. */
export function makeInput(
  data: { x: Float32Array; labels: Int32Array },
  inputShape: number[],
  numClasses: number,
  idx: ArrayLike<number>,
  edit?: (xs: Float32Array) => void,
): ObjectiveInput {
  const per = inputShape.reduce((a, b) => a * b, 1);
  const m = idx.length;
  const xs = new Float32Array(m * per);
  const ys = new Float32Array(m * numClasses);
  for (let j = 0; j < m; j++) {
    const i = idx[j];
    xs.set(data.x.subarray(i * per, (i + 1) * per), j * per);
    ys[j * numClasses + data.labels[i]] = 1;
  }
  edit?.(xs);
  return { x: tf.tensor(xs, [m, ...inputShape]), y: tf.tensor2d(ys, [m, numClasses]) };
}
