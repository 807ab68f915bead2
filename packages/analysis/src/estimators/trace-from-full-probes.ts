/**
 * Every layer's trace from full-network probes (DESIGN §1): with a Rademacher probe v whose
 * components are independent across layers, E[v_l^T (H v)_l] = sum_{i in l} H_ii = Tr(H_ll),
 * since the off-block terms E[v_i v_j] (i in l, j not in l) vanish. So one full-network HVP
 * gives an unbiased sample of every layer's trace at once; its variance also carries the
 * off-block couplings, 2 sum_{i in l, j != i} H_ij^2, so it is reported beside the per-block
 * Hutchinson estimate (hutchinson.ts) for comparison. Tasks are chunks of probes on the full
 * scope, planned once per job (Hessian only, with the Hutchinson trace method); the samples
 * of all chunks are combined in chunk order (no early stopping).
 */
import { summarizeTrace } from '@hessian/linalg';
import { FULL } from '../scope.js';
import type { Estimator, ResultBase, TaskBase } from './types.js';

export interface TraceFromFullProbesTask extends TaskBase {
  kind: 'trace-from-full-probes';
  index: number;
  probes: number;
  /** the layer scopes whose traces are sampled */
  layers: string[];
}

export interface TraceFromFullProbesResult extends ResultBase {
  kind: 'trace-from-full-probes';
  /** samples per layer name */
  samples: Record<string, number[]>;
}

export const traceFromFullProbes: Estimator<TraceFromFullProbesTask, TraceFromFullProbesResult, null> = {
  name: 'trace-from-full-probes',
  method: null,
  fields: { index: { int: [0, 1e7] }, probes: { int: [1, 1e6] }, layers: { names: true } },
  planJob(spec, ctx) {
    const t = spec.trace;
    if (!t?.fromFullProbes || t.method !== 'hutchinson') return [];
    const layers = ctx.scopes.filter((s) => s.kind === 'layer').map((s) => s.name);
    const out = [];
    for (let i = 0, done = 0; done < t.probes && out.length <= (ctx.maxTasks ?? Infinity); i++) {
      const probes = Math.min(t.chunk, t.probes - done);
      out.push({ id: `${FULL}/hessian/trace-layers/${i}`, kind: 'trace-from-full-probes' as const, scope: FULL, operator: 'hessian' as const, index: i, probes, layers, cost: probes });
      done += probes;
    }
    return out;
  },
  async run(task, { op, rng, offsets }) {
    const ranges = task.layers.map((l) => [l, offsets(l)] as const);
    const samples: Record<string, number[]> = Object.fromEntries(task.layers.map((l) => [l, [] as number[]]));
    for (let p = 0; p < task.probes; p++) {
      const v = rng.rademacher(op.dim);
      const hv = await op.matvec(v);
      for (const [layer, parts] of ranges) {
        let s = 0;
        for (const { offset, size } of parts) for (let i = offset; i < offset + size; i++) s += v[i] * hv[i];
        samples[layer].push(s);
      }
    }
    return { samples };
  },
  combine(view) {
    if (view.scope.kind !== 'layer' || view.operator !== 'hessian') return {};
    const all: number[] = [];
    let found = false;
    let hvps = 0;
    for (const t of view.jobTasks) {
      const r = view.result(t.id);
      if (!r) continue;
      hvps += r.hvps;
      const s = r.samples[view.scope.name];
      if (s) {
        found = true;
        all.push(...s);
      }
    }
    if (!found) return {};
    const s = summarizeTrace(all);
    return { traceFromFullProbes: { method: 'full-network-probes', mean: s.mean, stderr: s.stderr, probes: s.probes, hvps } };
  },
};
