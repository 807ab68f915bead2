/**
 * The eigenvalue spectral density by stochastic Lanczos quadrature (Lin, Saad, Yang, "Approximating
 * spectral densities of large matrices", SIAM Review 2016; Ghorbani, Krishnan, Xiao, ICML 2019;
 * Papyan 2019): m Lanczos steps from a normalized random start q give the m-point Gauss
 * quadrature of q's spectral measure (nodes = Ritz values, weights = squared first components
 * of the Ritz vectors); with E[(q . u_j)^2] = 1/n, the average over runs estimates
 * (1/n) sum_j delta(x - lambda_j). One task per run; the runs are merged and smoothed with a
 * Gaussian kernel (preset papyan or pyhessian) on a grid.
 */
import { mergeRuns, slqRun, smoothDensity, type SlqRun } from '@hessian/linalg';
import { lanczosModeFor, modeNote } from '../budget.js';
import type { DensityReport } from '../report.js';
import type { Estimator, ResultBase, TaskBase } from './types.js';
import { exactDecision } from './exact-rule.js';

export interface SlqDensityTask extends TaskBase {
  kind: 'slq-density';
  /** run number within the scope and operator */
  index: number;
  steps: number;
}

export interface SlqDensityResult extends ResultBase {
  kind: 'slq-density';
  nodes: number[];
  weights: number[];
  steps: number;
  /** The Lanczos mode when not the default full/float32 (memory budget), e.g. 'local/float64'. */
  lanczos?: string;
}

export const slqDensity: Estimator<SlqDensityTask, SlqDensityResult, null> = {
  name: 'slq-density',
  method: null,
  fields: { index: { int: [0, 10000] }, steps: { int: [1, 100000] } },
  planScope(spec, scope, ctx) {
    const d = spec.density;
    if (!d || exactDecision(spec, scope, ctx.operator).exact) return [];
    const steps = Math.min(d.steps, scope.params);
    return Array.from({ length: d.runs }, (_, i) => ({ id: `${scope.name}/${ctx.operator}/density/${i}`, kind: 'slq-density' as const, scope: scope.name, operator: ctx.operator, index: i, steps, cost: steps }));
  },
  async run(task, { op, rng, available, taskId }) {
    // A full basis in float32 unless the memory budget asks for less (budget.ts), kept
    // semi-orthogonal by partial reorthogonalization: the quadrature of full reorthogonalization
    // (linalg's partial.ts) for about half of its sweeps over the basis, each of half the bytes.
    const c = lanczosModeFor('density', op.dim, task.steps, 0, available, taskId);
    const r = await slqRun(op, { steps: task.steps, rng, basis: c.storage, reorth: c.mode === 'local' ? 'local' : 'partial', window: c.window });
    return { nodes: r.nodes, weights: r.weights, steps: r.steps, ...modeNote(c, 'density') };
  },
  combine(view) {
    const d = view.spec.density;
    const runs: SlqRun[] = [];
    let hvps = 0;
    for (const t of view.tasks) {
      const r = view.result(t.id);
      if (r) {
        runs.push({ nodes: r.nodes, weights: r.weights, steps: r.steps, matvecs: r.hvps });
        hvps += r.hvps;
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
    };
    return { density };
  },
};
