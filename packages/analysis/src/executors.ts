/**
 * Executors run tasks: in this process, or in worker threads that each prepare their own
 * engine from the same spec (so `--workers N` cannot change a number).
 */
import type { BackendName } from '@hessian/engine';
import type { MemoryBudget } from './budget.js';
import { executeTask, type TaskResult } from './execute.js';
import type { Task } from './plan.js';
import type { Prepared } from './prepare.js';
import type { AnalysisSpec } from './spec.js';
import { ThreadBridge, toError, type WireError } from './thread-bridge.js';

export interface Executor {
  readonly name: string;
  run(task: Task): Promise<TaskResult>;
  close(): Promise<void>;
}

export class LocalExecutor implements Executor {
  readonly name = 'local';
  constructor(
    readonly prepared: Prepared,
    private readonly spec: AnalysisSpec,
  ) {}
  run(task: Task): Promise<TaskResult> {
    return executeTask(task, this.prepared.engine, this.spec.convention, this.prepared.memory);
  }
  async close(): Promise<void> {
    this.prepared.engine.dispose();
    this.prepared.model.dispose();
  }
}

/** Messages between ThreadExecutor and thread-worker.ts (besides the bridge's ready / failed). */
export type ToThread = { type: 'task'; id: number; task: Task };
export type FromThread = { type: 'result'; id: number; result: TaskResult } | ({ type: 'error'; id: number } & WireError);
/** workerData of a thread-worker. */
export interface ThreadWorkerInit {
  spec: AnalysisSpec;
  backend: BackendName;
  /** the thread's share of the process's memory budget (threadBudget) */
  budget?: MemoryBudget;
}

export class ThreadExecutor implements Executor {
  private constructor(
    readonly name: string,
    private readonly bridge: ThreadBridge<{ backend: string }, FromThread>,
  ) {}

  static async start(name: string, spec: AnalysisSpec, backend: BackendName, budget?: MemoryBudget): Promise<ThreadExecutor> {
    const init: ThreadWorkerInit = { spec, backend, budget };
    return new ThreadExecutor(name, await ThreadBridge.start<{ backend: string }, FromThread>(new URL('./thread-worker.js', import.meta.url), init));
  }

  async run(task: Task): Promise<TaskResult> {
    const r = await this.bridge.request({ type: 'task', task });
    if (r.type === 'error') throw toError(r);
    return r.result;
  }

  close(): Promise<void> {
    return this.bridge.close();
  }
}
