/**
 * Hessian and Gauss-Newton products by Pearlmutter's R-operator, with first-order kernels
 * only (rules in rop-rules.ts). The autodiff product (hessian.ts) re-runs the forward and
 * backward passes for every vector and then differentiates the backward graph; here the
 * v-independent quantities (every layer's input, pre-activation, phi'(z), phi''(z),
 * pooling argmax, and the backward signals dL/dy, dL/dz) are computed once per batch
 * chunk and weights and kept, and each product runs one R-forward from the scope's first
 * layer (R{x} = 0 below it) and one R-backward down to it:
 *   R{dL/dlogits} = H_out R{logits}   (outputHessianProduct, closed form)
 * Micro-batches: each chunk's loss is its sum over the whole batch size, so chunk products
 * add up exactly as the autodiff ones do.
 *
 * The cache remembers the parameter tensors it was computed from (like FrontCache): after
 * `Model.setFlatParams` (HTR training steps) it is recomputed, never stale. It is bounded
 * (it holds every chunk's activations, where the autodiff product holds one chunk's at a
 * time): when a chunk's kept tensors would take the total over HESSIAN_ROP_CACHE_MB
 * or the engine's `ropCacheBytes`, the lower (default 512 MB; 256 examples keep 2.7 MB for mlp, 37 MB for lenet, 273 MB for
 * resnet-mini), that chunk is not kept: a full-network product recomputes its passes (still
 * cheaper than double backprop), a layer block's goes to the autodiff product over the cached
 * front (hessian.ts), which runs only the layers from the block on.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CompiledLayer } from './layers.js';
import type { LossName } from './losses.js';
import { outputHessianProduct } from './losses.js';
import type { Model, ModelProgram, ParamTensor } from './model.js';
import { dependentNodes } from './program.js';
import { ropRule, type LayerV, type RopRule, type Saved } from './rop-rules.js';

export interface RopChunk {
  x: tf.Tensor;
  y: tf.Tensor2D;
  n: number;
}

interface ChunkCache {
  saved: Map<string, Saved>;
  /** dL/dy of each node that needs it, dL/dz of affine layers */
  gy: Map<string, tf.Tensor>;
  gz: Map<string, tf.Tensor>;
  logits: tf.Tensor2D;
  /** softmax(logits) for cross-entropy (every product's H_out needs it) */
  probs: tf.Tensor2D | null;
  tensors: tf.Tensor[];
  bytes: number;
}

interface Plan {
  live: Set<string>;
  /** scope tensors of each live layer: layer -> [role, position in idx] */
  roles: Map<string, [string, number][]>;
}

/**
 * A Dense kernel of the scope whose input does not depend on the scope's parameters, with the
 * products restricted to the span of that input's rows (engine `spanOperator`): the kernel's
 * part of the vector is U^T W (r x units) and the rules see x U in place of x.
 */
export interface SpanRestriction {
  layer: string;
  /** rank of the input rows (U's columns) */
  r: number;
  /** x U of each chunk, rows [M_c, r] */
  xU: tf.Tensor2D[];
}

/** A parameter's shape in a restricted product's vector: the restricted kernel is r x units. */
export function spanShape(p: ParamTensor, span: SpanRestriction | undefined): number[] {
  return span && p.layer === span.layer && p.role === 'kernel' ? [span.r, p.shape[1]] : p.shape;
}

/** HESSIAN_ROP_CACHE_MB (default 512) in bytes, lowered to `cap` when the caller has a tighter budget. */
function cacheBudgetBytes(cap: number): number {
  const raw = process.env['HESSIAN_ROP_CACHE_MB'];
  const mb = raw ? Number(raw) : NaN;
  return Math.min(cap, (Number.isFinite(mb) && mb >= 0 ? mb : 512) * 1024 * 1024);
}

export class RopProducts {
  private readonly program: ModelProgram;
  private readonly rules = new Map<string, RopRule>();
  private readonly layers: readonly CompiledLayer[];
  /** every node that depends on some parameter: where the backward signals are needed */
  private readonly paramLive: Set<string>;
  private readonly plans = new Map<string, Plan>();
  private readonly caches = new Map<number, ChunkCache>();
  /** chunks whose passes did not fit the budget (for these weights): not tried again per product */
  private readonly overBudget = new Set<number>();
  private from: tf.Tensor[] = [];
  private cachedBytes = 0;

  private constructor(
    private readonly model: Model,
    program: ModelProgram,
    private readonly loss: LossName,
    private readonly total: number,
    private readonly cacheCap: number,
  ) {
    this.program = program;
    this.layers = program.layers;
    const shapes = new Map<string, number[]>([[program.input, model.inputShape]]);
    for (const c of program.layers) shapes.set(c.node.name, c.outShape);
    for (const c of program.layers) {
      const r = ropRule(c, shapes.get(c.node.inbound[0] ?? program.input) ?? model.inputShape);
      if (typeof r === 'string') throw new Error(r);
      this.rules.set(c.node.name, r);
    }
    this.paramLive = dependentNodes(model, program, model.params.map((_, i) => i));
  }

  /** R-op products for the model, or why not (a sentence). */
  static create(model: Model, loss: LossName, total: number, cacheCap = Infinity): RopProducts | string {
    if (!model.program) return `model '${model.name}' does not expose its layers (R-op products need an interpreted model)`;
    if (loss !== 'cross-entropy' && loss !== 'mse') return `loss '${String(loss)}' has no closed-form output Hessian`;
    try {
      return new RopProducts(model, model.program(), loss, total, cacheCap);
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  }

  private plan(idx: number[]): Plan {
    const key = idx.join(',');
    let p = this.plans.get(key);
    if (p) return p;
    const live = dependentNodes(this.model, this.program, idx);
    const roles = new Map<string, [string, number][]>();
    idx.forEach((pi, k) => {
      const t = this.model.params[pi];
      const list = roles.get(t.layer) ?? [];
      list.push([t.role, k]);
      roles.set(t.layer, list);
    });
    p = { live, roles };
    this.plans.set(key, p);
    return p;
  }

  private weightGetter(name: string, params: tf.Tensor[]): (role: string) => tf.Tensor {
    return (role) => this.program.weight(name, role, params);
  }

  /** dL/dlogits of the chunk's share of the mean loss (`probs`: softmax(logits), cross-entropy). */
  private logitGradient(logits: tf.Tensor2D, y: tf.Tensor2D, probs: tf.Tensor2D | null): tf.Tensor2D {
    // probs is null exactly for MSE (passes() computes it for cross-entropy)
    if (!probs) return tf.mul(tf.sub(logits, y), 2 / (this.total * logits.shape[1])) as tf.Tensor2D;
    return tf.div(tf.sub(probs, y), this.total) as tf.Tensor2D;
  }

  /** The v-independent passes of one chunk: forward (what the rules keep) and the backward signals. Inside tf.tidy. */
  private passes(chunk: RopChunk): Omit<ChunkCache, 'tensors' | 'bytes'> {
    const params = this.model.paramTensors();
    const vals = new Map<string, tf.Tensor>([[this.program.input, chunk.x]]);
    const saved = new Map<string, Saved>();
    for (const c of this.layers) {
      const name = c.node.name;
      if (vals.has(name)) continue;
      const x = c.node.inbound.map((n) => vals.get(n) as tf.Tensor);
      const s = (this.rules.get(name) as RopRule).forward(x, this.weightGetter(name, params), true);
      saved.set(name, s);
      vals.set(name, s.y);
    }
    const out = vals.get(this.program.output) as tf.Tensor;
    const logits = (out.rank === 2 ? out : tf.reshape(out, [chunk.n, this.model.outputSize])) as tf.Tensor2D;
    const probs = this.loss === 'cross-entropy' ? (tf.softmax(logits) as tf.Tensor2D) : null;
    const gy = new Map<string, tf.Tensor>([[this.program.output, tf.reshape(this.logitGradient(logits, chunk.y, probs), out.shape)]]);
    const gz = new Map<string, tf.Tensor>();
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const c = this.layers[i];
      const name = c.node.name;
      const g = gy.get(name);
      const s = saved.get(name);
      if (!g || !s || !this.paramLive.has(name)) continue;
      const want = c.node.inbound.map((n) => this.paramLive.has(n));
      const b = (this.rules.get(name) as RopRule).backward(s, g, this.weightGetter(name, params), want);
      if (b.gz) gz.set(name, b.gz);
      c.node.inbound.forEach((n, k) => {
        const gx = b.gx[k];
        if (!gx) return;
        const old = gy.get(n);
        gy.set(n, old ? tf.add(old, gx) : gx);
      });
    }
    return { saved, gy, gz, logits, probs };
  }

  private parametersChanged(): boolean {
    const params = this.model.paramTensors();
    return !(this.from.length === params.length && this.from.every((t, i) => t === params[i]));
  }

  /** The chunk's cached passes (computed now if missing or stale), or null when over the memory budget. */
  private cached(k: number, chunk: RopChunk): ChunkCache | null {
    if (this.parametersChanged()) {
      this.clear();
      this.from = this.model.paramTensors().slice();
    }
    const have = this.caches.get(k);
    if (have) return have;
    if (this.overBudget.has(k)) return null;
    const { result, tensors } = keepAll(() => this.passes(chunk), [chunk.x]);
    const bytes = tensors.reduce((a, t) => a + 4 * t.size, 0);
    if (this.cachedBytes + bytes > cacheBudgetBytes(this.cacheCap)) {
      // Once per chunk and weights: trying again at every product computed the passes twice.
      tf.dispose(tensors);
      this.overBudget.add(k);
      return null;
    }
    const c = { ...result, tensors, bytes };
    this.caches.set(k, c);
    this.cachedBytes += bytes;
    return c;
  }

  /**
   * The scope's Dense layer whose kernel is in the scope and whose input is fixed for it (no
   * scope parameter upstream), the first in topological order: its name, input width and units;
   * null when there is none.
   */
  spanCandidate(idx: number[]): { layer: string; dIn: number; units: number } | null {
    const plan = this.plan(idx);
    for (const c of this.layers) {
      const name = c.node.name;
      const roles = plan.roles.get(name);
      if (!roles || c.node.className !== 'Dense' || c.node.inbound.length !== 1 || plan.live.has(c.node.inbound[0])) continue;
      const kernel = this.model.params.find((p) => p.layer === name && p.role === 'kernel');
      if (!kernel || kernel.shape.length !== 2 || !roles.some(([role]) => role === 'kernel')) continue;
      return { layer: name, dIn: kernel.shape[0], units: kernel.shape[1] };
    }
    return null;
  }

  /** A layer's input of a cached chunk as rows [-1, dIn] (the chunk must be held). */
  layerInputRows(layer: string, k: number, chunk: RopChunk, dIn: number): tf.Tensor2D {
    const c = this.cached(k, chunk);
    if (!c) throw new Error(`layerInputRows: chunk ${k} is not cached`);
    // a new tensor (the caller disposes it) over the cached input's data
    return tf.reshape((c.saved.get(layer) as Saved).x[0], [-1, dIn]) as tf.Tensor2D;
  }

  /** Whether the chunk's passes are (now) cached; false when they do not fit the budget. */
  holds(k: number, chunk: RopChunk): boolean {
    return this.cached(k, chunk) !== null;
  }

  /**
   * H v, G v or (H - G) v for one chunk, one tensor per scope tensor (idx order); `v` are the
   * scope's slices of the vector. The residual shares one R-forward between its two
   * R-backward passes. Call inside tf.tidy.
   */
  chunkProduct(idx: number[], v: tf.Tensor[], k: number, chunk: RopChunk, kind: 'hessian' | 'gauss-newton' | 'residual', span?: SpanRestriction): tf.Tensor[] {
    const c0 = this.cached(k, chunk) ?? this.passes(chunk);
    // Restricted to the span of a layer's input: its rules see x U (rows [M, r]) for x. The
    // R-passes use x only with the layer's own V and in R{g_K} = x^T R{delta}, both of which
    // become the reduced ones; its input's R{x} is zero (the input is fixed for the scope).
    const c = span ? { ...c0, saved: new Map(c0.saved).set(span.layer, { ...(c0.saved.get(span.layer) as Saved), x: [span.xU[k]] }) } : c0;
    const plan = this.plan(idx);
    const params = this.model.paramTensors();
    const vOf = new Map<string, LayerV>();
    for (const [layer, list] of plan.roles) vOf.set(layer, new Map(list.map(([role, pos]) => [role, v[pos]])));
    // R-forward through the layers that depend on the scope (the same for H and G).
    const rOut = new Map<string, tf.Tensor | null>();
    const rz = new Map<string, tf.Tensor | null>();
    for (const l of this.layers) {
      const name = l.node.name;
      if (!plan.live.has(name)) continue;
      const rx = l.node.inbound.map((n) => rOut.get(n) ?? null);
      const f = (this.rules.get(name) as RopRule).rForward(c.saved.get(name) as Saved, rx, this.weightGetter(name, params), vOf.get(name));
      rOut.set(name, f.ry);
      rz.set(name, f.rz ?? null);
    }
    const out = this.program.output;
    const rLogits = rOut.get(out) ?? null;
    const rgOut = rLogits
      ? tf.reshape(outputHessianProduct(this.loss, c.logits, (rLogits.rank === 2 ? rLogits : tf.reshape(rLogits, [chunk.n, this.model.outputSize])) as tf.Tensor2D, this.total, c.probs ?? undefined), rLogits.shape)
      : null;
    // R-backward down to the scope's first layer.
    const backward = (gn: boolean): tf.Tensor[] => {
      const grads = new Map<string, tf.Tensor>();
      const rgy = new Map<string, tf.Tensor>();
      if (rgOut) rgy.set(out, rgOut);
      for (let i = this.layers.length - 1; i >= 0; i--) {
        const l = this.layers[i];
        const name = l.node.name;
        const rg = rgy.get(name);
        if (!plan.live.has(name) || !rg) continue;
        const b = (this.rules.get(name) as RopRule).rBackward(
          c.saved.get(name) as Saved,
          {
            gy: c.gy.get(name) as tf.Tensor,
            gz: c.gz.get(name),
            rx: l.node.inbound.map((n) => rOut.get(n) ?? null),
            rz: rz.get(name) ?? null,
            rgy: rg,
            wantX: l.node.inbound.map((n) => plan.live.has(n)),
            roles: (plan.roles.get(name) ?? []).map(([role]) => role),
            gn,
          },
          this.weightGetter(name, params),
          vOf.get(name),
        );
        for (const [role, t] of b.rgw) grads.set(`${name}/${role}`, t);
        l.node.inbound.forEach((n, j) => {
          const g = b.rgx[j];
          if (!g) return;
          const old = rgy.get(n);
          rgy.set(n, old ? tf.add(old, g) : g);
        });
      }
      return idx.map((pi) => {
        const p = this.model.params[pi];
        const g = grads.get(`${p.layer}/${p.role}`);
        const shape = spanShape(p, span);
        return g ? tf.reshape(g, shape) : tf.zeros(shape);
      });
    };
    if (kind !== 'residual') return backward(kind === 'gauss-newton');
    const h = backward(false);
    const g = backward(true);
    return h.map((t, j) => tf.sub(t, g[j]));
  }

  /** Most bytes the cache may hold. */
  get cacheLimit(): number {
    return cacheBudgetBytes(this.cacheCap);
  }

  /** Bytes the cache holds now. */
  get cacheBytes(): number {
    return this.cachedBytes;
  }

  private clear(): void {
    for (const c of this.caches.values()) tf.dispose(c.tensors);
    this.caches.clear();
    this.overBudget.clear();
    this.cachedBytes = 0;
  }

  dispose(): void {
    this.clear();
    this.from = [];
  }
}

/**
 * Runs f in a tidy scope and keeps every tensor its result holds (Saved records, maps),
 * except `foreign` ones (the chunk's input); returns them for disposal.
 */
function keepAll<T extends Omit<ChunkCache, 'tensors' | 'bytes'>>(f: () => T, foreign: tf.Tensor[]): { result: T; tensors: tf.Tensor[] } {
  let result: T | undefined;
  const list: tf.Tensor[] = [];
  tf.tidy(() => {
    result = f();
    const seen = new Set<number>(foreign.map((t) => t.id));
    const add = (t: tf.Tensor | null | undefined): void => {
      if (!t || seen.has(t.id)) return;
      seen.add(t.id);
      list.push(tf.keep(t));
    };
    for (const s of result.saved.values()) {
      s.x.forEach(add);
      [s.y, s.z, s.d1, s.d2, s.aux].forEach(add);
    }
    [...result.gy.values(), ...result.gz.values(), result.logits, result.probs].forEach(add);
  });
  return { result: result as T, tensors: list };
}
