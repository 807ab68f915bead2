/**
 * The parent's side of a worker thread that prepares something (an engine) and then answers
 * requests: ThreadBridge starts the thread and waits for its `ready` (or its `failed`), sends
 * requests with ids (moving buffers by transfer), passes `progress` messages on, resolves each
 * reply by id, and fails every pending request when the thread errors or exits. Shared by the
 * `--workers N` executors (executors.ts + thread-worker.ts) and the cluster worker's compute
 * threads (services/worker compute.ts + engine-thread.ts). Errors cross as {message, code}:
 * structured clone drops Error subclasses, so a UserError is rebuilt on this side (toError).
 */
import { isUserError, UserError } from '@hessian/linalg';
import { Worker, type Transferable } from 'node:worker_threads';

/** An error as it crosses a thread boundary. */
export interface WireError {
  message: string;
  /** the UserError code, or null for an internal error */
  code: string | null;
}

/** A thrown value as a WireError; `stack` keeps an internal error's stack in the message. */
export function errorMessage(e: unknown, opts: { stack?: boolean } = {}): WireError {
  if (isUserError(e)) return { message: e.message, code: e.code };
  return { message: e instanceof Error ? ((opts.stack ? e.stack : undefined) ?? e.message) : String(e), code: null };
}

/** A WireError back to a UserError (with its code) or a plain Error. */
export function toError(m: WireError): Error {
  return m.code ? new UserError(m.message, m.code as UserError['code']) : new Error(m.message);
}

/** What a bridged thread sends first: ready with its info, or failed (then it exits). */
export type ThreadStart<I> = { type: 'ready'; info: I } | ({ type: 'failed' } & WireError);

/** Replies carry the request's id; `progress` messages do not settle the request. */
export interface BridgeReply {
  type: string;
  id: number;
}

export class ThreadBridge<I, R extends BridgeReply> {
  private seq = 0;
  private pending = new Map<number, { resolve: (m: R) => void; reject: (e: Error) => void; progress?: (m: R) => void }>();
  private failure: Error | null = null;
  private closing = false;

  private constructor(
    private readonly worker: Worker,
    readonly info: I,
    onExit?: (e: Error | null) => void,
  ) {
    worker.on('message', (m: R | ThreadStart<I>) => {
      if (m.type === 'ready' || m.type === 'failed' || !('id' in m)) return;
      const p = this.pending.get(m.id);
      if (!p) return;
      if (m.type === 'progress') {
        p.progress?.(m);
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
      onExit?.(this.closing ? null : e);
    };
    worker.on('error', (e) => failAll(new Error(`compute thread failed: ${e.message}`)));
    worker.on('exit', (code) => failAll(new Error(`compute thread exited (code ${code})`)));
  }

  /** Starts the thread (module `url`, `workerData`); resolves once it is ready, rejects with its failure. */
  static start<I, R extends BridgeReply>(url: URL, workerData: unknown, onExit?: (e: Error | null) => void): Promise<ThreadBridge<I, R>> {
    const worker = new Worker(url, { workerData });
    return new Promise((resolve, reject) => {
      const onMessage = (m: ThreadStart<I>) => {
        if (m.type === 'ready') {
          cleanup();
          resolve(new ThreadBridge<I, R>(worker, m.info, onExit));
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
        reject(new Error(`compute thread exited (code ${code}) before it was ready`));
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

  /** Sends `m` with a fresh id; resolves the thread's reply (progress messages go to `progress`). */
  request(m: object, transfer: Transferable[] = [], progress?: (m: R) => void): Promise<R> {
    if (this.failure) return Promise.reject(this.failure);
    const id = ++this.seq;
    return new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, progress });
      this.worker.postMessage({ ...m, id }, transfer);
    });
  }

  /** A message that expects no reply (ignored once the thread has failed). */
  post(m: object): void {
    if (!this.failure) this.worker.postMessage(m);
  }

  /** Ends the thread (and frees its memory), even in the middle of a request. */
  async close(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
  }
}
