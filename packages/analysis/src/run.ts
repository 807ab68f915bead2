/**
 * runAnalysis: the embedded default. plan -> execute on N local executors -> aggregate.
 * The coordinator runs the same three steps with remote workers.
 */
import type { BackendName } from '@hessian/engine';
import { UserError } from '@hessian/linalg';
import { aggregate } from './aggregate.js';
import type { TaskResult } from './execute.js';
import { LocalExecutor, ThreadExecutor, type Executor } from './executors.js';
import { plan as makePlan, traceChunksUsed, type Plan, type Task } from './plan.js';
import { prepare } from './prepare.js';
import type { Report } from './report.js';
import type { AnalysisSpec } from './spec.js';
import { TOOL } from './version.js';

export interface Progress {
  tasksDone: number;
  tasksSkipped: number;
  tasksTotal: number;
  hvps: number;
  /** Expected HVPs done / total: the basis of the ETA. */
  costDone: number;
  costTotal: number;
  elapsedSeconds: number;
  etaSeconds: number | null;
  /** Set when a task just finished. */
  last?: { id: string; seconds: number };
}

export interface RunOptions {
  workers?: number;
  backend?: BackendName;
  onProgress?: (p: Progress) => void;
  /** Called once the model and data are loaded, before any task runs. */
  onStart?: (info: { backend: string; backendDetail: string; tasks: number; scopes: number; params: number; examples: number }) => void;
  signal?: AbortSignal;
}

/**
 * Trace chunks that need not run: those past a prefix that already reached the target
 * standard error. Skipping them cannot change a number, since aggregate uses exactly that prefix.
 */
export function isSkippable(task: Task, planned: Plan, results: Map<string, TaskResult>, target: number): boolean {
  if (task.kind !== 'trace' || target <= 0) return false;
  const chunks = planned.tasks
    .filter((t) => t.kind === 'trace' && t.scope === task.scope && t.operator === task.operator)
    .map((t) => {
      const r = results.get(t.id);
      return r && r.kind === 'trace' ? r.samples : undefined;
    });
  const { used, satisfied } = traceChunksUsed(chunks, target);
  return satisfied && task.index >= used;
}

export async function runAnalysis(spec: AnalysisSpec, opts: RunOptions = {}): Promise<Report> {
  const workers = opts.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1 || workers > 64)
    throw new UserError(`workers: must be a whole number from 1 to 64, got ${workers}`);
  const t0 = performance.now();
  // The main thread always prepares: it validates the inputs once, with clean errors, and
  // provides the model description and the loss value for the report.
  const main = await prepare(spec, opts.backend ?? 'auto');
  const executors: Executor[] = [];
  try {
    const planned = makePlan(spec, main.model.groups(spec.convention));
    opts.onStart?.({
      backend: main.backend,
      backendDetail: main.backendDetail,
      tasks: planned.tasks.length,
      scopes: planned.scopes.length,
      params: main.model.paramCount,
      examples: main.data.shape[0],
    });
    if (workers === 1) executors.push(new LocalExecutor(main, spec));
    else
      executors.push(
        ...(await Promise.all(Array.from({ length: workers }, (_, i) => ThreadExecutor.start(`thread-${i + 1}`, spec, opts.backend ?? 'auto')))),
      );
    const results = await schedule(spec, planned, executors, opts, t0);
    const lossValue = await main.engine.loss();
    return aggregate(spec, planned, results, {
      tool: TOOL,
      model: { spec: spec.model, name: main.model.name, params: main.model.paramCount, inputShape: main.model.inputShape },
      data: { spec: spec.data, description: main.data.description, examples: main.data.shape[0] },
      backend: main.backend,
      lossValue,
      workers,
      seconds: (performance.now() - t0) / 1000,
    });
  } finally {
    for (const e of executors) if (!(e instanceof LocalExecutor)) await e.close();
    main.engine.dispose();
    main.model.dispose();
  }
}

async function schedule(spec: AnalysisSpec, planned: Plan, executors: Executor[], opts: RunOptions, t0: number): Promise<Map<string, TaskResult>> {
  const results = new Map<string, TaskResult>();
  const queue = [...planned.tasks];
  const costTotal = planned.tasks.reduce((s, t) => s + t.cost, 0);
  const target = spec.trace?.targetRelStderr ?? 0;
  let costDone = 0;
  let hvps = 0;
  let skipped = 0;
  const report = (last?: Progress['last']) => {
    const elapsed = (performance.now() - t0) / 1000;
    opts.onProgress?.({
      tasksDone: results.size,
      tasksSkipped: skipped,
      tasksTotal: planned.tasks.length,
      hvps,
      costDone,
      costTotal,
      elapsedSeconds: elapsed,
      etaSeconds: costDone > 0 ? (elapsed * (costTotal - costDone)) / costDone : null,
      last,
    });
  };
  const next = (): Task | undefined => {
    for (;;) {
      const t = queue.shift();
      if (!t || !isSkippable(t, planned, results, target)) return t;
      skipped++;
      costDone += t.cost;
    }
  };
  report();
  await Promise.all(
    executors.map(async (ex) => {
      for (let t = next(); t; t = next()) {
        if (opts.signal?.aborted) throw new UserError('analysis cancelled', 'FAILED_PRECONDITION');
        const r = await ex.run(t);
        results.set(t.id, r);
        hvps += r.hvps;
        costDone += t.cost;
        report({ id: t.id, seconds: r.seconds });
      }
    }),
  );
  return results;
}
