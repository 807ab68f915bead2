/**
 * The estimator registry: plan, executeTask, aggregate, the schedulers and the spec's method
 * names all dispatch on this list. Adding an estimator is one module beside this file, its
 * dense-matrix test under test/estimators/, and one line here. Order matters: it is the order
 * of tasks within a scope (and so of scheduling) and of the report fields each fills.
 */
import { UserError } from '@hessian/linalg';
import { exactBlock } from './exact-block.js';
import { exactDiagonal, traceAuto } from './exact-diagonal.js';
import { hutchPlusPlus } from './hutch-plus-plus.js';
import { hutchinson } from './hutchinson.js';
import { lanczosTopK } from './lanczos-top-k.js';
import { powerIteration } from './power-iteration.js';
import { slqDensity } from './slq-density.js';
import { traceFromFullProbes } from './trace-from-full-probes.js';
import type { Estimator, MethodTag, ResultBase, TaskBase } from './types.js';

// exact-block first: a scope it covers gets every quantity from it (the others plan nothing there).
export const ESTIMATORS = [exactBlock, traceAuto, exactDiagonal, lanczosTopK, powerIteration, hutchinson, hutchPlusPlus, slqDensity, traceFromFullProbes] as const;

type Entry = (typeof ESTIMATORS)[number];
type TaskOf<E> = E extends Estimator<infer T, infer _R, infer _M> ? T : never;
type ResultOf<E> = E extends Estimator<infer _T, infer R, infer _M> ? R : never;
type MethodOfEntry<E, Q> = E extends Estimator<infer _T, infer _R, infer M> ? (M extends { quantity: Q; name: infer N } ? N : never) : never;

/** Every task any registered estimator plans (discriminated by `kind`, the estimator's name). */
export type Task = TaskOf<Entry>;
/** Every result any registered estimator returns (discriminated by `kind`). */
export type TaskResult = ResultOf<Entry>;
/** The method names of a quantity, e.g. MethodName<'trace'> = 'hutchinson' | 'hutch++'. */
export type MethodName<Q extends MethodTag['quantity']> = MethodOfEntry<Entry, Q>;

const byName = new Map<string, Estimator<TaskBase, ResultBase>>(ESTIMATORS.map((e) => [e.name, e as Estimator<TaskBase, ResultBase>]));

/** The estimator of a task or result kind; an unknown kind is a UserError (e.g. a task from a newer planner). */
export function estimatorOf(kind: string): Estimator<TaskBase, ResultBase> {
  const e = byName.get(kind);
  if (!e) throw new UserError(`task: unknown estimator "${kind}"; this build knows ${[...byName.keys()].join(', ')}`, 'INVALID_ARGUMENT');
  return e;
}

/** The method names of a quantity in registry order (what the spec accepts, e.g. for --trace-method). */
export function methodNames<Q extends MethodTag['quantity']>(quantity: Q): MethodName<Q>[] {
  return ESTIMATORS.flatMap((e) => (e.method && e.method.quantity === quantity ? [e.method.name as MethodName<Q>] : []));
}

/** The registry as one list of estimators over the common task and result types (for dispatch loops). */
export const REGISTRY: readonly Estimator<TaskBase, ResultBase>[] = ESTIMATORS;
