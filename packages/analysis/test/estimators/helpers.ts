/**
 * The estimators' test bed: a ComputeContext over a dense (or diagonal) matrix with a known
 * spectrum, split into named "layers" (contiguous index ranges), and a runner that takes one
 * estimator through plan -> executeTask -> combine exactly as plan / aggregate do.
 */
import type { OperatorKind, ParamGroup, Scope } from '@hessian/engine';
import { deriveSeed, type LinearOperator } from '@hessian/linalg';
import {
  executeTask,
  FULL,
  normalizeSpec,
  type ComputeContext,
  type Estimator,
  type PartialSpec,
  type PlannedScope,
  type ReportFields,
  type ResultBase,
  type ScopeView,
  type Task,
  type TaskBase,
  type TaskResult,
} from '../../src/index.js';

/** Layers as [name, size] in order; the full operator is `op`, a layer's operator is its diagonal block. */
export function denseContext(op: LinearOperator & { block?: (lo: number, hi: number) => LinearOperator }, layers: [string, number][]): { compute: ComputeContext; groups: ParamGroup[] } {
  let offset = 0;
  const groups: ParamGroup[] = layers.map(([name, size]) => {
    const g = { name, className: 'Dense', size, tensors: [{ name: `${name}/kernel`, offset, size }] };
    offset += size;
    return g;
  });
  const range = (s: Scope) => {
    if (s.kind === 'full') return { lo: 0, hi: op.dim };
    const g = groups.find((x) => x.name === s.group)!;
    return { lo: g.tensors[0].offset, hi: g.tensors[0].offset + g.size };
  };
  const compute: ComputeContext = {
    operator: (_kind: OperatorKind, s: Scope) => {
      const { lo, hi } = range(s);
      if (lo === 0 && hi === op.dim) return op;
      // The diagonal block: embed, multiply, restrict.
      return {
        dim: hi - lo,
        matvec: async (v: Float32Array) => {
          const x = new Float32Array(op.dim);
          x.set(v, lo);
          return (await op.matvec(x)).slice(lo, hi);
        },
      };
    },
    scopeOffsets: (s: Scope) => {
      const { lo, hi } = range(s);
      return [{ offset: lo, size: hi - lo }];
    },
  };
  return { compute, groups };
}

export function scopesOf(groups: ParamGroup[]): PlannedScope[] {
  const total = groups.reduce((a, g) => a + g.size, 0);
  return [
    { name: FULL, kind: 'full', className: 'Model', tensors: groups.flatMap((g) => g.tensors.map((t) => t.name)), params: total, depth: null },
    ...groups.map((g, i) => ({ name: g.name, kind: 'layer' as const, className: g.className, tensors: g.tensors.map((t) => t.name), params: g.size, depth: i / Math.max(1, groups.length - 1) })),
  ];
}

export interface EstimatorRun {
  tasks: Task[];
  results: Map<string, TaskResult>;
  /** The estimator's view of a scope (hessian operator) over the results. */
  view(scope: string): ScopeView<TaskBase, ResultBase>;
  /** combine() of a scope. */
  fields(scope: string): ReportFields;
}

/** Plans (per scope, or per job), runs every task on the dense context and returns views on the results. */
export async function runEstimator(e: Estimator<TaskBase, ResultBase>, partial: Omit<PartialSpec, 'model'>, ctx: { compute: ComputeContext; groups: ParamGroup[] }, only?: string[]): Promise<EstimatorRun> {
  // The stochastic estimators on their own: exact blocks (exact-block.ts) only where a test asks.
  // (and Hutchinson, not the default 'auto', unless a test names the trace method).
  const trace = partial.trace ? { method: 'hutchinson' as const, ...partial.trace } : partial.trace;
  const spec = normalizeSpec({ model: 'dense', exactMax: 0, ...partial, trace });
  const scopes = scopesOf(ctx.groups);
  const planCtx = { spec, groups: ctx.groups, scopes, operators: ['hessian' as const] };
  const drafts = [...scopes.flatMap((s) => e.planScope?.(spec, s, { ...planCtx, operator: 'hessian' }) ?? []), ...(e.planJob?.(spec, planCtx) ?? [])];
  const tasks = drafts.map((d) => ({ ...d, seed: deriveSeed(spec.seed, d.id) }) as Task).filter((t) => !only || only.includes(t.scope));
  const results = new Map<string, TaskResult>();
  for (const t of tasks) results.set(t.id, await executeTask(t, ctx.compute, 'layer'));
  const view = (name: string): ScopeView<TaskBase, ResultBase> => ({
    spec,
    scope: scopes.find((s) => s.name === name)!,
    operator: 'hessian',
    tasks: tasks.filter((t) => t.scope === name),
    jobTasks: tasks,
    result: (id) => results.get(id),
    anyResult: (id) => results.get(id),
  });
  return { tasks, results, view, fields: (name) => e.combine(view(name)) };
}
