/**
 * Exact curvature operators of the mean loss of a model on a fixed batch. Products run as
 * R-op passes over cached first-order passes (rop.ts) where every layer has a rule (option
 * `product`), else by tfjs autodiff as follows:
 *  - 'hessian': H v by Pearlmutter's double backprop (tf.grads of <grad L, v>);
 *  - 'gauss-newton': G v = J^T H_out J v, J v by the double-VJP trick
 *    (J v = d/du <J^T u, v>), H_out in closed form (losses.ts);
 *  - 'residual': (H - G) v.
 * A group scope differentiates with respect to that layer's tensors only (the rest are
 * constants), which gives the diagonal block H_ll without forming anything else.
 * Every product runs inside tf.tidy and disposes all its tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { norm, reorthogonalize, scale, UserError, type LinearOperator } from '@hessian/linalg';
import { registerHigherOrderGradients } from './gradients.js';
import { FrontCache } from './block-forward.js';
import { ExactCurvature, type ScopeVerdict } from './exact-curvature.js';
import { lossSum, outputHessianProduct, type LossName } from './losses.js';
import { RopProducts, spanShape, type SpanRestriction } from './rop.js';
import type { Convention, Model, ParamTensor } from './model.js';

import type { Batch } from './data/index.js';

export type OperatorKind = 'hessian' | 'gauss-newton' | 'residual';

/**
 * A scope's operator restricted to the span of a fixed layer input (HessianEngine.spanOperator):
 * `op` acts on the scope's vector with that Dense kernel's part replaced by its r x units
 * coordinates in the span; the `zeros` directions left out are exact zero eigenvectors.
 */
export interface SpanOperator {
  op: LinearOperator;
  /** eigenvalues of the scope's operator that are exactly 0 and not in `op` ((width - rank) x units) */
  zeros: number;
  layer: string;
  rank: number;
  width: number;
}
/** How products are computed: R-op passes (rop.ts) or tfjs double backprop; 'auto' = R-op where every layer has a rule. */
export type ProductMethod = 'auto' | 'rop' | 'autodiff';
const PRODUCT_METHODS: readonly ProductMethod[] = ['auto', 'rop', 'autodiff'];
export type Scope = { kind: 'full' } | { kind: 'group'; group: string; convention: Convention };

interface Chunk {
  x: tf.Tensor;
  y: tf.Tensor2D;
  n: number;
}

export interface HessianEngineOptions {
  loss?: LossName;
  /** micro-batch size: products are summed over chunks of the batch (weighted by size) */
  batchSize?: number;
  /**
   * Layer-block products run only the layers that depend on the block, from cached
   * outputs of the others (block-forward.ts; same numbers). Default true; false runs the
   * whole network for every product (the reference in tests).
   */
  blockForward?: boolean;
  /**
   * 'rop': Pearlmutter R-op products from cached v-independent passes (rop.ts; a UserError
   * where a layer has no rule); 'autodiff': tfjs reverse-over-reverse; 'auto' (default, or
   * env HESSIAN_PRODUCT): R-op where the model is supported, else autodiff. Same operator,
   * float32 rounding apart.
   */
  product?: ProductMethod;
  /** most bytes the R-op cache may keep (default: HESSIAN_ROP_CACHE_MB, else 512 MiB; the lower of the two) */
  ropCacheBytes?: number;
}

/** sum_k <a_k, b_k>, added in order (one add per term). */
function dotAll(a: tf.Tensor[], b: tf.Tensor[]): tf.Scalar {
  let s = tf.sum(tf.mul(a[0], b[0]));
  for (let k = 1; k < a.length; k++) s = tf.add(s, tf.sum(tf.mul(a[k], b[k])));
  return s as tf.Scalar;
}

function productMethodFromEnv(): ProductMethod {
  const e = process.env['HESSIAN_PRODUCT'];
  if (e === undefined || e === '') return 'auto';
  if (!(PRODUCT_METHODS as readonly string[]).includes(e)) throw new UserError(`HESSIAN_PRODUCT='${e}' is not a product method; use auto, rop or autodiff.`);
  return e as ProductMethod;
}

/** Most float64 values spanOperator's basis may hold (64 MB). */
const SPAN_BASIS_MAX_VALUES = 8 * 1024 * 1024;

export class HessianEngine {
  /** Operator products taken so far (each matvec of any kind counts one). */
  hvpCount = 0;
  readonly lossName: LossName;
  readonly n: number;
  private chunks: Chunk[] = [];
  private disposed = false;
  private readonly front: FrontCache | null;
  private exactCurvature: ExactCurvature | null = null;
  private readonly rop: RopProducts | null;
  /** spanOperator's restrictions per layer, for the weights they were built from */
  private readonly spans = new Map<string, { from: tf.Tensor[]; span: Promise<SpanRestriction | null> }>();
  /** why products use autodiff (null when they use R-op) */
  readonly autodiffReason: string | null;

  constructor(
    readonly model: Model,
    batch: Batch,
    opts: HessianEngineOptions = {},
  ) {
    registerHigherOrderGradients();
    this.lossName = opts.loss ?? 'cross-entropy';
    if (this.lossName !== 'cross-entropy' && this.lossName !== 'mse') {
      throw new UserError(`Unknown loss '${String(this.lossName)}'; use 'cross-entropy' or 'mse'.`);
    }
    const n = batch.shape[0];
    const want = [n, ...model.inputShape];
    if (batch.shape.length !== want.length || batch.shape.some((d, i) => d !== want[i])) {
      throw new UserError(`Batch has shape [${batch.shape.join(', ')}] but model '${model.name}' takes [n, ${model.inputShape.join(', ')}].`);
    }
    if (!(n > 0)) throw new UserError('Batch is empty; give at least one example.');
    if (batch.x.length !== want.reduce((a, b) => a * b, 1)) {
      throw new UserError(`Batch data has ${batch.x.length} values but its shape [${batch.shape.join(', ')}] needs ${want.reduce((a, b) => a * b, 1)}.`);
    }
    if (batch.labels.length !== n) throw new UserError(`Batch has ${n} examples but ${batch.labels.length} labels.`);
    if (batch.numClasses !== model.outputSize) {
      throw new UserError(`Data set has ${batch.numClasses} classes but model '${model.name}' outputs ${model.outputSize} scores; pick a model whose last layer matches the data.`);
    }
    for (let i = 0; i < n; i++) {
      const l = batch.labels[i];
      if (!(l >= 0 && l < batch.numClasses)) throw new UserError(`Label ${l} of example ${i} is outside 0..${batch.numClasses - 1}.`);
    }
    for (let i = 0; i < batch.x.length; i++) {
      if (!Number.isFinite(batch.x[i])) throw new UserError(`Batch input contains a non-finite value at index ${i}.`);
    }
    this.n = n;
    this.front = opts.blockForward === false ? null : new FrontCache(model);
    const method = opts.product ?? productMethodFromEnv();
    if (!PRODUCT_METHODS.includes(method)) throw new UserError(`Unknown product method '${String(method)}'; use 'auto', 'rop' or 'autodiff'.`);
    const rop = method === 'autodiff' ? "product method 'autodiff' was asked for (HESSIAN_PRODUCT or the engine option)" : RopProducts.create(model, this.lossName, n, opts.ropCacheBytes);
    if (typeof rop === 'string' && method === 'rop') throw new UserError(`R-op products are not available for model '${model.name}': ${rop}; use product 'auto' or 'autodiff'.`);
    this.rop = typeof rop === 'string' ? null : rop;
    this.autodiffReason = typeof rop === 'string' ? rop : null;
    const bs = opts.batchSize && opts.batchSize > 0 ? Math.min(Math.floor(opts.batchSize), n) : n;
    const per = model.inputShape.reduce((a, b) => a * b, 1);
    for (let s = 0; s < n; s += bs) {
      const m = Math.min(bs, n - s);
      const x = tf.keep(tf.tensor(batch.x.slice(s * per, (s + m) * per), [m, ...model.inputShape]));
      const y = tf.keep(tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(batch.labels.slice(s, s + m), 'int32'), batch.numClasses), 'float32') as tf.Tensor2D));
      this.chunks.push({ x, y, n: m });
    }
  }

  /** The batch as the engine holds it (micro-batches; loss denominator `n`), for other passes. */
  batchChunks(): readonly { x: tf.Tensor; y: tf.Tensor2D; n: number }[] {
    this.live();
    return this.chunks;
  }

  private live(): void {
    if (this.disposed) throw new Error('HessianEngine has been disposed');
  }

  /** Indices (into model.params) of the tensors of a scope. */
  private scopeTensors(scope: Scope): number[] {
    if (scope.kind === 'full') return this.model.params.map((_, i) => i);
    const groups = this.model.groups(scope.convention);
    const g = groups.find((x) => x.name === scope.group);
    if (!g) {
      throw new UserError(`Layer '${scope.group}' has no trainable ${scope.convention === 'weights-only' ? 'kernel' : 'parameters'} in model '${this.model.name}'; layers with parameters (${scope.convention}): ${groups.map((x) => x.name).join(', ')}.`);
    }
    return g.tensors.map((t) => this.model.params.indexOf(t as ParamTensor));
  }

  scopeDim(scope: Scope): number {
    return this.scopeTensors(scope).reduce((a, i) => a + this.model.params[i].size, 0);
  }

  scopeOffsets(scope: Scope): { offset: number; size: number }[] {
    return this.scopeTensors(scope).map((i) => ({ offset: this.model.params[i].offset, size: this.model.params[i].size }));
  }

  /** Logits of a chunk as a function of all parameters, running only what the scope `idx` needs. */
  private forwardFn(idx: number[], chunk: Chunk): (p: tf.Tensor[]) => tf.Tensor2D {
    const f = this.front?.forwardFn(idx, this.chunks.indexOf(chunk), chunk.x);
    return f ?? ((p: tf.Tensor[]) => this.model.forward(p, chunk.x) as tf.Tensor2D);
  }

  /** Loss of one chunk (its share of the batch mean) as a function of the scope's tensors. */
  private lossFn(idx: number[], chunk: Chunk): (...xs: tf.Tensor[]) => tf.Scalar {
    const base = this.model.paramTensors();
    const forward = this.forwardFn(idx, chunk);
    return (...xs: tf.Tensor[]) => {
      const p = base.slice();
      idx.forEach((pi, k) => (p[pi] = xs[k]));
      return lossSum(this.lossName, forward(p), chunk.y, this.n);
    };
  }

  private logitsFn(idx: number[], chunk: Chunk): (xs: tf.Tensor[]) => tf.Tensor2D {
    const base = this.model.paramTensors();
    const forward = this.forwardFn(idx, chunk);
    return (xs: tf.Tensor[]) => {
      const p = base.slice();
      idx.forEach((pi, k) => (p[pi] = xs[k]));
      return forward(p);
    };
  }

  /** Mean loss (async: webgpu cannot read synchronously in Node). */
  async loss(): Promise<number> {
    this.live();
    let total = 0;
    for (const c of this.chunks) {
      const l = tf.tidy(() => lossSum(this.lossName, this.model.forward(this.model.paramTensors(), c.x) as tf.Tensor2D, c.y, this.n));
      total += (await l.data())[0];
      l.dispose();
    }
    return total;
  }

  /** Flat gradient of the mean loss with respect to all trainable parameters. */
  async gradient(): Promise<Float32Array> {
    this.live();
    const idx = this.scopeTensors({ kind: 'full' });
    const out = new Float64Array(this.model.paramCount);
    for (const c of this.chunks) {
      const flat = tf.tidy(() => {
        const xs = idx.map((i) => this.model.paramTensors()[i]);
        const gs = tf.grads(this.lossFn(idx, c))(xs);
        return tf.concat(gs.map((g) => tf.reshape(g, [-1])));
      });
      const d = await flat.data();
      for (let i = 0; i < d.length; i++) out[i] += d[i];
      flat.dispose();
    }
    return Float32Array.from(out);
  }

  /**
   * The scope's slices of v as tensors. On backends that keep a typed array as a tensor's
   * storage (cpu, native, wasm copies on write) the tensors are views of v: no copy per call.
   */
  private splitVector(v: Float32Array, idx: number[], span?: SpanRestriction): tf.Tensor[] {
    let o = 0;
    return idx.map((i) => {
      const p = this.model.params[i];
      const shape = spanShape(p, span);
      const size = shape.reduce((a, b) => a * b, 1);
      const t = tf.tensor(v.subarray(o, o + size), shape);
      o += size;
      return t;
    });
  }

  /** H v for one chunk, one tensor per scope tensor. */
  private hvpChunk(idx: number[], v: tf.Tensor[], chunk: Chunk): tf.Tensor[] {
    const xs = idx.map((i) => this.model.paramTensors()[i]);
    const f = this.lossFn(idx, chunk);
    const gradDotV = (...ys: tf.Tensor[]): tf.Scalar => {
      const gs = tf.grads(f)(ys);
      return dotAll(gs, v);
    };
    return tf.grads(gradDotV)(xs);
  }

  /** G v = J^T H_out J v for one chunk, one tensor per scope tensor. */
  private gnChunk(idx: number[], v: tf.Tensor[], chunk: Chunk): tf.Tensor[] {
    const xs = idx.map((i) => this.model.paramTensors()[i]);
    const logitsOf = this.logitsFn(idx, chunk);
    // The logits, taken from the forward pass of the first VJP (no separate forward).
    let logits: tf.Tensor2D | undefined;
    // J^T u as a function of u (reverse mode).
    const vjp = (u: tf.Tensor2D): tf.Tensor[] =>
      tf.grads((...ys: tf.Tensor[]) => {
        const l = logitsOf(ys);
        if (!logits) logits = tf.keep(l);
        return tf.sum(tf.mul(l, u)) as tf.Scalar;
      })(xs);
    try {
      // J v = d/du <J^T u, v> (the VJP is linear in u, so u = 0 is as good as any point).
      const jv = tf.grad((u: tf.Tensor) => {
        const g = vjp(u as tf.Tensor2D);
        return dotAll(g, v);
      })(tf.zeros([chunk.n, this.model.outputSize])) as tf.Tensor2D;
      const r = outputHessianProduct(this.lossName, logits as tf.Tensor2D, jv, this.n);
      return vjp(r);
    } finally {
      logits?.dispose();
    }
  }

  /** How this engine computes operator products: 'rop' or 'autodiff' (see `autodiffReason`). */
  get productMethod(): 'rop' | 'autodiff' {
    return this.rop ? 'rop' : 'autodiff';
  }

  /** Bytes the R-op cache holds now (0 with autodiff products). */
  get ropCacheBytes(): number {
    return this.rop?.cacheBytes ?? 0;
  }

  /** Most bytes the R-op cache may hold (0 with autodiff products). */
  get ropCacheLimit(): number {
    return this.rop?.cacheLimit ?? 0;
  }

  private chunkProduct(kind: OperatorKind, idx: number[], vt: tf.Tensor[], c: Chunk, span?: SpanRestriction): tf.Tensor[] {
    const rop = this.rop;
    const k = this.chunks.indexOf(c);
    // spanOperator made sure every chunk's R-op passes are held
    if (span && rop) return rop.chunkProduct(idx, vt, k, c, kind, span);
    // A chunk whose R-op passes do not fit their budget (large models) would recompute the
    // whole forward and backward pass per product: for a layer block the autodiff product over
    // the cached front (only the layers from the block on) is far cheaper (resnet18's fc block:
    // 0.01 s against 1.2 s per product); for the full network R-op still wins.
    if (rop && (this.front === null || idx.length === this.model.params.length || rop.holds(k, c))) return rop.chunkProduct(idx, vt, k, c, kind);
    if (kind === 'hessian') return this.hvpChunk(idx, vt, c);
    if (kind === 'gauss-newton') return this.gnChunk(idx, vt, c);
    const h = this.hvpChunk(idx, vt, c);
    const g = this.gnChunk(idx, vt, c);
    return h.map((t, j) => tf.sub(t, g[j]));
  }

  private async product(kind: OperatorKind, idx: number[], dim: number, v: Float32Array, checkpoint?: () => void, span?: SpanRestriction): Promise<Float32Array> {
    this.live();
    if (v.length !== dim) throw new Error(`matvec: vector has length ${v.length}, operator dimension is ${dim}`);
    const single = this.chunks.length === 1;
    const out = new Float32Array(dim);
    const acc = single ? null : new Float64Array(dim);
    // GPU backends: one concatenated read instead of one per tensor.
    const concat = tf.getBackend() === 'webgpu';
    for (const c of this.chunks) {
      // A product over many micro-batches can take minutes: the caller may stop it between them (throwing).
      checkpoint?.();
      const parts = tf.tidy(() => {
        const vt = this.splitVector(v, idx, span);
        const r = this.chunkProduct(kind, idx, vt, c, span);
        return concat ? [tf.concat(r.map((t) => tf.reshape(t, [-1])))] : r;
      });
      try {
        const data = await Promise.all(parts.map((t) => t.data() as Promise<Float32Array>));
        let o = 0;
        for (const d of data) {
          if (acc) for (let i = 0; i < d.length; i++) acc[o + i] += d[i];
          else out.set(d, o);
          o += d.length;
        }
      } finally {
        tf.dispose(parts);
      }
    }
    if (acc) for (let i = 0; i < dim; i++) out[i] = acc[i];
    this.hvpCount++;
    return out;
  }

  /**
   * The operator of a scope. `checkpoint`, when given, runs before each micro-batch of every
   * product and may throw to abandon the product (a cancelled task); nothing is left allocated.
   */
  operator(kind: OperatorKind, scope: Scope, checkpoint?: () => void): LinearOperator {
    if (kind !== 'hessian' && kind !== 'gauss-newton' && kind !== 'residual') {
      throw new UserError(`Unknown operator '${String(kind)}'; use 'hessian', 'gauss-newton' or 'residual'.`);
    }
    const idx = this.scopeTensors(scope);
    const dim = idx.reduce((a, i) => a + this.model.params[i].size, 0);
    return { dim, matvec: (v: Float32Array) => this.product(kind, idx, dim, v, checkpoint) };
  }

  /**
   * The scope's operator restricted to the span of the rows of a fixed layer input, or null.
   * The loss depends on a Dense kernel W only through x W, and where x (that layer's input over
   * the whole batch, rows [M, width]) does not depend on the scope's parameters, every direction
   * of W orthogonal to x's rows is an exact zero eigenvector of the scope's Hessian, Gauss-Newton
   * and residual: (width - rank) x units of them. The restricted operator (W = U W~, U an
   * orthonormal basis of the rows, products with x U for x) has the same nonzero spectrum in
   * fewer dimensions. Null unless R-op products hold every micro-batch, the scope has such a
   * layer (the first in topological order), and the batch has fewer rows there than the width
   * (the rank is then below it). U depends on the input, so on the weights upstream: the engine
   * keeps x U per layer until the weights change or it is disposed; use an operator with the
   * weights it was made for.
   */
  async spanOperator(kind: OperatorKind, scope: Scope, checkpoint?: () => void): Promise<SpanOperator | null> {
    this.live();
    const rop = this.rop;
    if (!rop) return null;
    const idx = this.scopeTensors(scope);
    const cand = rop.spanCandidate(idx);
    if (!cand || !this.chunks.every((c, k) => rop.holds(k, c))) return null;
    // One basis per layer and weights, shared by every scope and run that asks (the full network
    // and dense1 of an MLP both restrict dense1; a density of 5 runs asks 5 times): 65 ms each for
    // 256 x 784 here. Concurrent callers share the promise.
    const params = this.model.paramTensors();
    let entry = this.spans.get(cand.layer);
    if (!entry || entry.from.length !== params.length || entry.from.some((t, i) => t !== params[i])) {
      void entry?.span.then((sp) => sp && tf.dispose(sp.xU));
      entry = { from: params.slice(), span: this.spanRestriction(cand.layer, cand.dIn) };
      this.spans.set(cand.layer, entry);
    }
    const span = await entry.span;
    if (!span) return null;
    const zeros = (cand.dIn - span.r) * cand.units;
    const dim = idx.reduce((a, i) => a + this.model.params[i].size, 0) - zeros;
    return {
      op: { dim, matvec: (v: Float32Array) => this.product(kind, idx, dim, v, checkpoint, span) },
      zeros,
      layer: cand.layer,
      rank: span.r,
      width: cand.dIn,
    };
  }

  /** x U of every micro-batch for a layer's input (U: an orthonormal basis of its rows), or null where the rows span the width or the basis would pass its cap. */
  private async spanRestriction(layer: string, dIn: number): Promise<SpanRestriction | null> {
    const rop = this.rop as RopProducts;
    const rows = this.chunks.map((c, k) => rop.layerInputRows(layer, k, c, dIn));
    try {
      const total = rows.reduce((a, t) => a + t.shape[0], 0);
      // Fewer rows than the width, and a float64 basis of at most 64 MB (256 rows of a 784-wide
      // input: 1.6 MB; past the cap the products' savings would not pay for building U).
      if (total >= dIn || total * dIn > SPAN_BASIS_MAX_VALUES) return null;
      // An orthonormal basis of the rows: Gram-Schmidt in float64 (DGKS repeats where needed);
      // a row left with 1e-10 of its norm is a combination of the others (rounding).
      const basis: Float64Array[] = [];
      for (const t of rows) {
        const d = (await t.data()) as Float32Array;
        for (let i = 0; i < t.shape[0]; i++) {
          const w = Float64Array.from(d.subarray(i * dIn, (i + 1) * dIn));
          const n0 = norm(w);
          if (!(n0 > 0)) continue;
          const after = reorthogonalize(w, basis).normAfter;
          if (after > 1e-10 * n0) {
            scale(w, 1 / after);
            basis.push(w);
          }
        }
      }
      const r = basis.length;
      if (r === 0 || r >= dIn) return null;
      const u = new Float32Array(dIn * r);
      for (let k = 0; k < r; k++) for (let j = 0; j < dIn; j++) u[j * r + k] = basis[k][j];
      const xU = tf.tidy(() => {
        const ut = tf.tensor2d(u, [dIn, r]);
        return rows.map((t) => tf.keep(tf.matMul(t, ut) as tf.Tensor2D));
      });
      return { layer, r, xU };
    } finally {
      tf.dispose(rows);
    }
  }

  private exact(): ExactCurvature {
    this.live();
    this.exactCurvature ??= new ExactCurvature(this);
    return this.exactCurvature;
  }

  /** Whether the extended backward pass gives this scope's Hessian diagonal and blocks exactly, and why. */
  curvatureVerdict(scope: Scope): ScopeVerdict {
    this.scopeTensors(scope);
    return this.exact().verdict(scope);
  }

  /**
   * Exact diagonal of a scope's operator by backpropagation (exact-curvature.ts); a UserError
   * where it is not exact. `check` runs before each of the pass's backward passes and stops it by
   * throwing (a worker's cancel flag).
   */
  hessianDiagonal(scope: Scope, kind: OperatorKind = 'hessian', check?: () => void): Promise<Float64Array> {
    this.scopeTensors(scope);
    return this.exact().diagonal(scope, kind, check);
  }

  /** Exact dense block of a layer scope's operator by backpropagation; a UserError where it is not exact. `check` as for hessianDiagonal. */
  denseBlock(kind: OperatorKind, scope: Scope, check?: () => void): Promise<Float64Array> {
    this.scopeTensors(scope);
    return this.exact().block(kind, scope, check);
  }

  /** Backward passes of the factor pass taken so far (C per batch chunk and pass). */
  get factorPasses(): number {
    return this.exactCurvature?.passes ?? 0;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.front?.dispose();
    this.rop?.dispose();
    for (const e of this.spans.values()) void e.span.then((sp) => sp && tf.dispose(sp.xU));
    this.spans.clear();
    for (const c of this.chunks) {
      c.x.dispose();
      c.y.dispose();
    }
    this.chunks = [];
  }
}
