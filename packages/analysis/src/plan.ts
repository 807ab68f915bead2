/**
 * plan: AnalysisSpec + the model's parameter groups -> scopes and small independent tasks.
 * Pure. Every task carries a seed derived from (job seed, task id), so its result does not
 * depend on which worker runs it or on how many workers there are.
 */
import { deriveSeed, UserError } from '@hessian/linalg';
import { maxTasksPerJob, tooManyTasks } from './limits.js';
import type { OperatorName } from './report.js';
import type { AnalysisSpec } from './spec.js';

/** What plan needs to know of a parameter group (engine's ParamGroup satisfies it). */
export interface GroupInfo {
  name: string;
  className: string;
  size: number;
  tensors: { name: string }[];
}

export interface PlannedScope {
  name: string;
  kind: 'full' | 'layer';
  className: string;
  tensors: string[];
  params: number;
  depth: number | null;
}

interface TaskBase {
  /** Unique within the job, stable: "<scope>/<operator>/<what>[/<index>]". */
  id: string;
  scope: string;
  operator: OperatorName;
  seed: number;
  /** Expected HVPs, for progress and ETA only. */
  cost: number;
}

export type Task =
  | (TaskBase & { kind: 'top-k'; k: number; method: 'lanczos' | 'power'; tol: number; maxIter: number })
  | (TaskBase & { kind: 'trace'; index: number; probes: number })
  | (TaskBase & { kind: 'hutch++'; matvecs: number })
  | (TaskBase & { kind: 'trace-layers'; index: number; probes: number; layers: string[] })
  | (TaskBase & { kind: 'density-run'; index: number; steps: number });

/** A task before its seed is derived (Omit distributed over the union). */
type Unseeded = Task extends infer T ? (T extends Task ? Omit<T, 'seed'> : never) : never;

export interface Plan {
  scopes: PlannedScope[];
  operators: OperatorName[];
  tasks: Task[];
}

export const FULL = 'full';

/** Chooses the analyzed layers. `middle` follows the paper's code: items floor(n/4) .. floor(3n/4). */
export function selectLayers(spec: AnalysisSpec, groups: GroupInfo[]): GroupInfo[] {
  if (groups.length === 0)
    throw new UserError('model: has no layer with trainable parameters, so there is no Hessian to analyze', 'FAILED_PRECONDITION');
  const sel = spec.layers;
  switch (sel.select) {
    case 'all':
      return groups;
    case 'middle': {
      const n = groups.length;
      const lo = Math.floor(n / 4);
      const hi = Math.max(lo + 1, Math.floor((3 * n) / 4));
      return groups.slice(lo, hi);
    }
    case 'names': {
      const byName = new Map(groups.map((g) => [g.name, g]));
      const unknown = sel.names.filter((n) => !byName.has(n));
      if (unknown.length > 0)
        throw new UserError(
          `layers: unknown layer ${unknown.map((u) => `"${u}"`).join(', ')}; layers with parameters are ${groups.map((g) => g.name).join(', ')}`,
          'INVALID_ARGUMENT',
        );
      // Keep model order whatever order the user typed.
      const wanted = new Set(sel.names);
      return groups.filter((g) => wanted.has(g.name));
    }
    case 'regex': {
      const re = new RegExp(sel.pattern);
      const hits = groups.filter((g) => re.test(g.name));
      if (hits.length === 0)
        throw new UserError(
          `layers: /${sel.pattern}/ matches no layer; layers with parameters are ${groups.map((g) => g.name).join(', ')}`,
          'INVALID_ARGUMENT',
        );
      return hits;
    }
  }
}

export function plan(spec: AnalysisSpec, groups: GroupInfo[], opts: { maxTasks?: number } = {}): Plan {
  const maxTasks = opts.maxTasks ?? maxTasksPerJob();
  const layers = selectLayers(spec, groups);
  const total = groups.reduce((s, g) => s + g.size, 0);
  const scopes: PlannedScope[] = [];
  if (spec.full)
    scopes.push({ name: FULL, kind: 'full', className: 'Model', tensors: groups.flatMap((g) => g.tensors.map((t) => t.name)), params: total, depth: null });
  const index = new Map(groups.map((g, i) => [g.name, i]));
  for (const g of layers) {
    if (g.name === FULL) throw new UserError(`model: a layer is named "${FULL}", which is reserved for the whole network; rename the layer`);
    const i = index.get(g.name)!;
    scopes.push({
      name: g.name,
      kind: 'layer',
      className: g.className,
      tensors: g.tensors.map((t) => t.name),
      params: g.size,
      depth: groups.length === 1 ? 0 : i / (groups.length - 1),
    });
  }
  const operators: OperatorName[] = spec.gaussNewton ? ['hessian', 'gauss-newton', 'residual'] : ['hessian'];
  const tasks: Task[] = [];
  const mk = (t: Unseeded): Task => {
    if (tasks.length >= maxTasks) throw tooManyTasks(maxTasks);
    return { ...t, seed: deriveSeed(spec.seed, t.id) } as Task;
  };
  for (const scope of scopes) {
    for (const operator of operators) {
      const base = `${scope.name}/${operator}`;
      if (spec.topK) {
        const t = spec.topK;
        const cost = t.method === 'lanczos' ? Math.min(t.maxIter, scope.params) + t.k : t.k * t.maxIter;
        tasks.push(mk({ id: `${base}/top-k`, kind: 'top-k', scope: scope.name, operator, k: Math.min(t.k, scope.params), method: t.method, tol: t.tol, maxIter: t.maxIter, cost }));
      }
      if (spec.trace) {
        const t = spec.trace;
        if (t.method === 'hutch++') {
          tasks.push(mk({ id: `${base}/hutch++`, kind: 'hutch++', scope: scope.name, operator, matvecs: t.probes, cost: t.probes }));
        } else {
          for (let i = 0, done = 0; done < t.probes; i++) {
            const probes = Math.min(t.chunk, t.probes - done);
            tasks.push(mk({ id: `${base}/trace/${i}`, kind: 'trace', scope: scope.name, operator, index: i, probes, cost: probes }));
            done += probes;
          }
        }
      }
      if (spec.density) {
        const d = spec.density;
        for (let i = 0; i < d.runs; i++)
          tasks.push(mk({ id: `${base}/density/${i}`, kind: 'density-run', scope: scope.name, operator, index: i, steps: Math.min(d.steps, scope.params), cost: Math.min(d.steps, scope.params) }));
      }
    }
  }
  // All layer traces from full-network probes: one HVP samples every layer's trace.
  if (spec.trace?.fromFullProbes && spec.trace.method === 'hutchinson') {
    const t = spec.trace;
    const layerNames = scopes.filter((s) => s.kind === 'layer').map((s) => s.name);
    for (let i = 0, done = 0; done < t.probes; i++) {
      const probes = Math.min(t.chunk, t.probes - done);
      tasks.push(mk({ id: `${FULL}/hessian/trace-layers/${i}`, kind: 'trace-layers', scope: FULL, operator: 'hessian', index: i, probes, layers: layerNames, cost: probes }));
      done += probes;
    }
  }
  return { scopes, operators, tasks };
}

/** Minimum probes before a target relative standard error may stop a trace estimate. */
export const MIN_TRACE_PROBES = 10;

/**
 * How many leading chunks of a Hutchinson estimate count: the shortest prefix whose estimate
 * reaches the target relative standard error (with at least MIN_TRACE_PROBES), else all.
 * Used both by the runner (to skip chunks not needed) and by aggregate (to use exactly the
 * same prefix), so early stopping never makes results depend on scheduling.
 * `chunks[i]` is the samples of chunk i, or undefined when not (yet) computed.
 */
export function traceChunksUsed(chunks: (number[] | undefined)[], target: number): { used: number; satisfied: boolean } {
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < chunks.length; i++) {
    const c = chunks[i];
    if (c === undefined) return { used: i, satisfied: false };
    for (const x of c) {
      n++;
      sum += x;
      sumSq += x * x;
    }
    if (target > 0 && n >= MIN_TRACE_PROBES && n >= 2) {
      const mean = sum / n;
      const variance = Math.max(0, (sumSq - n * mean * mean) / (n - 1));
      const se = Math.sqrt(variance / n);
      if (se <= target * Math.abs(mean)) return { used: i + 1, satisfied: true };
    }
  }
  return { used: chunks.length, satisfied: false };
}
