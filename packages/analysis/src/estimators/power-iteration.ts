/**
 * Top-k eigenvalues by power iteration with deflation, PyHessian's `hessian.eigenvalues`
 * (Yao, Gholami, Keutzer, Mahoney, "PyHessian: Neural Networks Through the Lens of the
 * Hessian", IEEE BigData 2020): for each of k eigenvalues, v <- A v / ||A v|| from a Gaussian
 * start, orthogonalized against the vectors already found, estimate v^T A v, stop when it
 * changes by less than tol relative (PyHessian's rule) or after maxIter iterations. Finds
 * eigenvalues of largest magnitude; converges at the rate |lambda_{i+1} / lambda_i|. The
 * compatibility mode of `--preset pyhessian`; Lanczos (lanczos-top-k.ts) is the default.
 */
import { powerIteration as power } from '@hessian/linalg';
import { topPartial, topReport, type TopKResult, type TopKTask } from './lanczos-top-k.js';
import type { Estimator } from './types.js';
import { exactDecision } from './exact-rule.js';

export type PowerIterationTask = TopKTask<'power-iteration', 'power'>;
export type PowerIterationResult = TopKResult<'power-iteration', 'power'>;

export const powerIteration: Estimator<PowerIterationTask, PowerIterationResult, { quantity: 'topK'; name: 'power' }> = {
  name: 'power-iteration',
  method: { quantity: 'topK', name: 'power' },
  fields: { k: { int: [1, 1000] }, method: { oneOf: ['power'] }, tol: { positive: true }, maxIter: { int: [1, 100000] } },
  planScope(spec, scope, ctx) {
    const t = spec.topK;
    if (!t || t.method !== 'power' || exactDecision(spec, scope, ctx.operator).exact) return [];
    const k = Math.min(t.k, scope.params);
    return [{ id: `${scope.name}/${ctx.operator}/top-k`, kind: 'power-iteration', scope: scope.name, operator: ctx.operator, k, method: 'power', tol: t.tol, maxIter: t.maxIter, cost: t.k * t.maxIter }];
  },
  async run(task, { op, rng }) {
    const r = await power(op, { k: task.k, rng, tol: task.tol, maxIter: task.maxIter });
    return { method: 'power', eigenvalues: r.eigenvalues, residuals: r.residuals, converged: r.converged, iterations: r.iterations };
  },
  combine: (view) => topReport(view.tasks[0] && view.result(view.tasks[0].id)),
  partial: (task, view) => topPartial(view.result(task.id)),
};
