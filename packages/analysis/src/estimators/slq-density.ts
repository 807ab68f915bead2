/**
 * The eigenvalue spectral density by stochastic Lanczos quadrature (Lin, Saad, Yang, "Approximating
 * spectral densities of large matrices", SIAM Review 2016; Ghorbani, Krishnan, Xiao, ICML 2019;
 * Papyan 2019): m Lanczos steps from a normalized random start q give the m-point Gauss
 * quadrature of q's spectral measure (nodes = Ritz values, weights = squared first components
 * of the Ritz vectors); with E[(q . u_j)^2] = 1/n, the average over runs estimates
 * (1/n) sum_j delta(x - lambda_j). One task per run; the runs are merged and smoothed with a
 * Gaussian kernel (preset papyan or pyhessian) on a grid.
 *
 * The first run also reports the top-k eigenvalues when the spec asks for Lanczos top-k
 * (`topFromSlq`): its Lanczos process is the one a top-k run would make (from another random
 * start), its top Ritz values converge first, and its basis is kept anyway, so the top-k costs
 * k products (the true residuals) instead of a run of its own (lanczos-top-k.ts uses them, and
 * runs its own only where they did not reach the tolerance).
 */
import type { SpanOperator } from '@hessian/engine';
import { mergeRuns, slqRun, smoothDensity, type LinearOperator, type Rng, type SlqRun } from '@hessian/linalg';
import type { PlannedScope } from '../scope.js';
import type { AnalysisSpec } from '../spec.js';
import { lanczosModeFor, modeNote } from '../budget.js';
import type { DensityReport, OperatorName } from '../report.js';
import type { Estimator, Fields, ResultBase, TaskBase } from './types.js';
import { exactDecision } from './exact-rule.js';
import { taskOperator, topWithZeros } from './span.js';

export interface SlqDensityTask extends TaskBase {
  kind: 'slq-density';
  /** run number within the scope and operator */
  index: number;
  steps: number;
  /** Run 0 only, where `topFromSlq` applies: also report this many top eigenvalues ... */
  topK?: number;
  /** ... each converged when its Ritz residual estimate is at most topTol x |theta|. */
  topTol?: number;
}

/** The top-k eigenvalues of an SLQ run (a top-k Lanczos result's numbers, from the run's own process). */
export interface SlqTop {
  eigenvalues: number[];
  /** true residuals ||A x - theta x|| of the unit Ritz vectors (one product each) */
  residuals: number[];
  converged: boolean;
  /** the run's Lanczos steps */
  iterations: number;
  /** products spent on the top-k beyond the run's own steps (the residual checks) */
  hvps: number;
}

export interface SlqDensityResult extends ResultBase {
  kind: 'slq-density';
  nodes: number[];
  weights: number[];
  steps: number;
  /** The Lanczos mode when not the default full/float32 (memory budget), e.g. 'local/float64'. */
  lanczos?: string;
  /** Where the run was restricted to the span of a fixed Dense input: that layer, its input's rank and width, and the exact zero eigenvalues left out (their weight is in `nodes`/`weights` as a node at 0). */
  span?: { layer: string; rank: number; width: number; zeros: number };
  /** Run 0 with `topK`: its top-k Ritz pairs (absent where the mode kept no basis: 'local'). */
  top?: SlqTop;
}

/**
 * Where the top-k of a scope comes from its first SLQ run rather than a Lanczos run of its own:
 * Lanczos top-k and a density both asked, and the run long enough for the top Ritz values to
 * have converged as a top-k run's would (at least 2k + 20 steps, or the whole space).
 */
export function topFromSlq(spec: AnalysisSpec, scope: PlannedScope, _operator: OperatorName): { k: number; tol: number } | null {
  const t = spec.topK;
  const d = spec.density;
  if (!t || t.method !== 'lanczos' || !d || d.runs < 1) return null;
  const k = Math.min(t.k, scope.params);
  const steps = Math.min(d.steps, scope.params);
  return steps >= Math.min(scope.params, 2 * k + 20) ? { k, tol: t.tol } : null;
}

/** The id of a scope's first SLQ run (the one that may carry the top-k). */
export const firstRunId = (scope: string, operator: OperatorName): string => `${scope}/${operator}/density/0`;

/**
 * One SLQ run on `op`: the scope's operator, or its restriction to the span of a fixed input
 * (`span`), whose quadrature is then the restricted operator's scaled by its share of the
 * dimensions plus a node at 0 carrying the exact zeros' share (`dim` is the scope's).
 */
async function runOn(task: SlqDensityTask, op: LinearOperator, dim: number, span: SpanOperator | null, rng: Rng, available: number, taskId: string): Promise<Fields<SlqDensityResult>> {
  // A full basis in float32 unless the memory budget asks for less (budget.ts), kept
  // semi-orthogonal by partial reorthogonalization: the quadrature of full reorthogonalization
  // (linalg's partial.ts) for about half of its sweeps over the basis, each of half the bytes.
  // With a top-k to report, its k float64 Ritz vectors count in the budget too.
  const c = lanczosModeFor('density', op.dim, task.steps, task.topK ?? 0, available, taskId);
  const top = task.topK ? { k: task.topK, tol: task.topTol ?? 1e-3 } : undefined;
  const r = await slqRun(op, { steps: task.steps, rng, basis: c.storage, reorth: c.mode === 'local' ? 'local' : 'partial', window: c.window, top });
  const out: Fields<SlqDensityResult> = { nodes: r.nodes, weights: r.weights, steps: r.steps, ...modeNote(c, 'density') };
  if (span && span.zeros > 0) {
    const share = op.dim / dim;
    out.nodes = [...r.nodes, 0];
    out.weights = [...r.weights.map((w) => w * share), span.zeros / dim];
    out.span = { layer: span.layer, rank: span.rank, width: span.width, zeros: span.zeros };
  }
  if (r.top) {
    out.top = { eigenvalues: r.top.eigenvalues, residuals: r.top.residuals, converged: r.top.converged, iterations: r.top.iterations, hvps: r.top.matvecs };
    // The largest eigenvalues of the scope's operator include the exact zeros left out where
    // the restricted operator's are below 0.
    if (span) Object.assign(out.top, topWithZeros(r.top.eigenvalues, r.top.residuals, span.zeros));
  }
  return out;
}

export const slqDensity: Estimator<SlqDensityTask, SlqDensityResult, null> = {
  name: 'slq-density',
  method: null,
  fields: { index: { int: [0, 10000] }, steps: { int: [1, 100000] }, topK: { int: [1, 1000], optional: true }, topTol: { positive: true, optional: true } },
  planScope(spec, scope, ctx) {
    const d = spec.density;
    if (!d || exactDecision(spec, scope, ctx.operator).exact) return [];
    const steps = Math.min(d.steps, scope.params);
    const top = topFromSlq(spec, scope, ctx.operator);
    return Array.from({ length: d.runs }, (_, i) => ({
      id: `${scope.name}/${ctx.operator}/density/${i}`, kind: 'slq-density' as const, scope: scope.name, operator: ctx.operator, index: i, steps,
      ...(i === 0 && top ? { topK: top.k, topTol: top.tol, cost: steps + top.k } : { cost: steps }),
    }));
  },
  async run(task, ctx) {
    // Where the scope has a Dense layer with a fixed input of rank below its width (fewer rows
    // than inputs), Lanczos runs on the span of that input (engine spanOperator): the same
    // nonzero spectrum in fewer dimensions; the directions left out are exact zero eigenvalues,
    // added below as a node at 0 with their share of the weight.
    const { op, span } = await taskOperator(task, ctx);
    return runOn(task, op, ctx.op.dim, span, ctx.rng, ctx.available, ctx.taskId);
  },
  combine(view) {
    const d = view.spec.density;
    const runs: SlqRun[] = [];
    let hvps = 0;
    let span: SlqDensityResult['span'];
    for (const t of view.tasks) {
      const r = view.result(t.id);
      if (r) {
        runs.push({ nodes: r.nodes, weights: r.weights, steps: r.steps, matvecs: r.hvps });
        hvps += r.hvps;
        span ??= r.span;
      }
    }
    if (!d || runs.length === 0) return {};
    const s = smoothDensity(runs, { preset: d.preset, gridPoints: d.gridPoints });
    const m = mergeRuns(runs);
    const density: DensityReport = {
      preset: d.preset,
      runs: runs.length,
      steps: Math.max(...runs.map((r) => r.steps)),
      sigma: s.sigma,
      grid: s.grid,
      density: s.density,
      logDensity: s.logDensity ?? s.density.map((x) => Math.log10(Math.max(x, 1e-12))),
      nodes: m.nodes,
      weights: m.weights,
      hvps,
      ...(span ? { exactZeros: { count: span.zeros, layer: span.layer, rank: span.rank, width: span.width } } : {}),
    };
    return { density };
  },
  partial: (task, view) => {
    const top = view.result(task.id)?.top;
    return top?.converged ? { top: { values: top.eigenvalues, residuals: top.residuals } } : null;
  },
};
