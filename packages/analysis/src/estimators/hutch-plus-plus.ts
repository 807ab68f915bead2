/**
 * The trace by Hutch++ (Meyer, Musco, Musco, Woodruff, "Hutch++: Optimal Stochastic Trace
 * Estimation", SOSA 2021): with a budget of m products, a third sketch the top eigenspace,
 * Q = orth(A S); tr(Q^T A Q) is taken exactly and Hutchinson runs only on the deflated
 * remainder (I - QQ^T) A (I - QQ^T). For spectra with a few large outliers over a small bulk
 * (Hessians) the remainder's Frobenius norm is far smaller, so the error falls like 1/m instead
 * of 1/sqrt(m). One task per scope and operator (the sketch cannot be split); the reported
 * standard error is that of the Hutchinson part, conditional on the sketch. With
 * `--trace-target` the Hutchinson part stops once that standard error is at most the target
 * times the estimate (adaptive stopping; the products used are the task's hvps).
 */
import { hutchPlusPlus as hpp, UserError } from '@hessian/linalg';
import type { Estimator, ResultBase, TaskBase } from './types.js';
import { exactDecision } from './exact-rule.js';

export interface HutchPlusPlusTask extends TaskBase {
  kind: 'hutch++';
  matvecs: number;
  /** relative standard error at which the Hutchinson part stops (0: the whole budget) */
  target: number;
}

export interface HutchPlusPlusResult extends ResultBase {
  kind: 'hutch++';
  mean: number;
  stderr: number;
  probes: number;
}

export const hutchPlusPlus: Estimator<HutchPlusPlusTask, HutchPlusPlusResult, { quantity: 'trace'; name: 'hutch++' }> = {
  name: 'hutch++',
  method: { quantity: 'trace', name: 'hutch++' },
  fields: { matvecs: { int: [3, 1e7] }, target: { fraction: true } },
  checkSpec(spec) {
    if (spec.trace?.method === 'hutch++' && spec.trace.probes < 3) throw new UserError('trace-probes: must be at least 3 for hutch++ (its budget is split in three)', 'INVALID_ARGUMENT');
  },
  planScope(spec, scope, ctx) {
    const t = spec.trace;
    if (!t || t.method !== 'hutch++' || exactDecision(spec, scope, ctx.operator).exact) return [];
    return [{ id: `${scope.name}/${ctx.operator}/hutch++`, kind: 'hutch++', scope: scope.name, operator: ctx.operator, matvecs: t.probes, target: t.targetRelStderr, cost: t.probes }];
  },
  async run(task, { op, rng }) {
    const r = await hpp(op, { rng, matvecs: task.matvecs, targetRelStderr: task.target || undefined });
    return { mean: r.mean, stderr: r.stderr, probes: r.probes };
  },
  combine(view) {
    const r = view.tasks[0] && view.result(view.tasks[0].id);
    return r ? { trace: { method: 'hutch++', mean: r.mean, stderr: r.stderr, probes: r.probes, hvps: r.hvps } } : {};
  },
  partial(task, view) {
    const r = view.result(task.id);
    return r ? { trace: { mean: r.mean, stderr: r.stderr, probes: r.probes }, final: true } : null;
  },
};
