/**
 * PlanIndex: a plan's tasks grouped by (estimator, scope, operator), and the ScopeView an
 * estimator's skippable / combine / partial see. Shared by aggregate and the schedulers, so
 * every place that asks an estimator a question shows it the same tasks in the same order.
 */
import { estimatorOf, REGISTRY, type Task, type TaskResult } from './estimators/registry.js';
import type { Estimator, ResultBase, ScopeView, TaskBase } from './estimators/types.js';
import type { Plan } from './plan.js';
import type { OperatorName } from './report.js';
import type { PlannedScope } from './scope.js';
import type { AnalysisSpec } from './spec.js';

const key = (kind: string, scope: string, op: string) => `${kind}\u0000${scope}\u0000${op}`;

export class PlanIndex {
  private groups = new Map<string, Task[]>();
  private jobs = new Map<string, Task[]>();
  private scopes: Map<string, PlannedScope>;

  constructor(
    readonly spec: AnalysisSpec,
    readonly plan: Plan,
  ) {
    this.scopes = new Map(plan.scopes.map((s) => [s.name, s]));
    for (const t of plan.tasks) {
      const k = key(t.kind, t.scope, t.operator);
      this.groups.set(k, [...(this.groups.get(k) ?? []), t]);
      this.jobs.set(t.kind, [...(this.jobs.get(t.kind) ?? []), t]);
    }
  }

  /** What estimator e sees of one scope and operator, with the results known so far. */
  view(e: Estimator<TaskBase, ResultBase>, scope: PlannedScope, operator: OperatorName, results: ReadonlyMap<string, TaskResult>): ScopeView<TaskBase, ResultBase> {
    return {
      spec: this.spec,
      scope,
      operator,
      tasks: this.groups.get(key(e.name, scope.name, operator)) ?? [],
      jobTasks: this.jobs.get(e.name) ?? [],
      result: (id) => {
        const r = results.get(id);
        return r && r.kind === e.name ? r : undefined;
      },
      anyResult: (id) => results.get(id),
    };
  }

  /** The estimator of a task and its view (the task's own scope and operator). */
  private viewOf(t: Task, results: ReadonlyMap<string, TaskResult>) {
    const e = estimatorOf(t.kind);
    const scope = this.scopes.get(t.scope) ?? { name: t.scope, kind: 'layer', className: '', tensors: [], params: 0, depth: null };
    return { e, view: this.view(e, scope, t.operator, results) };
  }

  /** The estimator's early-stopping rule: true when t can no longer change the report. */
  skippable(t: Task, results: ReadonlyMap<string, TaskResult>): boolean {
    const { e, view } = this.viewOf(t, results);
    return e.skippable?.(t, view) ?? false;
  }

  /** A live partial result after t finished (`{scope, operator, ...}`), or null. */
  partial(t: Task, results: ReadonlyMap<string, TaskResult>): object | null {
    const { e, view } = this.viewOf(t, results);
    const p = e.partial?.(t, view) ?? null;
    return p ? { scope: t.scope, operator: t.operator, ...p } : null;
  }

  /** Every registered estimator's view of one scope and operator, in registry order. */
  views(scope: PlannedScope, operator: OperatorName, results: ReadonlyMap<string, TaskResult>) {
    return REGISTRY.map((e) => ({ e, view: this.view(e, scope, operator, results) }));
  }
}
