/**
 * One job's life: prepare on a worker (which returns the model's parameter groups), plan,
 * dispatch tasks (scope "batch": each task on one worker; scope "dataset": the coordinator
 * runs the algorithms itself on a DistributedOperator summing the shards' HVPs), store each
 * result in KV as it finishes, aggregate, store the report.
 */
import * as grpc from '@grpc/grpc-js';
import {
  aggregate,
  executeTask,
  isSkippable,
  plan as makePlan,
  scopeOf,
  TOOL,
  traceChunksUsed,
  type GroupInfo,
  type Plan,
  type Task,
  type TaskResult,
  type AnalysisSpec,
} from '@hessian/analysis';
import type { Convention, HessianEngine, OperatorKind, Scope } from '@hessian/engine';
import { isUserError, summarizeTrace, UserError, type LinearOperator } from '@hessian/linalg';
import { specToProto, toChunks, VectorAssembler, type HvpRequest, type PrepareReply__Output, type TaskUpdate__Output, type VectorChunk__Output } from '@hessian/wire';
import type { Logger } from 'pino';
import type { LiveWorker, Registry } from '@hessian/wire';
import { TERMINAL, type EventBody, type JobProgress, type JobRecord, type JobStateName, type Store } from './store.js';

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

interface GroupWithOffsets extends GroupInfo {
  tensors: { name: string; offset: number; size: number }[];
}

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

const MAX_FAILURES = 3;
const MAX_REDISPATCHES = 10;
const USER_CODES = new Set([grpc.status.INVALID_ARGUMENT, grpc.status.NOT_FOUND, grpc.status.FAILED_PRECONDITION, grpc.status.RESOURCE_EXHAUSTED]);

type Failure = 'user' | 'not-prepared' | 'unavailable' | 'transient';

function details(e: unknown): string {
  const g = e as Partial<grpc.ServiceError>;
  return (g?.details || g?.message || String(e)) as string;
}

export function classify(e: unknown): Failure {
  if (isUserError(e)) return 'user';
  const code = (e as Partial<grpc.ServiceError>)?.code;
  if (code === grpc.status.FAILED_PRECONDITION && details(e).startsWith('not prepared')) return 'not-prepared';
  if (code === grpc.status.UNAVAILABLE || code === grpc.status.CANCELLED) return 'unavailable';
  if (code !== undefined && USER_CODES.has(code)) return 'user';
  return 'transient';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** gRPC deadline of one Prepare (a large model on a large data set can take minutes). */
const PREPARE_DEADLINE_MS = 300_000;

/** The PrepareRequest of a job's spec (shardCount 0 or 1: the whole batch). */
export function prepareRequest(jobId: string, spec: AnalysisSpec, scope: 'batch' | 'dataset', shardIndex = 0, shardCount = 0) {
  return { jobId, spec: specToProto(spec, scope), modelDigest: spec.model.startsWith('sha256:') ? spec.model : '', shardIndex, shardCount };
}

export function callPrepare(w: LiveWorker, req: ReturnType<typeof prepareRequest>): Promise<PrepareReply__Output> {
  return new Promise((resolve, reject) =>
    w.client.Prepare(req, { deadline: Date.now() + PREPARE_DEADLINE_MS }, (e, r) => (e || !r ? reject(e ?? new Error('empty reply')) : resolve(r))),
  );
}

/** The worker a batch job prepares on first: one that holds the model, else the least loaded. */
export function preferredWorker(ws: LiveWorker[], model: string): LiveWorker {
  return ws.find((x) => x.hb.cached.includes(model)) ?? [...ws].sort((a, b) => a.inflight / a.hb.capacity - b.inflight / b.hb.capacity)[0];
}

export class JobRun {
  plan: Plan | null = null;
  results = new Map<string, TaskResult>();
  private pending: Task[] = [];
  private order = new Map<string, number>();
  private running = new Map<string, Running>();
  private attempts = new Map<string, Attempt>();
  private prepared = new Map<string, Promise<PrepareReply__Output>>();
  private meta: PrepareReply__Output | null = null;
  private groups: GroupWithOffsets[] = [];
  private skipped = 0;
  private hvps = 0;
  private t0 = performance.now();
  private lastProgress = 0;
  private progressTimer: NodeJS.Timeout | null = null;
  private workersUsed = new Set<string>();
  private readonly log: Logger;
  /** Dataset scope: one prepared shard per slot. */
  private shards: { worker: LiveWorker; key: string; examples: number; lossValue: number }[] = [];
  private shardMoves = new Map<number, Promise<void>>();
  private streams = new Set<HvpStream>();
  private costDone = 0;
  private costTotal = 0;

  constructor(
    readonly rec: JobRecord,
    private readonly ctx: JobContext,
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

  private progress(): JobProgress {
    const elapsed = (performance.now() - this.t0) / 1000;
    return {
      tasksDone: this.results.size,
      tasksSkipped: this.skipped,
      tasksTotal: this.plan?.tasks.length ?? 0,
      hvps: this.hvps,
      elapsedSeconds: elapsed,
      etaSeconds: this.costDone > 0 && this.costTotal > 0 ? (elapsed * Math.max(0, this.costTotal - this.costDone)) / this.costDone : -1,
    };
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
      this.results = await this.ctx.store.jobResults(this.id);
      if (this.rec.scope === 'dataset') await this.prepareShards();
      else await this.prepareFirst();
      if (this.terminal) return;
      this.plan = makePlan(this.rec.spec, this.groups);
      this.plan.tasks.forEach((t, i) => this.order.set(t.id, i));
      this.costTotal = this.plan.tasks.reduce((s, t) => s + t.cost, 0);
      for (const t of this.plan.tasks) {
        const r = this.results.get(t.id);
        if (r) {
          this.hvps += r.hvps;
          this.costDone += t.cost;
        } else this.pending.push(t);
      }
      // Results of tasks that are not in this plan (cannot happen with the same spec) are dropped.
      for (const id of [...this.results.keys()]) if (!this.order.has(id)) this.results.delete(id);
      this.log.info({ tasks: this.plan.tasks.length, alreadyDone: this.results.size, scope: this.rec.scope }, 'planned');
      this.reportProgress(true);
      if (this.rec.scope === 'dataset') void this.runDataset();
      else {
        this.ctx.pump();
        this.maybeFinish();
      }
    } catch (e) {
      await this.fail(e);
    }
  }

  // ---- preparing -------------------------------------------------------------------------

  private callPrepare(w: LiveWorker, shardIndex = 0, shardCount = 0): Promise<PrepareReply__Output> {
    return callPrepare(w, prepareRequest(this.id, this.rec.spec, this.rec.scope, shardIndex, shardCount));
  }

  private useMeta(r: PrepareReply__Output): void {
    if (this.meta) return;
    this.meta = r;
    this.groups = JSON.parse(r.groupsJson) as GroupWithOffsets[];
  }

  /** Prepared key on a worker (batch scope), preparing it there once. */
  private ensurePrepared(w: LiveWorker): Promise<PrepareReply__Output> {
    let p = this.prepared.get(w.id);
    if (!p) {
      p = this.callPrepare(w);
      this.prepared.set(w.id, p);
      p.catch(() => this.prepared.delete(w.id));
    }
    return p;
  }

  /**
   * Takes over the Prepare that SubmitAnalysis's spec check sent to w for this job (batch
   * scope), finished or not, so the job does not prepare the same engine there again.
   */
  adoptPrepare(w: LiveWorker, p: Promise<PrepareReply__Output>): void {
    if (this.prepared.has(w.id)) return;
    this.prepared.set(w.id, p);
    p.catch(() => {
      if (this.prepared.get(w.id) === p) this.prepared.delete(w.id);
    });
  }

  isPreparedOn(w: LiveWorker): boolean {
    return this.prepared.has(w.id);
  }

  private async waitForWorkers(): Promise<LiveWorker[]> {
    for (let i = 0; ; i++) {
      if (this.terminal) return [];
      const ws = this.ctx.registry.available();
      if (ws.length > 0) return ws;
      if (i % 50 === 0) this.log.info('waiting for a worker');
      await sleep(200);
    }
  }

  private async prepareFirst(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const ws = await this.waitForWorkers();
      if (this.terminal) return;
      // Prefer the worker the submit-time check prepared on, then one that holds the job's model.
      const w = ws.find((x) => this.prepared.has(x.id)) ?? preferredWorker(ws, this.rec.spec.model);
      try {
        this.useMeta(await this.ensurePrepared(w));
        return;
      } catch (e) {
        if (classify(e) === 'user' || attempt >= MAX_FAILURES + MAX_REDISPATCHES) throw e;
        this.log.warn({ workerId: w.id, err: details(e) }, 'prepare failed; trying again');
        await sleep(Math.min(5000, 250 * 2 ** attempt));
      }
    }
  }

  private async prepareShards(): Promise<void> {
    const ws = await this.waitForWorkers();
    if (this.terminal) return;
    const k = ws.length;
    const replies = await Promise.all(ws.map((w, i) => this.callPrepare(w, i, k)));
    this.useMeta(replies[0]);
    this.shards = replies.map((r, i) => ({ worker: ws[i], key: r.key, examples: r.examples, lossValue: r.lossValue }));
    for (const w of ws) this.workersUsed.add(w.id);
    this.log.info({ shards: this.shards.map((s) => ({ worker: s.worker.id, examples: s.examples })) }, 'shards prepared');
  }

  // ---- batch scope: dispatch -------------------------------------------------------------

  private attempt(id: string): Attempt {
    let a = this.attempts.get(id);
    if (!a) {
      a = { failures: 0, redispatches: 0, excluded: new Set(), notBefore: 0, redispatchedFrom: null };
      this.attempts.set(id, a);
    }
    return a;
  }

  private target(): number {
    return this.rec.spec.trace?.targetRelStderr ?? 0;
  }

  private purgeSkippable(): void {
    if (!this.plan) return;
    const target = this.target();
    this.pending = this.pending.filter((t) => {
      if (!isSkippable(t, this.plan!, this.results, target)) return true;
      this.skipped++;
      this.costDone += t.cost;
      return false;
    });
  }

  /** The next task for a free slot on w, or undefined. */
  take(w: LiveWorker): Task | undefined {
    if (!this.active || !this.plan || this.rec.scope !== 'batch') return undefined;
    this.purgeSkippable();
    const now = Date.now();
    const others = this.ctx.registry.available().filter((x) => x.id !== w.id);
    for (let i = 0; i < this.pending.length; i++) {
      const t = this.pending[i];
      const a = this.attempts.get(t.id);
      if (a && a.notBefore > now) continue;
      if (a && a.excluded.has(w.id) && others.some((o) => !a.excluded.has(o.id))) continue;
      this.pending.splice(i, 1);
      return t;
    }
    return undefined;
  }

  hasRunnable(): boolean {
    return this.active && this.pending.length > 0;
  }

  private requeue(t: Task): void {
    const i = this.order.get(t.id)!;
    let at = this.pending.findIndex((p) => this.order.get(p.id)! > i);
    if (at < 0) at = this.pending.length;
    this.pending.splice(at, 0, t);
  }

  /** Runs task t on worker w (the scheduler counted the slot). */
  async run(t: Task, w: LiveWorker): Promise<void> {
    const a = this.attempt(t.id);
    const run: Running = { worker: w, cancel: null, deadWorker: false };
    this.running.set(t.id, run);
    this.workersUsed.add(w.id);
    if (a.redispatchedFrom) {
      const from = a.redispatchedFrom;
      a.redispatchedFrom = null;
      void this.emit({ type: 'task-redispatched', taskId: t.id, worker: w.id, message: `task ${t.id} re-dispatched from worker ${from.worker} to worker ${w.id} (${from.reason})` });
    }
    const log = this.log.child({ taskId: t.id, workerId: w.id });
    const started = performance.now();
    try {
      const prep = await this.ensurePrepared(w);
      if (this.terminal) return;
      const r = await this.callRunTask(w, prep.key, t, run);
      if (this.terminal) return;
      // Still counted as running until its result is stored and in `results`: otherwise another
      // task finishing meanwhile could aggregate without it.
      await this.finishTask(t, r, w.id);
      this.running.delete(t.id);
      this.ctx.metrics.task('ok', (performance.now() - started) / 1000, r.hvps);
      this.maybeFinish();
    } catch (e) {
      this.running.delete(t.id);
      if (this.terminal) return;
      const kind: Failure = run.deadWorker ? 'unavailable' : classify(e);
      const why = run.deadWorker ? `worker ${w.id} lost` : details(e);
      this.ctx.metrics.task(kind, (performance.now() - started) / 1000, 0);
      log.warn({ kind, err: why }, 'task failed');
      if (kind === 'user') {
        await this.fail(e);
        return;
      }
      if (kind === 'not-prepared') {
        this.prepared.delete(w.id);
        this.requeue(t);
      } else if (kind === 'unavailable') {
        a.redispatches++;
        w.suspectUntil = Date.now() + 2000;
        if (a.redispatches > MAX_REDISPATCHES) {
          await this.fail(new UserError(`task ${t.id} lost its worker ${a.redispatches} times; last: ${why}`, 'FAILED_PRECONDITION'));
          return;
        }
        a.redispatchedFrom = { worker: w.id, reason: why };
        this.prepared.delete(w.id);
        this.requeue(t);
      } else {
        a.failures++;
        if (a.failures >= MAX_FAILURES) {
          await this.fail(new Error(`task ${t.id} failed ${a.failures} times; last error: ${why}`));
          return;
        }
        const backoff = 500 * 2 ** (a.failures - 1);
        a.excluded.add(w.id);
        a.notBefore = Date.now() + backoff;
        this.requeue(t);
        void this.emit({ type: 'task-retry', taskId: t.id, worker: w.id, message: `task ${t.id} failed on worker ${w.id} (${why}); retry ${a.failures} of ${MAX_FAILURES - 1} in ${backoff} ms on another worker` });
        setTimeout(() => this.ctx.pump(), backoff + 10);
      }
    }
  }

  private callRunTask(w: LiveWorker, key: string, t: Task, run: Running): Promise<TaskResult> {
    return new Promise((resolve, reject) => {
      const call = w.client.RunTask(
        { jobId: this.id, key, taskJson: JSON.stringify(t), convention: this.rec.spec.convention },
        { deadline: Date.now() + this.ctx.taskDeadlineS * 1000 },
      );
      run.cancel = () => call.cancel();
      let result: TaskResult | null = null;
      call.on('data', (u: TaskUpdate__Output) => {
        if (u.update === 'resultJson' && u.resultJson) result = JSON.parse(u.resultJson) as TaskResult;
      });
      call.on('error', reject);
      call.on('end', () => (result ? resolve(result) : reject(Object.assign(new Error('task stream ended without a result'), { code: grpc.status.UNAVAILABLE }))));
    });
  }

  /** A dead worker's running tasks go back to the queue (their calls are cancelled). */
  onWorkerDead(w: LiveWorker, why: string): void {
    this.prepared.delete(w.id);
    for (const [, r] of this.running)
      if (r.worker === w) {
        r.deadWorker = true;
        r.cancel?.();
      }
    for (const s of this.streams) if (s.worker === w) s.abort(`worker ${w.id} lost: ${why}`);
  }

  private async finishTask(t: Task, r: TaskResult, worker: string): Promise<void> {
    await this.ctx.store.putResult(this.id, r);
    if (this.terminal) return;
    this.results.set(t.id, r);
    this.hvps += r.hvps;
    this.costDone += t.cost;
    void this.emit({ type: 'task-done', taskId: t.id, worker, message: `${t.id}: ${r.hvps} HVPs in ${r.seconds.toFixed(3)} s` });
    const partial = this.partialOf(t);
    if (partial) void this.emit({ type: 'partial', taskId: t.id, worker, partialJson: JSON.stringify(partial) });
    this.reportProgress();
  }

  private partialOf(t: Task): object | null {
    if (!this.plan) return null;
    const r = this.results.get(t.id);
    if (!r) return null;
    if (r.kind === 'trace') {
      const chunks = this.plan.tasks
        .filter((x) => x.kind === 'trace' && x.scope === t.scope && x.operator === t.operator)
        .map((x) => {
          const y = this.results.get(x.id);
          return y && y.kind === 'trace' ? y.samples : undefined;
        });
      const { used, satisfied } = traceChunksUsed(chunks, this.target());
      const samples = chunks.slice(0, used).flatMap((c) => c ?? []);
      if (samples.length === 0) return null;
      const s = summarizeTrace(samples);
      return { scope: t.scope, operator: t.operator, trace: { mean: s.mean, stderr: s.stderr, probes: s.probes }, final: satisfied || used === chunks.length };
    }
    if (r.kind === 'hutch++') return { scope: t.scope, operator: t.operator, trace: { mean: r.mean, stderr: r.stderr, probes: r.probes }, final: true };
    if (r.kind === 'top-k') return { scope: t.scope, operator: t.operator, top: { values: r.eigenvalues, residuals: r.residuals } };
    return null;
  }

  private finishing = false;

  private maybeFinish(): void {
    if (!this.active || !this.plan || this.finishing) return;
    this.purgeSkippable();
    if (this.pending.length > 0 || this.running.size > 0) return;
    this.finishing = true;
    void this.succeed();
  }

  private lossValue(): number {
    if (this.rec.scope === 'dataset') {
      const total = this.shards.reduce((s, x) => s + x.examples, 0);
      let l = 0;
      for (const s of this.shards) l += (s.lossValue * s.examples) / total;
      return l;
    }
    return this.meta!.lossValue;
  }

  private async succeed(): Promise<void> {
    try {
      const m = this.meta!;
      const report = aggregate(this.rec.spec, this.plan!, this.results, {
        tool: TOOL,
        model: { spec: this.rec.spec.model, name: m.modelName, params: Number(m.modelParams), inputShape: [...m.inputShape] },
        data: { spec: this.rec.spec.data, description: m.dataDescription, examples: m.totalExamples },
        backend: m.backend,
        lossValue: this.lossValue(),
        workers: Math.max(1, this.workersUsed.size),
        seconds: (performance.now() - this.t0) / 1000,
      });
      const json = JSON.stringify({ ...report, scope: this.rec.scope, ...(this.rec.scope === 'dataset' ? { shards: this.shards.map((s) => s.examples) } : {}) });
      await this.ctx.store.putReport(this.id, json);
      this.rec.hasReport = true;
      this.rec.progress = this.progress();
      await this.setState('SUCCEEDED');
      await this.emit({ type: 'succeeded', state: 'SUCCEEDED', progress: this.rec.progress, message: `${this.results.size} tasks, ${this.hvps} HVPs, ${this.rec.progress.elapsedSeconds.toFixed(2)} s` });
      this.log.info({ tasks: this.results.size, hvps: this.hvps, seconds: this.rec.progress.elapsedSeconds }, 'job succeeded');
    } catch (e) {
      this.finishing = false;
      await this.fail(e);
      return;
    }
    this.end();
  }

  async fail(e: unknown): Promise<void> {
    if (this.terminal) return;
    const msg = isUserError(e) ? e.message : (e as Partial<grpc.ServiceError>)?.code !== undefined ? details(e) : e instanceof Error ? e.message : String(e);
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
    for (const r of this.running.values()) r.cancel?.();
    for (const s of this.streams) s.abort('job ended');
  }

  private end(): void {
    if (this.progressTimer) clearTimeout(this.progressTimer);
    this.progressTimer = null;
    this.ctx.onFinished(this);
  }

  // ---- dataset scope ---------------------------------------------------------------------

  private async runDataset(): Promise<void> {
    const conv = this.rec.spec.convention;
    const lanes = Math.max(1, Math.min(...this.shards.map((s) => s.worker.hb.capacity)));
    try {
      await Promise.all(
        Array.from({ length: lanes }, async () => {
          for (;;) {
            if (this.terminal) return;
            this.purgeSkippable();
            const t = this.pending.shift();
            if (!t) return;
            const started = performance.now();
            const ops: DistributedOperator[] = [];
            let r: TaskResult;
            try {
              r = await executeTask(t, this.distributedEngine(ops), conv);
            } finally {
              for (const op of ops) op.close();
            }
            if (this.terminal) return;
            this.ctx.metrics.task('ok', (performance.now() - started) / 1000, r.hvps);
            await this.finishTask(t, r, this.shards.map((s) => s.worker.id).join(','));
          }
        }),
      );
      this.maybeFinish();
    } catch (e) {
      await this.fail(e);
    }
  }

  /** What executeTask needs of an engine: operators (distributed) and scope offsets (from the groups). */
  private distributedEngine(ops: DistributedOperator[]): HessianEngine {
    const total = Number(this.meta!.modelParams);
    const groupOf = (s: Scope) => {
      if (s.kind === 'full') return null;
      const g = this.groups.find((x) => x.name === s.group);
      if (!g) throw new UserError(`layers: unknown layer "${s.group}"`);
      return g;
    };
    return {
      operator: (kind: OperatorKind, scope: Scope): LinearOperator => {
        const g = groupOf(scope);
        const op = new DistributedOperator(this, kind, g ? g.name : 'full', g ? g.size : total);
        ops.push(op);
        return op;
      },
      scopeOffsets: (scope: Scope) => {
        const g = groupOf(scope);
        return g ? g.tensors.map((t) => ({ offset: t.offset, size: t.size })) : [{ offset: 0, size: total }];
      },
    } as unknown as HessianEngine;
  }

  shardCount(): number {
    return this.shards.length;
  }

  shardWeights(): number[] {
    const total = this.shards.reduce((s, x) => s + x.examples, 0);
    return this.shards.map((s) => s.examples / total);
  }

  openStream(i: number, kind: OperatorKind, scope: string): HvpStream {
    const s = this.shards[i];
    const st = new HvpStream(s.worker, { key: s.key, operator: kind, scope, convention: this.rec.spec.convention }, this.ctx.taskDeadlineS, () => this.streams.delete(st));
    this.streams.add(st);
    return st;
  }

  shardWorker(i: number): LiveWorker {
    return this.shards[i].worker;
  }

  /** Moves shard i off a failed worker onto another live one (prepared there); concurrent callers share the move. */
  async moveShard(i: number, from: LiveWorker, why: string): Promise<void> {
    if (this.shards[i].worker !== from) return; // already moved
    let p = this.shardMoves.get(i);
    if (!p) {
      p = (async () => {
        from.suspectUntil = Date.now() + 2000;
        for (let attempt = 1; attempt <= MAX_REDISPATCHES; attempt++) {
          if (this.terminal) throw new Error('job ended');
          const ws = this.ctx.registry.available().filter((w) => w !== from);
          if (ws.length === 0) {
            await sleep(250);
            continue;
          }
          const load = (w: LiveWorker) => this.shards.filter((s) => s.worker === w).length;
          const w = ws.sort((a, b) => load(a) - load(b))[0];
          try {
            const r = await this.callPrepare(w, i, this.shards.length);
            this.shards[i] = { worker: w, key: r.key, examples: r.examples, lossValue: r.lossValue };
            this.workersUsed.add(w.id);
            void this.emit({ type: 'task-redispatched', worker: w.id, message: `shard ${i} of ${this.shards.length} moved from worker ${from.id} to worker ${w.id} (${why})` });
            return;
          } catch (e) {
            if (classify(e) === 'user') throw e;
            await sleep(250 * attempt);
          }
        }
        throw new Error(`shard ${i} could not be moved off worker ${from.id}: no worker took it`);
      })();
      this.shardMoves.set(i, p);
      void p.then(
        () => this.shardMoves.delete(i),
        () => this.shardMoves.delete(i),
      );
    }
    await p;
  }
}

/** One Hvp stream to one shard's worker: send v (in chunks), receive its shard product. */
export class HvpStream {
  private call: grpc.ClientDuplexStream<HvpRequest, VectorChunk__Output>;
  private pending: { resolve: (v: Float32Array) => void; reject: (e: unknown) => void; asm: VectorAssembler } | null = null;
  private error: unknown = null;
  private headerSent = false;

  constructor(
    readonly worker: LiveWorker,
    private readonly header: { key: string; operator: string; scope: string; convention: string },
    deadlineS: number,
    private readonly onClose: () => void,
  ) {
    this.call = worker.client.Hvp({ deadline: Date.now() + deadlineS * 1000 });
    this.call.on('data', (c: VectorChunk__Output) => {
      const p = this.pending;
      if (!p) return;
      try {
        p.asm.add(c);
        if (p.asm.complete) {
          this.pending = null;
          p.resolve(p.asm.result());
        }
      } catch (e) {
        this.pending = null;
        p.reject(e);
      }
    });
    this.call.on('error', (e) => this.failWith(e));
    this.call.on('end', () => this.failWith(Object.assign(new Error('Hvp stream ended'), { code: grpc.status.UNAVAILABLE })));
  }

  private failWith(e: unknown): void {
    if (!this.error) this.error = e;
    const p = this.pending;
    this.pending = null;
    p?.reject(e);
    this.onClose();
  }

  product(v: Float32Array): Promise<Float32Array> {
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject, asm: new VectorAssembler() };
      for (const c of toChunks(v)) {
        if (!this.headerSent) {
          this.call.write({ ...this.header, v: c });
          this.headerSent = true;
        } else this.call.write({ v: c });
      }
    });
  }

  abort(why: string): void {
    this.failWith(Object.assign(new Error(why), { code: grpc.status.UNAVAILABLE }));
    this.call.cancel();
  }

  close(): void {
    if (!this.error) this.call.end();
    this.onClose();
  }
}

/**
 * The data-parallel operator: H v = sum over shards of (n_s / N) H_s v, where H_s is the
 * Hessian of the mean loss over shard s. Summed in float64 in shard order, then float32.
 */
export class DistributedOperator implements LinearOperator {
  private streams: (HvpStream | null)[];

  constructor(
    private readonly job: JobRun,
    private readonly kind: OperatorKind,
    private readonly scope: string,
    readonly dim: number,
  ) {
    this.streams = Array.from({ length: job.shardCount() }, () => null);
  }

  private async shardProduct(i: number, v: Float32Array): Promise<Float32Array> {
    for (let attempt = 0; ; attempt++) {
      if (this.job.terminal) throw new Error('job ended');
      let s = this.streams[i];
      if (!s) s = this.streams[i] = this.job.openStream(i, this.kind, this.scope);
      try {
        return await s.product(v);
      } catch (e) {
        this.streams[i] = null;
        s.abort('retrying');
        if (this.job.terminal || classify(e) === 'user' || attempt >= MAX_REDISPATCHES) throw e;
        await this.job.moveShard(i, s.worker, details(e));
      }
    }
  }

  close(): void {
    for (const s of this.streams) s?.close();
    this.streams = this.streams.map(() => null);
  }

  async matvec(v: Float32Array): Promise<Float32Array> {
    if (v.length !== this.dim) throw new Error(`matvec: vector has length ${v.length}, operator dimension is ${this.dim}`);
    const parts = await Promise.all(this.streams.map((_, i) => this.shardProduct(i, v)));
    const w = this.job.shardWeights();
    const acc = new Float64Array(this.dim);
    for (let s = 0; s < parts.length; s++) {
      const p = parts[s];
      const ws = w[s];
      for (let j = 0; j < this.dim; j++) acc[j] += ws * p[j];
    }
    return Float32Array.from(acc);
  }
}

export { scopeOf, type Convention };
