/**
 * The main thread's handle on one compute thread (engine-thread.ts): one thread per prepared
 * engine, over analysis's ThreadBridge (requests by id, vectors moved by transfer).
 */
import { ThreadBridge, toError, type Task, type TaskResult } from '@hessian/analysis';
import type { Convention, ParamGroup } from '@hessian/engine';
import type { AugmentStep, HtrStepSpec } from '@hessian/training';
import type { EngineInfo, FromThread, ThreadInit, ToThread } from './protocol.js';

type Reply = Exclude<FromThread, { type: 'ready' } | { type: 'failed' }>;
/** A request without its id: the bridge assigns one. */
type Request = ToThread extends infer T ? (T extends { id: number } ? Omit<T, 'id'> : never) : never;

/** The compute thread stopped the task at its cancel flag. */
export class TaskStopped extends Error {
  constructor(readonly done: number) {
    super('task stopped');
  }
}

export class EngineThread {
  private streams = 0;

  private constructor(private readonly bridge: ThreadBridge<EngineInfo, Reply>) {}

  get info(): EngineInfo {
    return this.bridge.info;
  }

  /** Starts a thread that prepares the engine; resolves when it is ready (rejects with Prepare's error). */
  static async start(init: ThreadInit, onExit: (e: Error | null) => void): Promise<EngineThread> {
    return new EngineThread(await ThreadBridge.start<EngineInfo, Reply>(new URL('./engine-thread.js', import.meta.url), init, onExit));
  }

  private async request(m: Request, transfer: ArrayBuffer[] = [], progress?: (done: number) => void): Promise<Reply> {
    const r = await this.bridge.request(m, transfer, progress && ((p) => p.type === 'progress' && progress(p.done)));
    if (r.type === 'error') throw r.cancelled ? new TaskStopped(r.done) : toError(r);
    return r;
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
    this.bridge.post({ type: 'release', stream } satisfies ToThread);
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
  close(): Promise<void> {
    return this.bridge.close();
  }
}
