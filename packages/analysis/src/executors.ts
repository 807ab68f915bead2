/**
 * Executors run tasks: in this process, or in worker threads that each prepare their own
 * engine from the same spec (so `--workers N` cannot change a number).
 */
import type { BackendName } from '@hessian/engine';
import { isUserError, UserError } from '@hessian/linalg';
import { Worker } from 'node:worker_threads';
import { executeTask, type TaskResult } from './execute.js';
import type { Task } from './plan.js';
import type { Prepared } from './prepare.js';
import type { AnalysisSpec } from './spec.js';

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

/** Messages between ThreadExecutor and thread-worker.ts. */
export type ToThread = { type: 'task'; task: Task } | { type: 'close' };
export type FromThread =
  | { type: 'ready'; backend: string }
  | { type: 'result'; id: string; result: TaskResult }
  | { type: 'error'; id: string | null; message: string; code: string | null };

export class ThreadExecutor implements Executor {
  private pending = new Map<string, { resolve: (r: TaskResult) => void; reject: (e: Error) => void }>();
  private failure: Error | null = null;
  private constructor(
    readonly name: string,
    private readonly worker: Worker,
  ) {
    worker.on('message', (m: FromThread) => {
      if (m.type === 'result') {
        this.pending.get(m.id)?.resolve(m.result);
        this.pending.delete(m.id);
      } else if (m.type === 'error' && m.id !== null) {
        this.pending.get(m.id)?.reject(toError(m));
        this.pending.delete(m.id);
      }
    });
    const failAll = (e: Error) => {
      this.failure = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    worker.on('error', failAll);
    worker.on('exit', (code) => {
      if (code !== 0) failAll(new Error(`${name} exited with code ${code}`));
    });
  }

  static start(name: string, spec: AnalysisSpec, backend: BackendName): Promise<ThreadExecutor> {
    const worker = new Worker(new URL('./thread-worker.js', import.meta.url), { workerData: { spec, backend } });
    return new Promise((resolve, reject) => {
      const onMessage = (m: FromThread) => {
        if (m.type === 'ready') {
          worker.off('message', onMessage);
          resolve(new ThreadExecutor(name, worker));
        } else if (m.type === 'error' && m.id === null) {
          void worker.terminate();
          reject(toError(m));
        }
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
  }

  run(task: Task): Promise<TaskResult> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.set(task.id, { resolve, reject });
      this.worker.postMessage({ type: 'task', task } satisfies ToThread);
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

function toError(m: { message: string; code: string | null }): Error {
  return m.code ? new UserError(m.message, m.code as UserError['code']) : new Error(m.message);
}

export function errorMessage(e: unknown): { message: string; code: string | null } {
  if (isUserError(e)) return { message: e.message, code: e.code };
  return { message: e instanceof Error ? (e.stack ?? e.message) : String(e), code: null };
}
