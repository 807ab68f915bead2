/**
 * The Estimator interface: one module per method (in the spirit of tfjs's kernel registry and
 * curvlinops' one file per estimator). An estimator says
 *   - how it plans tasks (`planScope` per scope and operator, or `planJob` for tasks that span
 *     scopes), each a small independent unit with its own seed;
 *   - how it runs one task on a ComputeContext (`run`), returning small numbers;
 *   - when a planned task is no longer needed (`skippable`, its early-stopping rule);
 *   - how its results become report fields (`combine`) and live partial results (`partial`).
 * plan, executeTask, aggregate, the schedulers and the spec's method names dispatch on the
 * registry (registry.ts), so an estimator is one file, its test and one registry line.
 */
import type { ParamGroup, Scope } from '@hessian/engine';
import type { LinearOperator, Rng } from '@hessian/linalg';
import type { ComputeContext, ParamRange } from '../compute.js';
import type { FieldRules } from './fields.js';
import type { OperatorName, OperatorReport } from '../report.js';
import type { PlannedScope } from '../scope.js';
import type { AnalysisSpec } from '../spec.js';

/** What every task carries. `kind` is the name of the estimator that planned it. */
export interface TaskBase {
  /** Unique within the job, stable: "<scope>/<operator>/<what>[/<index>]"; the seed derives from it. */
  id: string;
  kind: string;
  scope: string;
  operator: OperatorName;
  seed: number;
  /** Expected operator products, for progress and ETA only. */
  cost: number;
}

/** What every task result carries (added by executeTask around the estimator's own fields). */
export interface ResultBase {
  id: string;
  kind: string;
  hvps: number;
  seconds: number;
}

/** A task as an estimator plans it: plan adds the seed from (job seed, task id). */
export type Draft<T extends TaskBase> = Omit<T, 'seed'>;

/** A result as an estimator computes it: executeTask adds id, kind, hvps and seconds. */
export type Fields<R extends ResultBase> = Omit<R, keyof ResultBase>;

/**
 * What planning knows. Extension point: options that shape or bound a plan (a memory budget,
 * a task limit) are added here as optional fields and passed through `plan`'s options.
 */
export interface PlanContext {
  readonly spec: AnalysisSpec;
  /** Every parameter group of the model, in model order (not only the selected layers). */
  readonly groups: readonly ParamGroup[];
  /** The plan's scopes in report order: `full` first (when asked), then the selected layers. */
  readonly scopes: readonly PlannedScope[];
  /** Operators analyzed in every scope, in report order. */
  readonly operators: readonly OperatorName[];
  /**
   * The per-job task limit (HESSIAN_MAX_TASKS): an estimator that plans many tasks per scope
   * stops after this many (plan refuses the job), so a huge spec never builds millions of tasks.
   */
  readonly maxTasks?: number;
}

/** Planning one scope under one operator. */
export interface ScopePlanContext extends PlanContext {
  readonly operator: OperatorName;
}

/** What a task runs with. */
export interface RunContext {
  /** The task's operator on its scope, counting products (its count becomes the result's `hvps`). */
  readonly op: LinearOperator;
  /** Seeded from the task's seed: the only source of randomness. */
  readonly rng: Rng;
  /** The machine's capabilities beyond `op` (other scopes' offsets, optional exact kernels). */
  readonly compute: ComputeContext;
  /** The engine Scope of a scope name under the job's convention. */
  scope(name: string): Scope;
  /** Shorthand for compute.scopeOffsets(scope(name)). */
  offsets(name: string): ParamRange[];
  /** Bytes this task's own vectors may take (memory budget less the engine; Infinity: unbounded). */
  readonly available: number;
  /** Another operator whose products count in the result's `hvps` as `op`'s do (e.g. compute.spanOperator's). */
  counted(inner: LinearOperator): LinearOperator;
  /** The task's id, for messages. */
  readonly taskId: string;
}

/** An estimator's own tasks of one (scope, operator) in plan order, and the results so far. */
export interface ScopeView<T extends TaskBase, R extends ResultBase> {
  readonly spec: AnalysisSpec;
  readonly scope: PlannedScope;
  readonly operator: OperatorName;
  /** This estimator's tasks of this scope and operator, in plan order. */
  readonly tasks: readonly T[];
  /** This estimator's tasks in the whole plan, in plan order (for estimators that span scopes). */
  readonly jobTasks: readonly T[];
  /** The result of a task when it has finished (undefined otherwise). */
  result(id: string): R | undefined;
  /**
   * The result of any estimator's task (undefined until it has finished): for an estimator that
   * uses what another computed on the way (top-k from the SLQ run's Ritz values).
   */
  anyResult(id: string): ResultBase | undefined;
}

/** Report fields an estimator may fill; merged into the OperatorReport in registry order. */
export type ReportFields = Partial<Pick<OperatorReport, 'top' | 'trace' | 'traceFromFullProbes' | 'density'>>;

/** Which spec choice selects an estimator (`--eig-method lanczos`, `--trace-method hutch++`). */
export interface MethodTag {
  readonly quantity: 'topK' | 'trace';
  readonly name: string;
}

/**
 * One estimator. Members use method syntax on purpose: a registry holds estimators of
 * different task types as `Estimator<TaskBase, ResultBase>` (method parameters are bivariant).
 */
export interface Estimator<T extends TaskBase, R extends ResultBase, M extends MethodTag | null = MethodTag | null> {
  /** The registry key, the `kind` of its tasks and results. Named after the method. */
  readonly name: T['kind'];
  /** The spec choice that selects it, or null when a flag or a quantity does. */
  readonly method: M;
  /** Rules of its tasks' own fields (beyond TaskBase), checked by parseTask where tasks arrive over the network. */
  readonly fields: FieldRules;
  /** Refuses a normalized spec it cannot run, with a UserError naming the field (normalizeSpec calls it). */
  checkSpec?(spec: AnalysisSpec): void;
  /** Tasks for one scope and operator, in order (called for every scope x operator). */
  planScope?(spec: AnalysisSpec, scope: PlannedScope, ctx: ScopePlanContext): Draft<T>[];
  /** Tasks that span scopes, planned once after every per-scope task. */
  planJob?(spec: AnalysisSpec, ctx: PlanContext): Draft<T>[];
  /** Runs one task; vectors stay here, only small numbers come back. */
  run(task: T, ctx: RunContext): Promise<Fields<R>>;
  /** Early stopping: true when a planned task can no longer change the report. */
  skippable?(task: T, view: ScopeView<T, R>): boolean;
  /** The report fields of one scope and operator (called for every scope x operator). */
  combine(view: ScopeView<T, R>): ReportFields;
  /** A live partial result after `task` finished (coordinator events), or null. */
  partial?(task: T, view: ScopeView<T, R>): object | null;
}
