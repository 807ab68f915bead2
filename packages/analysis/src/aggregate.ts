/**
 * aggregate: task results -> Report. Pure: the same results give the same report
 * wherever and in whatever order they were computed (results are looked up by task id
 * and combined in plan order).
 */
import { jensenShannon, mergeRuns, smoothDensity, summarizeTrace, wasserstein1, type SlqRun } from '@hessian/linalg';
import type { TaskResult } from './execute.js';
import { FULL, traceChunksUsed, type Plan, type Task } from './plan.js';
import {
  REPORT_SCHEMA,
  type DensityReport,
  type OperatorName,
  type OperatorReport,
  type Report,
  type ScopeReport,
  type TraceReport,
} from './report.js';
import type { AnalysisSpec } from './spec.js';

export interface RunMeta {
  tool: { name: string; version: string };
  model: Report['model'];
  data: Report['data'];
  backend: string;
  lossValue: number;
  workers: number;
  seconds: number;
  createdAt?: string;
}

type ResultOf<K extends TaskResult['kind']> = Extract<TaskResult, { kind: K }>;

export function aggregate(spec: AnalysisSpec, plan: Plan, results: Map<string, TaskResult>, meta: RunMeta): Report {
  const get = <K extends TaskResult['kind']>(t: Task, kind: K): ResultOf<K> | undefined => {
    const r = results.get(t.id);
    return r && r.kind === kind ? (r as ResultOf<K>) : undefined;
  };
  const tasksOf = (scope: string, op: OperatorName) => plan.tasks.filter((t) => t.scope === scope && t.operator === op);
  let hvps = 0;
  let tasksRun = 0;
  for (const t of plan.tasks) {
    const r = results.get(t.id);
    if (r) {
      hvps += r.hvps;
      tasksRun++;
    }
  }

  const densityRuns = new Map<string, SlqRun[]>();
  const densities = new Map<string, DensityReport>();
  const key = (scope: string, op: OperatorName) => `${scope}\u0000${op}`;
  for (const scope of plan.scopes)
    for (const op of plan.operators) {
      const runs: SlqRun[] = [];
      let dHvps = 0;
      for (const t of tasksOf(scope.name, op)) {
        const r = t.kind === 'density-run' ? get(t, 'density-run') : undefined;
        if (r) {
          runs.push({ nodes: r.nodes, weights: r.weights, steps: r.steps, matvecs: r.hvps });
          dHvps += r.hvps;
        }
      }
      if (spec.density && runs.length > 0) {
        const d = smoothDensity(runs, { preset: spec.density.preset, gridPoints: spec.density.gridPoints });
        const m = mergeRuns(runs);
        densityRuns.set(key(scope.name, op), runs);
        densities.set(key(scope.name, op), {
          preset: spec.density.preset,
          runs: runs.length,
          steps: Math.max(...runs.map((r) => r.steps)),
          sigma: d.sigma,
          grid: d.grid,
          density: d.density,
          logDensity: d.logDensity ?? d.density.map((x) => Math.log10(Math.max(x, 1e-12))),
          nodes: m.nodes,
          weights: m.weights,
          hvps: dHvps,
        });
      }
    }

  // Layer traces sampled from full-network probes, combined over chunks in order.
  const fromFull = new Map<string, number[]>();
  for (const t of plan.tasks) {
    if (t.kind !== 'trace-layers') continue;
    const r = get(t, 'trace-layers');
    if (!r) continue;
    for (const [layer, s] of Object.entries(r.samples)) fromFull.set(layer, [...(fromFull.get(layer) ?? []), ...s]);
  }
  const fromFullHvps = plan.tasks.filter((t) => t.kind === 'trace-layers').reduce((s, t) => s + (results.get(t.id)?.hvps ?? 0), 0);

  const scopes: ScopeReport[] = plan.scopes.map((scope) => {
    const operators: OperatorReport[] = plan.operators.map((op) => {
      const tasks = tasksOf(scope.name, op);
      const rep: OperatorReport = { operator: op, hvps: 0, seconds: 0 };
      for (const t of tasks) {
        const r = results.get(t.id);
        if (r) {
          rep.hvps += r.hvps;
          rep.seconds += r.seconds;
        }
      }
      const top = tasks.find((t) => t.kind === 'top-k');
      const topR = top && get(top, 'top-k');
      if (topR)
        rep.top = { method: topR.method, values: topR.eigenvalues, residuals: topR.residuals, converged: topR.converged, iterations: topR.iterations, hvps: topR.hvps };
      rep.trace = traceOf(spec, tasks, results);
      const d = densities.get(key(scope.name, op));
      if (d) rep.density = d;
      if (scope.kind === 'layer' && op === 'hessian' && fromFull.has(scope.name)) {
        const s = summarizeTrace(fromFull.get(scope.name)!);
        rep.traceFromFullProbes = { method: 'full-network-probes', mean: s.mean, stderr: s.stderr, probes: s.probes, hvps: fromFullHvps };
      }
      const fullRuns = densityRuns.get(key(FULL, op));
      const layerRuns = densityRuns.get(key(scope.name, op));
      const fullD = densities.get(key(FULL, op));
      if (spec.similarity && scope.kind === 'layer' && fullRuns && layerRuns && fullD && d) {
        rep.similarity = {
          wasserstein1: wasserstein1(mergeRuns(layerRuns), mergeRuns(fullRuns)),
          jensenShannon: jensenShannon(asDensity(d), asDensity(fullD)),
        };
      }
      return rep;
    });
    return { name: scope.name, kind: scope.kind, className: scope.className, tensors: scope.tensors, params: scope.params, depth: scope.depth, operators };
  });

  return {
    schema: REPORT_SCHEMA,
    createdAt: meta.createdAt ?? new Date().toISOString(),
    tool: meta.tool,
    spec,
    model: meta.model,
    data: meta.data,
    loss: spec.loss,
    convention: spec.convention,
    backend: meta.backend,
    lossValue: meta.lossValue,
    scopes,
    totals: { hvps, tasks: tasksRun, seconds: meta.seconds, workers: meta.workers },
  };
}

function asDensity(d: DensityReport) {
  return { grid: d.grid, density: d.density, sigma: d.sigma, runs: d.runs, preset: d.preset };
}

function traceOf(spec: AnalysisSpec, tasks: Task[], results: Map<string, TaskResult>): TraceReport | undefined {
  if (!spec.trace) return undefined;
  const hpp = tasks.find((t) => t.kind === 'hutch++');
  if (hpp) {
    const r = results.get(hpp.id);
    if (!r || r.kind !== 'hutch++') return undefined;
    return { method: 'hutch++', mean: r.mean, stderr: r.stderr, probes: r.probes, hvps: r.hvps };
  }
  const chunks = tasks.filter((t) => t.kind === 'trace').sort((a, b) => (a as { index: number }).index - (b as { index: number }).index);
  if (chunks.length === 0) return undefined;
  const samples = chunks.map((t) => {
    const r = results.get(t.id);
    return r && r.kind === 'trace' ? r.samples : undefined;
  });
  const { used } = traceChunksUsed(samples, spec.trace.targetRelStderr);
  if (used === 0) return undefined;
  const all = samples.slice(0, used).flat() as number[];
  const hvps = chunks.slice(0, used).reduce((s, t) => s + (results.get(t.id)?.hvps ?? 0), 0);
  const s = summarizeTrace(all);
  return { method: 'hutchinson', mean: s.mean, stderr: s.stderr, probes: s.probes, hvps };
}
