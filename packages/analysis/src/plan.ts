/**
 * plan: AnalysisSpec + the model's parameter groups -> scopes and small independent tasks.
 * Pure. The tasks come from the estimator registry (each estimator plans its own, per scope
 * and operator, or once per job). Every task carries a seed derived from (job seed, task id),
 * so its result does not depend on which worker runs it or on how many workers there are.
 */
import type { ParamGroup } from '@hessian/engine';
import { deriveSeed, UserError } from '@hessian/linalg';
import { REGISTRY, type Task } from './estimators/registry.js';
import { maxTasksPerJob, tooManyTasks } from './limits.js';
import type { Draft, PlanContext, TaskBase } from './estimators/types.js';
import type { OperatorName, ParameterOrigin } from './report.js';
import { FULL, type PlannedScope } from './scope.js';
import type { AnalysisSpec } from './spec.js';

export { FULL, type PlannedScope } from './scope.js';
export type { Task } from './estimators/registry.js';

export interface Plan {
  scopes: PlannedScope[];
  operators: OperatorName[];
  tasks: Task[];
  /** imported models (ONNX): where each analyzed tensor came from (the report's `parameters`) */
  parameters?: ParameterOrigin[];
}

/**
 * Our flat parameter order mapped to the file's tensors: for a torch.onnx export, the PyTorch
 * state_dict names, and the layout change made at load (e.g. OIHW->HWIO: our slice holds the
 * state_dict tensor permuted to `shape`).
 */
export function parameterOrigins(groups: readonly ParamGroup[]): ParameterOrigin[] | undefined {
  const out: ParameterOrigin[] = [];
  for (const g of groups)
    for (const t of g.tensors)
      if (t.origin) out.push({ tensor: t.name, offset: t.offset, size: t.size, shape: t.shape ?? [t.size], origin: t.origin.name, layout: t.origin.layout });
  return out.length > 0 ? out.sort((a, b) => a.offset - b.offset) : undefined;
}

/**
 * Chooses the analyzed layers (`--layers`). `middle` here means the middle LAYERS: parameter
 * groups floor(n/4) .. floor(3n/4) (exclusive, at least one) of the n layers with parameters,
 * each analyzed whole. (Training's `--htr-layers middle` follows the paper's code and slices
 * parameter TENSORS instead; see packages/training/src/htr.ts. On LeNet, layers: conv2, fc1;
 * tensors: conv2 (kernel, bias), fc1 (kernel, bias), fc2's kernel.)
 */
export function selectLayers<G extends ParamGroup>(spec: AnalysisSpec, groups: readonly G[]): G[] {
  if (groups.length === 0)
    throw new UserError('model: has no layer with trainable parameters, so there is no Hessian to analyze', 'FAILED_PRECONDITION');
  const sel = spec.layers;
  switch (sel.select) {
    case 'all':
      return [...groups];
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

/** `maxTasks`: the per-job task limit (default HESSIAN_MAX_TASKS or 100000); a plan past it is refused. */
export function plan(spec: AnalysisSpec, groups: readonly ParamGroup[], opts: { maxTasks?: number } = {}): Plan {
  const maxTasks = opts.maxTasks ?? maxTasksPerJob();
  const layers = selectLayers(spec, groups);
  const total = groups.reduce((s, g) => s + g.size, 0);
  const scopes: PlannedScope[] = [];
  const last = groups.at(-1)?.tensors.at(-1);
  const outputs = last?.size ?? 1;
  if (spec.full)
    scopes.push({ name: FULL, kind: 'full', className: 'Model', tensors: groups.flatMap((g) => g.tensors.map((t) => t.name)), params: total, depth: null, cost: { productParams: total, outputs } });
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
      cost: { productParams: groups.slice(i).reduce((a, x) => a + x.size, 0), outputs },
    });
  }
  const operators: OperatorName[] = spec.gaussNewton ? ['hessian', 'gauss-newton', 'residual'] : ['hessian'];
  const ctx: PlanContext = { spec, groups, scopes, operators, maxTasks };
  const tasks: Task[] = [];
  const add = (drafts: Draft<TaskBase>[] | undefined) => {
    for (const d of drafts ?? []) {
      if (tasks.length >= maxTasks) throw tooManyTasks(maxTasks);
      tasks.push({ ...d, seed: deriveSeed(spec.seed, d.id) } as Task);
    }
  };
  for (const scope of scopes) for (const operator of operators) for (const e of REGISTRY) add(e.planScope?.(spec, scope, { ...ctx, operator }));
  for (const e of REGISTRY) add(e.planJob?.(spec, ctx));
  const parameters = parameterOrigins(groups);
  return { scopes, operators, tasks, ...(parameters ? { parameters } : {}) };
}
