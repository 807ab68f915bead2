/**
 * execute: one task on a ComputeContext -> a small result (scalars, Ritz values, quadrature
 * nodes). The task's estimator (registry) does the work; vectors stay here. The same function
 * runs in the CLI's process, in its worker threads, in the cluster's workers and, for the
 * data-parallel scope, in the coordinator on a distributed operator.
 */
import type { Convention } from '@hessian/engine';
import { CountingOperator, Rng, type LinearOperator } from '@hessian/linalg';
import type { ComputeContext } from './compute.js';
import { estimatorOf, type Task, type TaskResult } from './estimators/registry.js';
import { scopeOf } from './scope.js';

export { scopeOf } from './scope.js';
export type { TaskResult } from './estimators/registry.js';

/**
 * `memory.available`: bytes the task's own vectors may take (the worker's budget less the
 * engine); Lanczos estimators choose their mode by it (budget.ts). Unbounded by default.
 */
export async function executeTask(task: Task, compute: ComputeContext, convention: Convention, memory: { available: number } = { available: Infinity }): Promise<TaskResult> {
  const e = estimatorOf(task.kind);
  const t0 = performance.now();
  const op = new CountingOperator(compute.operator(task.operator, scopeOf(task.scope, convention)));
  const scope = (name: string) => scopeOf(name, convention);
  const counted = (inner: LinearOperator): LinearOperator => ({
    dim: inner.dim,
    matvec: (v: Float32Array) => {
      op.count++;
      return inner.matvec(v);
    },
  });
  const fields = await e.run(task, { op, rng: new Rng(task.seed), compute, scope, offsets: (name) => compute.scopeOffsets(scope(name)), available: memory.available, taskId: task.id, counted });
  return { id: task.id, kind: task.kind, hvps: op.count, seconds: (performance.now() - t0) / 1000, ...fields } as TaskResult;
}
