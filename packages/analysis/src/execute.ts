/**
 * execute: one task on an engine -> a small result (scalars, Ritz values, quadrature nodes).
 * Vectors stay here. The same function runs in the CLI's process, in its worker threads
 * and in the cluster's workers.
 */
import type { Convention, HessianEngine, Scope } from '@hessian/engine';
import { CountingOperator, hutchPlusPlus, powerIteration, Rng, slqRun, topEigenvalues, traceSamples } from '@hessian/linalg';
import { FULL, type Task } from './plan.js';

interface ResultBase {
  id: string;
  hvps: number;
  seconds: number;
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

export async function executeTask(task: Task, engine: HessianEngine, convention: Convention): Promise<TaskResult> {
  const t0 = performance.now();
  const op = new CountingOperator(engine.operator(task.operator, scopeOf(task.scope, convention)));
  const rng = new Rng(task.seed);
  const done = () => ({ id: task.id, hvps: op.count, seconds: (performance.now() - t0) / 1000 });
  switch (task.kind) {
    case 'top-k': {
      const r =
        task.method === 'lanczos'
          ? await topEigenvalues(op, { k: task.k, rng, tol: task.tol, maxSteps: task.maxIter })
          : await powerIteration(op, { k: task.k, rng, tol: task.tol, maxIter: task.maxIter });
      return { ...done(), kind: 'top-k', method: task.method, eigenvalues: r.eigenvalues, residuals: r.residuals, converged: r.converged, iterations: r.iterations };
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
      const r = await slqRun(op, { steps: task.steps, rng });
      return { ...done(), kind: 'density-run', nodes: r.nodes, weights: r.weights, steps: r.steps };
    }
  }
}
