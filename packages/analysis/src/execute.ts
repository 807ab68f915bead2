/**
 * execute: one task on an engine -> a small result (scalars, Ritz values, quadrature nodes).
 * Vectors stay here. The same function runs in the CLI's process, in its worker threads
 * and in the cluster's workers.
 */
import type { Convention, HessianEngine, Scope } from '@hessian/engine';
import { CountingOperator, hutchPlusPlus, powerIteration, Rng, slqRun, topEigenvalues, traceSamples, UserError } from '@hessian/linalg';
import { chooseLanczos, formatBytes, type LanczosChoice } from './budget.js';
import { FULL, type Task } from './plan.js';

interface ResultBase {
  id: string;
  hvps: number;
  seconds: number;
  /** Lanczos tasks run in a mode other than full reorthogonalization in float64 (memory budget): e.g. 'local/float32'. */
  lanczos?: string;
}

export type TaskResult =
  | (ResultBase & { kind: 'top-k'; method: 'lanczos' | 'power'; eigenvalues: number[]; residuals: number[]; converged: boolean; iterations: number })
  | (ResultBase & { kind: 'trace'; samples: number[] })
  | (ResultBase & { kind: 'hutch++'; mean: number; stderr: number; probes: number })
  | (ResultBase & { kind: 'trace-layers'; samples: Record<string, number[]> })
  | (ResultBase & { kind: 'density-run'; nodes: number[]; weights: number[]; steps: number });

export function scopeOf(name: string, convention: Convention): Scope {
  return name === FULL ? { kind: 'full' } : { kind: 'group', group: name, convention };
}

/**
 * `available`: bytes the task's own vectors may take (the worker's budget less the engine);
 * Lanczos tasks then choose their mode by it (budget.ts). Unbounded by default.
 */
export async function executeTask(task: Task, engine: HessianEngine, convention: Convention, memory: { available: number } = { available: Infinity }): Promise<TaskResult> {
  const t0 = performance.now();
  const op = new CountingOperator(engine.operator(task.operator, scopeOf(task.scope, convention)));
  const lanczosMode = (kind: 'top-k' | 'density', steps: number, k: number): LanczosChoice => {
    const c = chooseLanczos(kind, op.dim, steps, k, memory.available);
    if (!c) throw new UserError(`memory: task ${task.id} needs more than the ${formatBytes(Math.max(0, memory.available))} left on this worker after the model and data, even with a bounded Lanczos basis; lower --batch-size or raise HESSIAN_WORKER_MEMORY`, 'RESOURCE_EXHAUSTED');
    return c;
  };
  // Only a mode other than the default is recorded, so default results are unchanged.
  const modeNote = (c: LanczosChoice) => (c.mode === 'full' && c.storage === 'float64' ? {} : { lanczos: `${c.mode}/${c.storage}${c.maxBasis ? `/basis ${c.maxBasis}` : ''}` });
  const rng = new Rng(task.seed);
  const done = () => ({ id: task.id, hvps: op.count, seconds: (performance.now() - t0) / 1000 });
  switch (task.kind) {
    case 'top-k': {
      if (task.method === 'power') {
        const r = await powerIteration(op, { k: task.k, rng, tol: task.tol, maxIter: task.maxIter });
        return { ...done(), kind: 'top-k', method: task.method, eigenvalues: r.eigenvalues, residuals: r.residuals, converged: r.converged, iterations: r.iterations };
      }
      const c = lanczosMode('top-k', task.maxIter, task.k);
      const r = await topEigenvalues(op, { k: task.k, rng, tol: task.tol, maxSteps: task.maxIter, basis: c.storage, maxBasis: c.maxBasis });
      return { ...done(), kind: 'top-k', method: task.method, eigenvalues: r.eigenvalues, residuals: r.residuals, converged: r.converged, iterations: r.iterations, ...modeNote(c) };
    }
    case 'trace': {
      const samples = await traceSamples(op, { probes: task.probes, rng });
      return { ...done(), kind: 'trace', samples };
    }
    case 'hutch++': {
      const r = await hutchPlusPlus(op, { rng, matvecs: task.matvecs });
      return { ...done(), kind: 'hutch++', mean: r.mean, stderr: r.stderr, probes: r.probes };
    }
    case 'trace-layers': {
      // One full-network HVP per probe; v_l^T (Hv)_l is an unbiased sample of Tr(H_ll)
      // because the probe's components are independent across layers.
      const ranges = task.layers.map((l) => [l, engine.scopeOffsets(scopeOf(l, convention))] as const);
      const samples: Record<string, number[]> = Object.fromEntries(task.layers.map((l) => [l, [] as number[]]));
      for (let p = 0; p < task.probes; p++) {
        const v = rng.rademacher(op.dim);
        const hv = await op.matvec(v);
        for (const [layer, parts] of ranges) {
          let s = 0;
          for (const { offset, size } of parts) for (let i = offset; i < offset + size; i++) s += v[i] * hv[i];
          samples[layer].push(s);
        }
      }
      return { ...done(), kind: 'trace-layers', samples };
    }
    case 'density-run': {
      const c = lanczosMode('density', task.steps, 0);
      const r = await slqRun(op, { steps: task.steps, rng, basis: c.storage, reorth: c.mode === 'local' ? 'local' : 'full', window: c.window });
      return { ...done(), kind: 'density-run', nodes: r.nodes, weights: r.weights, steps: r.steps, ...modeNote(c) };
    }
  }
}
