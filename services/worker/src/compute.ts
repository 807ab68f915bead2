/**
 * The main thread's handle on one compute thread (engine-thread.ts): one thread per prepared
 * engine. Requests are matched to replies by id; vectors move by transfer, not copy.
 */
import type { Task, TaskResult } from '@hessian/analysis';
import type { Convention, ParamGroup } from '@hessian/engine';
import type { AugmentStep, HtrStepSpec } from '@hessian/training';
import { UserError } from '@hessian/linalg';
import { Worker } from 'node:worker_threads';
import type { EngineInfo, FromThread, ThreadInit, ToThread } from './protocol.js';

type Reply = Exclude<FromThread, { type: 'ready' } | { type: 'failed' } | { type: 'progress' }>;
/** A request without its id: the handle assigns one. */
type Request = ToThread extends infer T ? (T extends { id: number } ? Omit<T, 'id'> : never) : never;

/** The compute thread stopped the task at its cancel flag. */
export class TaskStopped extends Error {
  constructor(readonly done: number) {
    super('task stopped');
  }
}

function toError(m: { message: string; code: string | null }): Error {
  return m.code ? new UserError(m.message, m.code as UserError['code']) : new Error(m.message);
}

export class EngineThread {
  private seq = 0;
  private streams = 0;
  private pending = new Map<number, { resolve: (m: Reply) => void; reject: (e: Error) => void; progress?: (done: number) => void }>();
  private failure: Error | null = null;
  private closing = false;

  private constructor(
    private readonly worker: Worker,
    readonly info: EngineInfo,
    onExit: (e: Error | null) => void,
  ) {
    worker.on('message', (m: FromThread) => {
      if (m.type === 'ready' || m.type === 'failed') return;
      const p = this.pending.get(m.id);
      if (!p) return;
      if (m.type === 'progress') {
        p.progress?.(m.done);
        return;
      }
      this.pending.delete(m.id);
      p.resolve(m);
    });
    const failAll = (e: Error) => {
      if (this.failure) return;
      this.failure = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
      onExit(this.closing ? null : e);
    };
    worker.on('error', (e) => failAll(new Error(`compute thread failed: ${e.message}`)));
    worker.on('exit', (code) => failAll(new Error(`compute thread exited (code ${code})`)));
  }

  /** Starts a thread that prepares the engine; resolves when it is ready (rejects with Prepare's error). */
  static start(init: ThreadInit, onExit: (e: Error | null) => void): Promise<EngineThread> {
    const worker = new Worker(new URL('./engine-thread.js', import.meta.url), { workerData: init });
    return new Promise((resolve, reject) => {
      const onMessage = (m: FromThread) => {
        if (m.type === 'ready') {
          cleanup();
          resolve(new EngineThread(worker, m.info, onExit));
        } else if (m.type === 'failed') {
          cleanup();
          void worker.terminate();
          reject(toError(m));
        }
      };
      const onError = (e: Error) => {
        cleanup();
        void worker.terminate();
        reject(e);
      };
      const onEarlyExit = (code: number) => {
        cleanup();
        reject(new Error(`compute thread exited (code ${code}) before its engine was ready`));
      };
      const cleanup = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onEarlyExit);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onEarlyExit);
    });
  }

  private request(m: Request, transfer: ArrayBuffer[] = [], progress?: (done: number) => void): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    const id = ++this.seq;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, progress });
      this.worker.postMessage({ ...m, id } as ToThread, transfer);
    }).then((r) => {
      if (r.type === 'error') throw r.cancelled ? new TaskStopped(r.done) : toError(r);
      return r;
    });
  }

  async groups(convention: Convention): Promise<ParamGroup[]> {
    const r = await this.request({ type: 'groups', convention });
    return (r as Extract<Reply, { type: 'groups' }>).groups;
  }

  /** Runs a task; `flag[0] = 1` (Atomics.store) stops it before its next product (TaskStopped). */
  async runTask(task: Task, convention: Convention, flag: Int32Array, progress: (done: number) => void): Promise<{ result: TaskResult; done: number }> {
    const r = (await this.request({ type: 'task', task, convention, flag }, [], progress)) as Extract<Reply, { type: 'result' }>;
    return { result: r.result, done: r.done };
  }

  /** Opens an operator for an Hvp stream; resolves its stream number. */
  async open(operator: string, scope: string, convention: Convention): Promise<number> {
    const stream = ++this.streams;
    await this.request({ type: 'open', stream, operator, scope, convention });
    return stream;
  }

  /** One product; `v`'s buffer is transferred to the thread (unusable here afterwards). */
  async matvec(stream: number, v: Float32Array): Promise<Float32Array> {
    const own = v.byteOffset === 0 && v.byteLength === v.buffer.byteLength ? v : v.slice();
    const r = await this.request({ type: 'matvec', stream, v: own }, [own.buffer as ArrayBuffer]);
    return (r as Extract<Reply, { type: 'vector' }>).v;
  }

  release(stream: number): void {
    if (!this.failure) this.worker.postMessage({ type: 'release', stream } satisfies ToThread);
  }

  /** One training step on a shard (TrainGradient); `theta` and `indices` are transferred. */
  async train(theta: Float32Array, indices: Int32Array, htr: HtrStepSpec | null, augment: AugmentStep | null): Promise<Extract<Reply, { type: 'trained' }>> {
    const r = await this.request({ type: 'train', theta, indices, htr, augment }, [theta.buffer as ArrayBuffer, indices.buffer as ArrayBuffer]);
    return r as Extract<Reply, { type: 'trained' }>;
  }

  async gradient(): Promise<Float32Array> {
    const r = await this.request({ type: 'gradient' });
    return (r as Extract<Reply, { type: 'vector' }>).v;
  }

  /** Ends the thread (and frees its engine's memory), even in the middle of a product. */
  async close(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
  }
}
