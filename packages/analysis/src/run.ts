/**
 * runAnalysis: the embedded default. plan -> execute on N local executors -> aggregate.
 * The coordinator runs the same three steps with remote workers.
 */
import type { BackendName } from '@hessian/engine';
import { UserError } from '@hessian/linalg';
import { aggregate } from './aggregate.js';
import { threadBudget, type MemoryBudget } from './budget.js';
import type { TaskResult } from './execute.js';
import { LocalExecutor, ThreadExecutor, type Executor } from './executors.js';
import { plan as makePlan, type Plan } from './plan.js';
import { prepare, productsLabel } from './prepare.js';
import type { Report } from './report.js';
import type { AnalysisSpec } from './spec.js';
import { TaskQueue, type Progress } from './scheduler.js';
import { TOOL } from './version.js';

export interface RunOptions {
  workers?: number;
  backend?: BackendName;
  onProgress?: (p: Progress) => void;
  /** Called once the model and data are loaded, before any task runs. */
  /** `products`: how the engine computes Hessian products ('R-op', or 'autodiff (why)'), for the start line */
  onStart?: (info: { backend: string; backendDetail: string; tasks: number; scopes: number; params: number; examples: number; products: string }) => void;
  signal?: AbortSignal;
  /** the process's memory budget (default: HESSIAN_WORKER_MEMORY, else 75% of the machine); --workers N threads share it */
  budget?: MemoryBudget;
}

export async function runAnalysis(spec: AnalysisSpec, opts: RunOptions = {}): Promise<Report> {
  const workers = opts.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1 || workers > 64)
    throw new UserError(`workers: must be a whole number from 1 to 64, got ${workers}`);
  const t0 = performance.now();
  // The main thread always prepares: it validates the inputs once, with clean errors, and
  // provides the model description and the loss value for the report.
  const main = await prepare(spec, opts.backend ?? 'auto', { budget: opts.budget });
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
      products: productsLabel(main.engine),
    });
    if (workers === 1) executors.push(new LocalExecutor(main, spec));
    else {
      // Every thread holds an engine and its tasks' vectors in this one process: each gets its share.
      const share = threadBudget(main.memory.budget, main.memory.engineBytes, workers);
      const started = await Promise.allSettled(Array.from({ length: workers }, (_, i) => ThreadExecutor.start(`thread-${i + 1}`, spec, opts.backend ?? 'auto', share)));
      for (const s of started) if (s.status === 'fulfilled') executors.push(s.value);
      // A thread that could not prepare (e.g. its engine does not fit its share) fails the run; the others are closed in finally.
      const failed = started.find((s) => s.status === 'rejected');
      if (failed) throw failed.reason;
    }
    const results = await schedule(spec, planned, executors, opts, t0);
    const lossValue = await main.engine.loss();
    return aggregate(spec, planned, results, {
      tool: TOOL,
      model: { spec: spec.model, name: main.model.name, params: main.model.paramCount, inputShape: main.model.inputShape },
      data: { spec: spec.data, description: main.data.description, examples: main.data.shape[0] },
      backend: main.backend,
      products: productsLabel(main.engine),
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

/** Runs the plan on the executors, each taking the next task of the one TaskQueue. */
async function schedule(spec: AnalysisSpec, planned: Plan, executors: Executor[], opts: RunOptions, t0: number): Promise<Map<string, TaskResult>> {
  const queue = new TaskQueue(spec, planned);
  queue.restartClock(t0);
  opts.onProgress?.(queue.progress());
  await Promise.all(
    executors.map(async (ex) => {
      for (let t = queue.take(); t; t = queue.take()) {
        if (opts.signal?.aborted) throw new UserError('analysis cancelled', 'FAILED_PRECONDITION');
        const p = queue.finish(t, await ex.run(t));
        opts.onProgress?.(p);
      }
    }),
  );
  return queue.results;
}
