/**
 * Batch scope (`scope = "batch"`): every worker holds all examples, each task runs on one
 * worker. This file owns placement and retries: which worker a task may go to (a retried task
 * avoids the workers that failed it while another is available, and waits out its backoff),
 * Prepare once per worker, and what a failure means (user error: the job fails; lost worker:
 * re-dispatch; other: retry elsewhere, 3 attempts). Queueing, skipping and progress are the
 * job's TaskQueue (@hessian/analysis).
 */
import type { Task } from '@hessian/analysis';
import { UserError } from '@hessian/linalg';
import type { LiveWorker, PrepareReply__Output } from '@hessian/wire';
import type { JobRun } from './job.js';
import { callRunTask, classify, details, MAX_FAILURES, MAX_REDISPATCHES, preferredWorker, type Failure } from './worker-calls.js';
import { sleep } from '@hessian/wire';

interface Attempt {
  failures: number;
  redispatches: number;
  excluded: Set<string>;
  notBefore: number;
  redispatchedFrom: { worker: string; reason: string } | null;
}

interface Running {
  worker: LiveWorker;
  cancel: (() => void) | null;
  deadWorker: boolean;
}

export class BatchDispatch {
  private running = new Map<string, Running>();
  private attempts = new Map<string, Attempt>();
  private prepared = new Map<string, Promise<PrepareReply__Output>>();
  /** Workers whose entry in `prepared` is the submit check's call, not this job's own. */
  private readonly adopted = new Set<string>();

  constructor(private readonly job: JobRun) {}

  get runningCount(): number {
    return this.running.size;
  }

  /** Prepared key on a worker, preparing it there once. */
  private ensurePrepared(w: LiveWorker): Promise<PrepareReply__Output> {
    let p = this.prepared.get(w.id);
    if (!p) {
      p = this.job.callPrepare(w);
      this.prepared.set(w.id, p);
      p.catch(() => this.prepared.delete(w.id));
    }
    return p;
  }

  /** Takes over a Prepare already sent to w for this job (SubmitAnalysis's spec check), finished or not. */
  adoptPrepare(w: LiveWorker, p: Promise<PrepareReply__Output>): void {
    if (this.prepared.has(w.id)) return;
    this.prepared.set(w.id, p);
    this.adopted.add(w.id);
    p.catch(() => {
      if (this.prepared.get(w.id) === p) this.prepared.delete(w.id);
    });
  }

  isPreparedOn(w: LiveWorker): boolean {
    return this.prepared.has(w.id);
  }

  /** Prepares on a first worker (the submit check's, else one holding the model), retrying others; resolves its reply, or null when the job ended. */
  async prepareFirst(): Promise<PrepareReply__Output | null> {
    for (let attempt = 1; ; attempt++) {
      const ws = await this.job.waitForWorkers();
      if (this.job.terminal) return null;
      const w = ws.find((x) => this.prepared.has(x.id)) ?? preferredWorker(ws, this.job.rec.spec.model);
      // A submit-time Prepare adopted long ago may have been evicted since (other jobs' checks):
      // ask again (a cache hit or the same in-flight build on the worker), so the first task does
      // not meet "not prepared" and go round the queue.
      if (this.adopted.delete(w.id)) this.prepared.delete(w.id);
      try {
        return await this.ensurePrepared(w);
      } catch (e) {
        if (classify(e) === 'user' || attempt >= MAX_FAILURES + MAX_REDISPATCHES) throw e;
        this.job.log.warn({ workerId: w.id, err: details(e) }, 'prepare failed; trying again');
        await sleep(Math.min(5000, 250 * 2 ** attempt));
      }
    }
  }

  private attempt(id: string): Attempt {
    let a = this.attempts.get(id);
    if (!a) {
      a = { failures: 0, redispatches: 0, excluded: new Set(), notBefore: 0, redispatchedFrom: null };
      this.attempts.set(id, a);
    }
    return a;
  }

  /** The next task for a free slot on w: the first in plan order not backing off and not excluded from w (while another worker could take it). */
  take(w: LiveWorker): Task | undefined {
    const queue = this.job.queue;
    if (!this.job.active || !queue) return undefined;
    const now = Date.now();
    const others = this.job.ctx.registry.available().filter((x) => x.id !== w.id);
    return queue.take((t) => {
      const a = this.attempts.get(t.id);
      if (a && a.notBefore > now) return false;
      return !(a && a.excluded.has(w.id) && others.some((o) => !a.excluded.has(o.id)));
    });
  }

  /** Runs task t on worker w (the scheduler counted the slot). */
  async run(t: Task, w: LiveWorker): Promise<void> {
    const job = this.job;
    const a = this.attempt(t.id);
    const run: Running = { worker: w, cancel: null, deadWorker: false };
    this.running.set(t.id, run);
    job.workersUsed.add(w.id);
    if (a.redispatchedFrom) {
      const from = a.redispatchedFrom;
      a.redispatchedFrom = null;
      void job.emit({ type: 'task-redispatched', taskId: t.id, worker: w.id, message: `task ${t.id} re-dispatched from worker ${from.worker} to worker ${w.id} (${from.reason})` });
    }
    const log = job.log.child({ taskId: t.id, workerId: w.id });
    const started = performance.now();
    try {
      const prep = await this.ensurePrepared(w);
      if (job.terminal) return;
      const r = await callRunTask(w, { jobId: job.id, key: prep.key, task: t, convention: job.rec.spec.convention }, job.taskDeadlineS(t), (cancel) => (run.cancel = cancel));
      if (job.terminal) return;
      // Still counted as running until its result is stored and in the queue's results:
      // otherwise another task finishing meanwhile could aggregate without it.
      await job.finishTask(t, r, w.id);
      this.running.delete(t.id);
      job.ctx.metrics.task('ok', (performance.now() - started) / 1000, r.hvps);
      job.maybeFinish();
    } catch (e) {
      this.running.delete(t.id);
      if (job.terminal) return;
      const kind: Failure = run.deadWorker ? 'unavailable' : classify(e);
      const why = run.deadWorker ? `worker ${w.id} lost` : details(e);
      job.ctx.metrics.task(kind, (performance.now() - started) / 1000, 0);
      log.warn({ kind, err: why }, 'task failed');
      await this.onFailure(t, w, a, kind, why, e);
    }
  }

  private async onFailure(t: Task, w: LiveWorker, a: Attempt, kind: Failure, why: string, e: unknown): Promise<void> {
    const job = this.job;
    const queue = job.queue!;
    if (kind === 'user') {
      await job.fail(e);
    } else if (kind === 'busy') {
      // Another caller (a trainer, a previous coordinator's call) holds its slots: try it again later, not counted.
      w.suspectUntil = Date.now() + 1000;
      queue.requeue(t);
      setTimeout(() => job.ctx.pump(), 1010);
    } else if (kind === 'not-prepared') {
      this.prepared.delete(w.id);
      queue.requeue(t);
    } else if (kind === 'unavailable') {
      a.redispatches++;
      w.suspectUntil = Date.now() + 2000;
      job.ctx.registry.check(w);
      if (a.redispatches > MAX_REDISPATCHES) {
        await job.fail(new UserError(`task ${t.id} lost its worker ${a.redispatches} times; last: ${why}`, 'FAILED_PRECONDITION'));
        return;
      }
      a.redispatchedFrom = { worker: w.id, reason: why };
      this.prepared.delete(w.id);
      queue.requeue(t);
    } else {
      a.failures++;
      if (a.failures >= MAX_FAILURES) {
        await job.fail(new Error(`task ${t.id} failed ${a.failures} times; last error: ${why}`));
        return;
      }
      const backoff = 500 * 2 ** (a.failures - 1);
      a.excluded.add(w.id);
      a.notBefore = Date.now() + backoff;
      queue.requeue(t);
      void job.emit({ type: 'task-retry', taskId: t.id, worker: w.id, message: `task ${t.id} failed on worker ${w.id} (${why}); retry ${a.failures} of ${MAX_FAILURES - 1} in ${backoff} ms on another worker` });
      setTimeout(() => job.ctx.pump(), backoff + 10);
    }
  }

  /** A dead worker's running tasks go back to the queue (their calls are cancelled, which ends them as 'unavailable'). */
  onWorkerDead(w: LiveWorker): void {
    this.prepared.delete(w.id);
    for (const r of this.running.values())
      if (r.worker === w) {
        r.deadWorker = true;
        r.cancel?.();
      }
  }

  cancelAll(): void {
    for (const r of this.running.values()) r.cancel?.();
  }
}
