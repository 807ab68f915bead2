/**
 * One job's life: prepare (batch: on one worker, which returns the model's parameter groups;
 * dataset: one shard per live worker), plan, run the plan's TaskQueue (batch: tasks dispatched
 * to workers by dispatch.ts; dataset: lanes in this process on distributed operators,
 * dataset.ts), store each result in KV as it finishes, aggregate, store the report. State,
 * events and progress live here.
 */
import { aggregate, plan as makePlan, TaskQueue, taskDeadlineSeconds, TOOL, traceChunkAdvice, type Progress, type Task, type TaskResult } from '@hessian/analysis';
import type { ParamGroup } from '@hessian/engine';
import { isUserError } from '@hessian/linalg';
import { sleep, type LiveWorker, type PrepareReply__Output, type Registry } from '@hessian/wire';
import type { Logger } from 'pino';
import { DatasetScope } from './dataset.js';
import { BatchDispatch } from './dispatch.js';
import { TERMINAL, type EventBody, type JobProgress, type JobRecord, type JobStateName, type Store } from './store.js';
import { callPrepare, details, prepareRequest } from './worker-calls.js';

export { callPrepare, classify, preferredWorker, prepareRequest } from './worker-calls.js';

export interface JobContext {
  store: Store;
  registry: Registry;
  log: Logger;
  taskDeadlineS: number;
  /** Asks the scheduler to hand free worker slots to jobs. */
  pump: () => void;
  onFinished: (job: JobRun) => void;
  metrics: { task: (result: string, seconds: number, hvps: number) => void; event: (type: string) => void };
}

/** The stored and streamed progress: analysis's Progress with "no ETA yet" as -1 (proto doubles have no null). */
export function jobProgress(p: Progress | null, elapsedSeconds: number): JobProgress {
  if (!p) return { tasksDone: 0, tasksSkipped: 0, tasksTotal: 0, hvps: 0, elapsedSeconds, etaSeconds: -1 };
  return { tasksDone: p.tasksDone, tasksSkipped: p.tasksSkipped, tasksTotal: p.tasksTotal, hvps: p.hvps, elapsedSeconds: p.elapsedSeconds, etaSeconds: p.etaSeconds ?? -1 };
}

export class JobRun {
  queue: TaskQueue | null = null;
  readonly workersUsed = new Set<string>();
  readonly log: Logger;
  private readonly batch = new BatchDispatch(this);
  private readonly dataset = new DatasetScope(this);
  private meta: PrepareReply__Output | null = null;
  /** Seconds of one full-network product from the Prepare that planned the job (0: unknown). */
  private hvpSeconds = 0;
  private groups: ParamGroup[] = [];
  private t0 = performance.now();
  private lastProgress = 0;
  private progressTimer: NodeJS.Timeout | null = null;
  private finishing = false;

  constructor(
    readonly rec: JobRecord,
    readonly ctx: JobContext,
  ) {
    this.log = ctx.log.child({ jobId: rec.id });
  }

  get id(): string {
    return this.rec.id;
  }

  get terminal(): boolean {
    return TERMINAL.has(this.rec.state);
  }

  get active(): boolean {
    return this.rec.state === 'RUNNING';
  }

  async emit(ev: Omit<EventBody, 'time'>): Promise<void> {
    this.ctx.metrics.event(ev.type);
    await this.ctx.store.publishEvent(this.id, { time: new Date().toISOString(), ...ev }).catch((e) => this.log.error({ err: String(e), type: ev.type }, 'event lost'));
  }

  private async setState(state: JobStateName, error = ''): Promise<void> {
    this.rec.state = state;
    this.rec.error = error;
    this.rec.updatedAt = new Date().toISOString();
    await this.ctx.store.putJob(this.rec).catch((e) => this.log.error({ err: String(e) }, 'job state not stored'));
  }

  /** Progress now (elapsed counts while a task runs, between progress events). */
  progress(): JobProgress {
    return jobProgress(this.queue?.progress() ?? null, (performance.now() - this.t0) / 1000);
  }

  /** Progress event and job record update, at most every 500 ms (and always at the end). */
  private reportProgress(force = false): void {
    const now = Date.now();
    if (!force && now - this.lastProgress < 500) {
      if (!this.progressTimer) this.progressTimer = setTimeout(() => ((this.progressTimer = null), this.reportProgress()), 500 - (now - this.lastProgress));
      return;
    }
    this.lastProgress = now;
    if (this.progressTimer) clearTimeout(this.progressTimer);
    this.progressTimer = null;
    if (this.terminal && !force) return;
    this.rec.progress = this.progress();
    this.rec.updatedAt = new Date().toISOString();
    void this.ctx.store.putJob(this.rec).catch(() => undefined);
    void this.emit({ type: 'progress', progress: this.rec.progress });
  }

  /** Starts (or resumes) the job; resolves when it is planned and dispatching. */
  async start(): Promise<void> {
    const resumed = this.rec.state === 'RUNNING';
    await this.setState('RUNNING');
    this.t0 = performance.now();
    await this.emit({ type: 'started', state: 'RUNNING', message: resumed ? 'resumed after a coordinator restart' : `scope ${this.rec.scope}` });
    try {
      const stored = await this.ctx.store.jobResults(this.id);
      const reply = this.rec.scope === 'dataset' ? await this.dataset.prepare() : await this.batch.prepareFirst();
      if (this.terminal || !reply) return;
      this.meta = reply;
      this.groups = JSON.parse(reply.groupsJson) as ParamGroup[];
      // Results of tasks that are not in this plan (cannot happen with the same spec) are dropped.
      const queue = new TaskQueue(this.rec.spec, makePlan(this.rec.spec, this.groups), stored);
      queue.restartClock(this.t0);
      // An ETA from the first progress event: the worker's calibration product (Prepare) over the
      // workers available now, until finished tasks teach the real rate.
      queue.calibrate(reply.hvpSeconds, this.rec.scope === 'dataset' ? 1 : Math.max(1, this.ctx.registry.available().length));
      this.queue = queue;
      this.hvpSeconds = reply.hvpSeconds;
      const t = this.rec.spec.trace;
      const advice = t ? traceChunkAdvice(reply.hvpSeconds, t.chunk, t.probes) : null;
      this.log.info({ tasks: queue.plan.tasks.length, alreadyDone: queue.done, scope: this.rec.scope, hvpSeconds: reply.hvpSeconds, ...(advice ? { traceChunkAdvice: advice } : {}) }, 'planned');
      this.reportProgress(true);
      if (this.rec.scope === 'dataset') void this.dataset.run(queue, this.groups, Number(reply.modelParams));
      else {
        this.ctx.pump();
        this.maybeFinish();
      }
    } catch (e) {
      await this.fail(e);
    }
  }

  /** A task's gRPC deadline: HESSIAN_TASK_DEADLINE_S, or 10x its predicted time when longer (analysis's taskDeadlineSeconds). */
  taskDeadlineS(t: Pick<Task, 'cost'>): number {
    return taskDeadlineSeconds(t, this.hvpSeconds, this.ctx.taskDeadlineS);
  }

  callPrepare(w: LiveWorker, shardIndex = 0, shardCount = 0): Promise<PrepareReply__Output> {
    return callPrepare(w, prepareRequest(this.id, this.rec.spec, this.rec.scope, shardIndex, shardCount));
  }

  async waitForWorkers(): Promise<LiveWorker[]> {
    for (let i = 0; ; i++) {
      if (this.terminal) return [];
      const ws = this.ctx.registry.available();
      if (ws.length > 0) return ws;
      if (i % 50 === 0) this.log.info('waiting for a worker');
      await sleep(200);
    }
  }

  // ---- batch scope: what the coordinator's slot scheduler calls ----------------------------

  /** Takes over the Prepare that SubmitAnalysis's spec check sent to w for this job (batch scope). */
  adoptPrepare(w: LiveWorker, p: Promise<PrepareReply__Output>): void {
    this.batch.adoptPrepare(w, p);
  }

  isPreparedOn(w: LiveWorker): boolean {
    return this.batch.isPreparedOn(w);
  }

  /** The next task for a free slot on w, or undefined. */
  take(w: LiveWorker): Task | undefined {
    return this.rec.scope === 'batch' ? this.batch.take(w) : undefined;
  }

  hasRunnable(): boolean {
    return this.active && (this.queue?.pendingCount ?? 0) > 0;
  }

  /** Runs task t on worker w (the scheduler counted the slot). */
  run(t: Task, w: LiveWorker): Promise<void> {
    return this.batch.run(t, w);
  }

  /** A dead worker's running tasks go back to the queue; its Hvp streams fail over. */
  onWorkerDead(w: LiveWorker, why: string): void {
    this.batch.onWorkerDead(w);
    this.dataset.onWorkerDead(w, why);
  }

  // ---- results and the end ---------------------------------------------------------------

  /** Stores a finished task's result, then counts it (progress, partial result events). */
  async finishTask(t: Task, r: TaskResult, worker: string): Promise<void> {
    await this.ctx.store.putResult(this.id, r);
    if (this.terminal || !this.queue) return;
    this.queue.finish(t, r);
    void this.emit({ type: 'task-done', taskId: t.id, worker, message: `${t.id}: ${r.hvps} HVPs in ${r.seconds.toFixed(3)} s` });
    const partial = this.queue.partial(t);
    if (partial) void this.emit({ type: 'partial', taskId: t.id, worker, partialJson: JSON.stringify(partial) });
    this.reportProgress();
  }

  maybeFinish(): void {
    if (!this.active || !this.queue || this.finishing) return;
    this.queue.purgeSkippable();
    if (this.queue.pendingCount > 0 || this.batch.runningCount > 0) return;
    this.finishing = true;
    void this.succeed(this.queue);
  }

  private async succeed(queue: TaskQueue): Promise<void> {
    try {
      const m = this.meta!;
      const dataset = this.rec.scope === 'dataset';
      const report = aggregate(this.rec.spec, queue.plan, queue.results, {
        tool: TOOL,
        model: { spec: this.rec.spec.model, name: m.modelName, params: Number(m.modelParams), inputShape: [...m.inputShape] },
        data: { spec: this.rec.spec.data, description: m.dataDescription, examples: m.totalExamples },
        backend: m.backend,
        products: m.products || undefined,
        lossValue: dataset ? this.dataset.lossValue() : m.lossValue,
        workers: Math.max(1, this.workersUsed.size),
        seconds: (performance.now() - this.t0) / 1000,
      });
      const json = JSON.stringify({ ...report, scope: this.rec.scope, ...(dataset ? { shards: this.dataset.sizes() } : {}) });
      await this.ctx.store.putReport(this.id, json);
      this.rec.hasReport = true;
      this.rec.progress = this.progress();
      await this.setState('SUCCEEDED');
      const p = this.rec.progress;
      await this.emit({ type: 'succeeded', state: 'SUCCEEDED', progress: p, message: `${queue.done} tasks, ${p.hvps} HVPs, ${p.elapsedSeconds.toFixed(2)} s` });
      this.log.info({ tasks: queue.done, hvps: p.hvps, seconds: p.elapsedSeconds }, 'job succeeded');
    } catch (e) {
      this.finishing = false;
      await this.fail(e);
      return;
    }
    this.end();
  }

  async fail(e: unknown): Promise<void> {
    if (this.terminal) return;
    const msg = isUserError(e) ? e.message : (e as { code?: unknown })?.code !== undefined ? details(e) : e instanceof Error ? e.message : String(e);
    this.rec.progress = this.progress();
    await this.setState('FAILED', msg);
    this.cancelRunning();
    await this.emit({ type: 'failed', state: 'FAILED', message: msg, progress: this.rec.progress });
    this.log.warn({ err: msg }, 'job failed');
    this.end();
  }

  async cancel(): Promise<void> {
    if (this.terminal) return;
    this.rec.progress = this.progress();
    await this.setState('CANCELLED', 'cancelled by request');
    this.ctx.store.publishCancel(this.id);
    this.cancelRunning();
    await this.emit({ type: 'cancelled', state: 'CANCELLED', message: 'cancelled by request', progress: this.rec.progress });
    this.log.info('job cancelled');
    this.end();
  }

  private cancelRunning(): void {
    this.batch.cancelAll();
    this.dataset.abortAll('job ended');
  }

  private end(): void {
    if (this.progressTimer) clearTimeout(this.progressTimer);
    this.progressTimer = null;
    this.ctx.onFinished(this);
  }
}
