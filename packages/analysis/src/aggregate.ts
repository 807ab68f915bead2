/**
 * aggregate: task results -> Report. Pure: the same results give the same report
 * wherever and in whatever order they were computed (results are looked up by task id
 * and combined in plan order). Each estimator fills its own report fields (combine);
 * aggregate adds the per-operator totals and the layer-to-full ESD similarity.
 */
import { jensenShannon, wasserstein1 } from '@hessian/linalg';
import type { TaskResult } from './estimators/registry.js';
import type { Plan } from './plan.js';
import { PlanIndex } from './plan-index.js';
import { REPORT_SCHEMA, type DensityReport, type OperatorReport, type Report, type ScopeReport } from './report.js';
import { describeMethods } from './estimators/exact-rule.js';
import { FULL } from './scope.js';
import type { AnalysisSpec } from './spec.js';

export interface RunMeta {
  tool: { name: string; version: string };
  model: Report['model'];
  data: Report['data'];
  backend: string;
  /** how the engine computed Hessian products ('R-op' or 'autodiff (why)'), when known */
  products?: string;
  lossValue: number;
  workers: number;
  seconds: number;
  createdAt?: string;
}

export function aggregate(spec: AnalysisSpec, plan: Plan, results: ReadonlyMap<string, TaskResult>, meta: RunMeta): Report {
  const index = new PlanIndex(spec, plan);
  let hvps = 0;
  let tasksRun = 0;
  for (const t of plan.tasks) {
    const r = results.get(t.id);
    if (r) {
      hvps += r.hvps;
      tasksRun++;
    }
  }

  const reports = plan.scopes.map((scope) =>
    plan.operators.map((op) => {
      const rep: OperatorReport = { operator: op, hvps: 0, seconds: 0 };
      for (const t of plan.tasks) {
        if (t.scope !== scope.name || t.operator !== op) continue;
        const r = results.get(t.id);
        if (r) {
          rep.hvps += r.hvps;
          rep.seconds += r.seconds;
        }
      }
      for (const { e, view } of index.views(scope, op, results)) Object.assign(rep, e.combine(view));
      rep.methods = describeMethods(spec, scope, op, rep);
      return rep;
    }),
  );

  const fullAt = plan.scopes.findIndex((s) => s.name === FULL);
  const scopes: ScopeReport[] = plan.scopes.map((scope, si) => {
    const operators = reports[si];
    if (spec.similarity && scope.kind === 'layer' && fullAt >= 0)
      operators.forEach((rep, oi) => {
        const full = reports[fullAt][oi].density;
        if (rep.density && full) rep.similarity = similarity(rep.density, full);
      });
    return { name: scope.name, kind: scope.kind, className: scope.className, tensors: scope.tensors, params: scope.params, depth: scope.depth, operators };
  });

  return {
    schema: REPORT_SCHEMA,
    createdAt: meta.createdAt ?? new Date().toISOString(),
    tool: meta.tool,
    spec,
    model: meta.model,
    ...(plan.parameters ? { parameters: plan.parameters } : {}),
    data: meta.data,
    loss: spec.loss,
    convention: spec.convention,
    backend: meta.backend,
    ...(meta.products ? { products: meta.products } : {}),
    lossValue: meta.lossValue,
    scopes,
    totals: { hvps, tasks: tasksRun, seconds: meta.seconds, workers: meta.workers },
  };
}

/** Distance of a layer's ESD to the full network's: Wasserstein-1 of the quadrature measures, Jensen-Shannon of the smoothed densities. */
function similarity(layer: DensityReport, full: DensityReport) {
  const asDensity = (d: DensityReport) => ({ grid: d.grid, density: d.density, sigma: d.sigma, runs: d.runs, preset: d.preset });
  return {
    wasserstein1: wasserstein1({ nodes: layer.nodes, weights: layer.weights }, { nodes: full.nodes, weights: full.weights }),
    jensenShannon: jensenShannon(asDensity(layer), asDensity(full)),
  };
}
