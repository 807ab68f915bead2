/**
 * Top-k eigenvalues by Lanczos with full reorthogonalization (Lanczos 1950; Golub & Van Loan,
 * Matrix Computations, ch. 10). m steps build an orthonormal Krylov basis Q_m of
 * span{q, Aq, ..., A^{m-1} q} and the tridiagonal T_m = Q_m^T A Q_m; the Ritz values of T_m
 * converge to the extreme eigenvalues first. It stops once each of the top k Ritz pairs has a
 * relative residual ||A x - theta x|| / |theta| below `tol`, or after `maxIter` steps. One
 * task per scope and operator; every value carries its true residual (one product each).
 *
 * Where the scope also has an SLQ density (`topFromSlq`), its first run reports the top-k from
 * its own Lanczos process for k products; the task here is then planned last in the job
 * (planJob) as a fallback, skipped once that run's top-k has converged, and run only where it
 * has not. The report takes the SLQ run's values whenever they converged, whichever finished
 * first, so it does not depend on the number of workers or the order tasks ran in.
 */
import { topEigenvalues } from '@hessian/linalg';
import { lanczosModeFor, modeNote } from '../budget.js';
import { taskOperator, topWithZeros } from './span.js';
import type { EigenReport, OperatorName } from '../report.js';
import type { Draft, Estimator, ResultBase, ScopeView, TaskBase } from './types.js';
import { exactDecision } from './exact-rule.js';
import { firstRunId, topFromSlq, type SlqDensityResult, type SlqTop } from './slq-density.js';
import type { PlannedScope } from '../scope.js';
import type { AnalysisSpec } from '../spec.js';

export interface TopKTask<K extends string, M extends 'lanczos' | 'power'> extends TaskBase {
  kind: K;
  k: number;
  method: M;
  tol: number;
  maxIter: number;
}

export interface TopKResult<K extends string, M extends 'lanczos' | 'power'> extends ResultBase {
  kind: K;
  /** The Lanczos mode when not the default full/float64 (memory budget), e.g. 'thick-restart/float32/basis 26'. */
  lanczos?: string;
  method: M;
  eigenvalues: number[];
  residuals: number[];
  converged: boolean;
  iterations: number;
}

export type LanczosTopKTask = TopKTask<'lanczos-top-k', 'lanczos'>;
export type LanczosTopKResult = TopKResult<'lanczos-top-k', 'lanczos'>;

/** The report's `top` from a top-k result (shared by both top-k estimators). */
export function topReport(r: TopKResult<string, 'lanczos' | 'power'> | undefined): { top?: EigenReport } {
  return r ? { top: { method: r.method, values: r.eigenvalues, residuals: r.residuals, converged: r.converged, iterations: r.iterations, hvps: r.hvps } } : {};
}

/** The live partial of a top-k result (shared by both top-k estimators). */
export function topPartial(r: TopKResult<string, 'lanczos' | 'power'> | undefined): object | null {
  return r ? { top: { values: r.eigenvalues, residuals: r.residuals } } : null;
}

function task(spec: AnalysisSpec, scope: PlannedScope, operator: OperatorName): Draft<LanczosTopKTask> {
  const t = spec.topK!;
  const k = Math.min(t.k, scope.params);
  return { id: `${scope.name}/${operator}/top-k`, kind: 'lanczos-top-k', scope: scope.name, operator, k, method: 'lanczos', tol: t.tol, maxIter: t.maxIter, cost: Math.min(t.maxIter, scope.params) + t.k };
}

const planned = (spec: AnalysisSpec, scope: PlannedScope, operator: OperatorName): boolean =>
  spec.topK?.method === 'lanczos' && !exactDecision(spec, scope, operator).exact;

/** The top-k the scope's first SLQ run reported, when it did. */
function fromSlq(view: ScopeView<LanczosTopKTask, LanczosTopKResult>): SlqTop | undefined {
  const r = view.anyResult(firstRunId(view.scope.name, view.operator));
  return r?.kind === 'slq-density' ? (r as SlqDensityResult).top : undefined;
}

const slqReport = (s: SlqTop): { top: EigenReport } => ({
  top: { method: 'lanczos', from: 'slq', values: s.eigenvalues, residuals: s.residuals, converged: s.converged, iterations: s.iterations, hvps: s.hvps },
});

export const lanczosTopK: Estimator<LanczosTopKTask, LanczosTopKResult, { quantity: 'topK'; name: 'lanczos' }> = {
  name: 'lanczos-top-k',
  method: { quantity: 'topK', name: 'lanczos' },
  fields: { k: { int: [1, 1000] }, method: { oneOf: ['lanczos'] }, tol: { positive: true }, maxIter: { int: [1, 100000] } },
  planScope(spec, scope, ctx) {
    return planned(spec, scope, ctx.operator) && !topFromSlq(spec, scope, ctx.operator) ? [task(spec, scope, ctx.operator)] : [];
  },
  planJob(spec, ctx) {
    // The fallbacks of scopes whose first SLQ run reports the top-k: last, so that run is done first.
    return ctx.scopes.flatMap((scope) => ctx.operators.flatMap((op) => (planned(spec, scope, op) && topFromSlq(spec, scope, op) ? [task(spec, scope, op)] : [])));
  },
  skippable: (_task, view) => fromSlq(view)?.converged === true,
  async run(task, ctx) {
    const { rng, available, taskId } = ctx;
    // On the span of a fixed Dense input where the scope has one (engine spanOperator): the same
    // nonzero eigenvalues in fewer dimensions; the exact zeros left out join the top where the
    // restricted ones are negative.
    const { op, span } = await taskOperator(task, ctx);
    // The most accurate basis that fits the memory budget (full float64 unless it does not fit).
    const c = lanczosModeFor('top-k', op.dim, task.maxIter, task.k, available, taskId);
    const r = await topEigenvalues(op, { k: Math.min(task.k, op.dim), rng, tol: task.tol, maxSteps: Math.min(task.maxIter, op.dim), basis: c.storage, maxBasis: c.maxBasis });
    const top = topWithZeros(r.eigenvalues, r.residuals, span?.zeros ?? 0, task.k);
    return { method: 'lanczos', eigenvalues: top.eigenvalues, residuals: top.residuals, converged: r.converged, iterations: r.iterations, ...modeNote(c) };
  },
  combine(view) {
    const s = fromSlq(view);
    return s?.converged ? slqReport(s) : topReport(view.tasks[0] && view.result(view.tasks[0].id));
  },
  partial: (task, view) => topPartial(view.result(task.id)),
};
