/**
 * The trace by Hutchinson's estimator (Hutchinson, "A stochastic estimator of the trace of the
 * influence matrix for Laplacian smoothing splines", Commun. Stat. Simul. Comput. 1989): for
 * Rademacher probes v (E[v v^T] = I), E[v^T A v] = tr A, with variance 2 sum_{i != j} A_ij^2.
 * The probe budget is cut into chunks (one task each, the unit of distribution); the estimate
 * is the mean of the samples of the shortest prefix of chunks whose standard error reaches
 * `--trace-target` (relative), else of all chunks. Because the prefix is fixed by chunk order,
 * chunks run past it (or skipped) never change a number, wherever and in whatever order they ran.
 */
import { summarizeTrace, traceSamples, traceTargetReached } from '@hessian/linalg';
import type { TraceReport } from '../report.js';
import type { Estimator, ResultBase, ScopeView, TaskBase } from './types.js';
import { exactDecision } from './exact-rule.js';

export interface HutchinsonTask extends TaskBase {
  kind: 'hutchinson';
  /** chunk number within the scope and operator */
  index: number;
  probes: number;
}

export interface HutchinsonResult extends ResultBase {
  kind: 'hutchinson';
  samples: number[];
}

/** Minimum probes before a target relative standard error may stop a trace estimate. */
export const MIN_TRACE_PROBES = 10;

/**
 * How many leading chunks count: the shortest prefix whose samples meet linalg's
 * traceTargetReached (stderr <= target * |mean|, at least MIN_TRACE_PROBES samples), else all. Used by the
 * schedulers (to skip chunks not needed) and by combine (to use exactly that prefix).
 * `chunks[i]` is the samples of chunk i, or undefined when not (yet) computed.
 */
export function traceChunksUsed(chunks: (number[] | undefined)[], target: number): { used: number; satisfied: boolean } {
  const prefix: number[] = [];
  for (let i = 0; i < chunks.length; i++) {
    const c = chunks[i];
    if (c === undefined) return { used: i, satisfied: false };
    prefix.push(...c);
    if (target > 0 && traceTargetReached(prefix, target, MIN_TRACE_PROBES)) return { used: i + 1, satisfied: true };
  }
  return { used: chunks.length, satisfied: false };
}

function chunksOf(view: ScopeView<HutchinsonTask, HutchinsonResult>): (number[] | undefined)[] {
  return view.tasks.map((t) => view.result(t.id)?.samples);
}

const targetOf = (view: ScopeView<HutchinsonTask, HutchinsonResult>) => view.spec.trace?.targetRelStderr ?? 0;

export const hutchinson: Estimator<HutchinsonTask, HutchinsonResult, { quantity: 'trace'; name: 'hutchinson' }> = {
  name: 'hutchinson',
  method: { quantity: 'trace', name: 'hutchinson' },
  fields: { index: { int: [0, 1e7] }, probes: { int: [1, 1e6] } },
  planScope(spec, scope, ctx) {
    const t = spec.trace;
    if (!t || t.method !== 'hutchinson' || exactDecision(spec, scope, ctx.operator).exact) return [];
    const out = [];
    for (let i = 0, done = 0; done < t.probes && out.length <= (ctx.maxTasks ?? Infinity); i++) {
      const probes = Math.min(t.chunk, t.probes - done);
      out.push({ id: `${scope.name}/${ctx.operator}/trace/${i}`, kind: 'hutchinson' as const, scope: scope.name, operator: ctx.operator, index: i, probes, cost: probes });
      done += probes;
    }
    return out;
  },
  async run(task, { op, rng }) {
    return { samples: await traceSamples(op, { probes: task.probes, rng }) };
  },
  skippable(task, view) {
    const target = targetOf(view);
    if (target <= 0) return false;
    const { used, satisfied } = traceChunksUsed(chunksOf(view), target);
    return satisfied && task.index >= used;
  },
  combine(view) {
    if (view.tasks.length === 0) return {};
    const chunks = chunksOf(view);
    const { used } = traceChunksUsed(chunks, targetOf(view));
    if (used === 0) return {};
    const s = summarizeTrace(chunks.slice(0, used).flat() as number[]);
    const hvps = view.tasks.slice(0, used).reduce((a, t) => a + (view.result(t.id)?.hvps ?? 0), 0);
    const trace: TraceReport = { method: 'hutchinson', mean: s.mean, stderr: s.stderr, probes: s.probes, hvps };
    return { trace };
  },
  partial(_task, view) {
    const chunks = chunksOf(view);
    const { used, satisfied } = traceChunksUsed(chunks, targetOf(view));
    const samples = chunks.slice(0, used).flatMap((c) => c ?? []);
    if (samples.length === 0) return null;
    const s = summarizeTrace(samples);
    return { trace: { mean: s.mean, stderr: s.stderr, probes: s.probes }, final: satisfied || used === chunks.length };
  },
};
