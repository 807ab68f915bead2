/**
 * Forward passes that only pay for their block. A product restricted to some parameter
 * tensors (a layer block) needs, of the layers that do not depend on them, only their
 * outputs: those are computed once per engine and batch chunk and kept (the "front");
 * each product then runs the dependent layers alone (forward, and so the double
 * backward, through layers l..L). The dependent layers run the same ops on the same
 * values as the whole-network forward, so every product is the same bit for bit.
 *
 * The cache remembers which parameter tensors it was computed from: after
 * `Model.setFlatParams` (new tensors) it is recomputed, never stale.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Model, ModelProgram } from './model.js';
import { ancestors, dependentNodes, evaluate, frontier, logitsOf } from './program.js';

interface Plan {
  live: Set<string>;
  front: string[];
  /** nodes to evaluate for the front */
  frontNodes: Set<string>;
}

interface Front {
  values: Map<string, tf.Tensor>;
  /** the values this cache made (an InputLayer's value is the chunk's own input tensor) */
  owned: tf.Tensor[];
  /** the parameter tensors the values were computed from */
  from: tf.Tensor[];
}

export class FrontCache {
  private readonly program: ModelProgram | null;
  private readonly plans = new Map<string, Plan | null>();
  private readonly fronts = new Map<string, Front>();

  constructor(private readonly model: Model) {
    this.program = model.program ? model.program() : null;
  }

  private plan(idx: number[]): Plan | null {
    const key = idx.join(',');
    let p = this.plans.get(key);
    if (p !== undefined) return p;
    p = null;
    const prog = this.program;
    if (prog) {
      const live = dependentNodes(this.model, prog, idx);
      const front = frontier(prog, live);
      if (!live.has(prog.output)) front.length = 0;
      const frontNodes = ancestors(prog, front, new Set());
      // Nothing to save when the block's layers read the model input only.
      const inputOnly = [...frontNodes].every((n) => prog.layers.find((c) => c.node.name === n)?.node.className === 'InputLayer');
      if (front.length > 0 && !inputOnly) p = { live, front, frontNodes };
    }
    this.plans.set(key, p);
    return p;
  }

  private frontOf(plan: Plan, key: string, x: tf.Tensor): Map<string, tf.Tensor> {
    const prog = this.program as ModelProgram;
    const params = this.model.paramTensors();
    const have = this.fronts.get(key);
    if (have && have.from.length === params.length && have.from.every((t, i) => t === params[i])) return have.values;
    if (have) tf.dispose(have.owned);
    const kept = tf.tidy(() => {
      const vals = evaluate(prog, params, { known: new Map([[prog.input, x]]), only: plan.frontNodes });
      return plan.front.map((n) => (n === prog.input ? x : (vals.get(n) as tf.Tensor)));
    });
    const values = new Map<string, tf.Tensor>();
    const owned: tf.Tensor[] = [];
    plan.front.forEach((n, k) => {
      // the input belongs to the engine's chunk (an InputLayer passes it on): never disposed here
      if (n === prog.input) return;
      values.set(n, kept[k]);
      if (kept[k] !== x) owned.push(tf.keep(kept[k]));
    });
    this.fronts.set(key, { values, owned, from: params.slice() });
    return values;
  }

  /**
   * Logits as a function of all parameter tensors (only those in `idx` may differ from
   * the model's), for the batch chunk `x` (identified by `chunk`); null when no layer can
   * be skipped (then use Model.forward).
   */
  forwardFn(idx: number[], chunk: number, x: tf.Tensor): ((params: tf.Tensor[]) => tf.Tensor2D) | null {
    const plan = this.plan(idx);
    if (!plan) return null;
    const prog = this.program as ModelProgram;
    const front = this.frontOf(plan, `${idx.join(',')}@${chunk}`, x);
    return (params: tf.Tensor[]) => {
      const known = new Map(front);
      known.set(prog.input, x);
      const vals = evaluate(prog, params, { known, only: plan.live });
      return logitsOf(this.model, prog, vals, x.shape[0]);
    };
  }

  dispose(): void {
    for (const f of this.fronts.values()) tf.dispose(f.owned);
    this.fronts.clear();
  }
}
