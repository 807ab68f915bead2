/**
 * The data-parallel scope (`scope = "dataset"`): the examples are split into S shards
 * (`floor(i N / S)` boundaries; S = the job's `--shards`, else the live workers at job start),
 * placed on the live workers in contiguous runs (shards.ts); the coordinator runs every
 * task itself, in lanes that take from the job's TaskQueue, on a DistributedCompute whose
 * operators sum the shards' products over Hvp streams. A failed shard worker is replaced by
 * preparing its shard elsewhere (`move`), so the algorithm's state is kept.
 */
import * as grpc from '@grpc/grpc-js';
import { executeTask, workerMemoryBudget, type ComputeContext, type ParamRange, type TaskQueue } from '@hessian/analysis';
import type { OperatorKind, ParamGroup, Scope } from '@hessian/engine';
import { UserError } from '@hessian/linalg';
import { sleep, type LiveWorker, type PrepareReply__Output } from '@hessian/wire';
import { DistributedOperator, HvpStream, type Shards, type Traffic } from './hvp-stream.js';
import type { JobRun } from './job.js';
import { placeShards } from './shards.js';
import { classify, MAX_REDISPATCHES } from './worker-calls.js';

interface Shard {
  worker: LiveWorker;
  key: string;
  examples: number;
  lossValue: number;
}

/** ComputeContext of the dataset scope: distributed operators, offsets from the Prepare reply's groups. */
export class DistributedCompute implements ComputeContext {
  private readonly ops: DistributedOperator[] = [];

  constructor(
    private readonly shards: Shards,
    private readonly groups: readonly ParamGroup[],
    private readonly total: number,
    private readonly deadlineS: number,
  ) {}

  private groupOf(s: Scope): ParamGroup | null {
    if (s.kind === 'full') return null;
    const g = this.groups.find((x) => x.name === s.group);
    if (!g) throw new UserError(`layers: unknown layer "${s.group}"`);
    return g;
  }

  operator(kind: OperatorKind, scope: Scope): DistributedOperator {
    const g = this.groupOf(scope);
    const op = new DistributedOperator(this.shards, kind, g ? g.name : 'full', g ? g.size : this.total, this.deadlineS);
    this.ops.push(op);
    return op;
  }

  scopeOffsets(scope: Scope): ParamRange[] {
    const g = this.groupOf(scope);
    return g ? g.tensors.map((t) => ({ offset: t.offset, size: t.size })) : [{ offset: 0, size: this.total }];
  }

  /** Ends the Hvp streams of every operator handed out. */
  close(): void {
    for (const op of this.ops) op.close();
  }

  /** What the operators handed out moved through this process, summed. */
  traffic(): Traffic {
    const t: Traffic = { products: 0, bytesOut: 0, bytesIn: 0, seconds: 0 };
    for (const op of this.ops) {
      t.products += op.traffic.products;
      t.bytesOut += op.traffic.bytesOut;
      t.bytesIn += op.traffic.bytesIn;
      t.seconds += op.traffic.seconds;
    }
    return t;
  }
}

export class DatasetScope implements Shards {
  private shards: Shard[] = [];
  private moves = new Map<number, Promise<void>>();
  private streams = new Set<HvpStream>();

  constructor(private readonly job: JobRun) {}

  get ended(): boolean {
    return this.job.terminal;
  }

  /** Prepares one shard on each live worker; resolves the first reply (model and data description), or null when the job ended while waiting. */
  async prepare(): Promise<PrepareReply__Output | null> {
    const ws = await this.job.waitForWorkers();
    if (this.job.terminal) return null;
    const k = this.job.rec.shards || ws.length;
    const place = placeShards(k, ws.length);
    const replies = await Promise.all(place.map((w, i) => this.job.callPrepare(ws[w], i, k)));
    this.shards = replies.map((r, i) => ({ worker: ws[place[i]], key: r.key, examples: r.examples, lossValue: r.lossValue }));
    for (const w of ws) this.job.workersUsed.add(w.id);
    this.job.log.info({ shards: this.shards.map((s) => ({ worker: s.worker.id, examples: s.examples })) }, 'shards prepared');
    return replies[0];
  }

  /** Runs the queue's tasks in lanes (as many as the least capacity of the shard workers); the job finishes or fails after. */
  async run(queue: TaskQueue, groups: readonly ParamGroup[], total: number): Promise<void> {
    const lanes = Math.max(1, Math.min(...this.shards.map((s) => s.worker.hb.capacity)));
    const conv = this.job.rec.spec.convention;
    try {
      await Promise.all(
        Array.from({ length: lanes }, async () => {
          for (;;) {
            if (this.job.terminal) return;
            const t = queue.take();
            if (!t) return;
            const started = performance.now();
            const compute = new DistributedCompute(this, groups, total, this.job.taskDeadlineS(t));
            let r;
            try {
              // The coordinator holds this scope's Lanczos vectors itself: the same budget rule as a
              // worker's (HESSIAN_WORKER_MEMORY or 75% of the machine), less what it already uses, per lane.
              r = await executeTask(t, compute, conv, { available: (workerMemoryBudget().bytes - process.memoryUsage().rss) / lanes });
            } finally {
              compute.close();
            }
            if (this.job.terminal) return;
            // Bytes through this process per task: every product sends v to and receives a product from each shard.
            this.job.log.info({ taskId: t.id, ...compute.traffic() }, 'dataset task done');
            this.job.ctx.metrics.task('ok', (performance.now() - started) / 1000, r.hvps);
            await this.job.finishTask(t, r, this.shards.map((s) => s.worker.id).join(','));
          }
        }),
      );
      this.job.maybeFinish();
    } catch (e) {
      await this.job.fail(e);
    }
  }

  count(): number {
    return this.shards.length;
  }

  weights(): number[] {
    const total = this.shards.reduce((s, x) => s + x.examples, 0);
    return this.shards.map((s) => s.examples / total);
  }

  /** Examples per shard, in shard order (the report's `shards`). */
  sizes(): number[] {
    return this.shards.map((s) => s.examples);
  }

  /** The mean loss over all examples: shard means weighted by shard size. */
  lossValue(): number {
    const total = this.shards.reduce((s, x) => s + x.examples, 0);
    let l = 0;
    for (const s of this.shards) l += (s.lossValue * s.examples) / total;
    return l;
  }

  workerOf(i: number): LiveWorker {
    return this.shards[i].worker;
  }

  open(i: number, kind: OperatorKind, scope: string, deadlineS: number): HvpStream {
    const s = this.shards[i];
    // A worker the registry dropped (missed heartbeats) has a closed channel: move the shard instead.
    if (this.job.ctx.registry.workers.get(s.worker.id) !== s.worker) throw Object.assign(new Error(`worker ${s.worker.id} was lost`), { code: grpc.status.UNAVAILABLE });
    const st = new HvpStream(s.worker, { key: s.key, operator: kind, scope, convention: this.job.rec.spec.convention }, deadlineS, () => this.streams.delete(st));
    this.streams.add(st);
    return st;
  }

  /** A dead worker's streams fail (their operators move the shard and retry the product). */
  onWorkerDead(w: LiveWorker, why: string): void {
    for (const s of this.streams) if (s.worker === w) s.abort(`worker ${w.id} lost: ${why}`);
  }

  abortAll(why: string): void {
    for (const s of this.streams) s.abort(why);
  }

  /** Moves shard i off a failed worker onto another live one (prepared there); concurrent callers share the move. */
  async move(i: number, from: LiveWorker, why: string): Promise<void> {
    if (this.shards[i].worker !== from) return; // already moved
    let p = this.moves.get(i);
    if (!p) {
      p = (async () => {
        from.suspectUntil = Date.now() + 2000;
        for (let attempt = 1; attempt <= MAX_REDISPATCHES; attempt++) {
          if (this.job.terminal) throw new Error('job ended');
          const ws = this.job.ctx.registry.available().filter((w) => w !== from);
          if (ws.length === 0) {
            await sleep(250);
            continue;
          }
          const load = (w: LiveWorker) => this.shards.filter((s) => s.worker === w).length;
          const w = ws.sort((a, b) => load(a) - load(b))[0];
          try {
            const r = await this.job.callPrepare(w, i, this.shards.length);
            this.shards[i] = { worker: w, key: r.key, examples: r.examples, lossValue: r.lossValue };
            this.job.workersUsed.add(w.id);
            void this.job.emit({ type: 'task-redispatched', worker: w.id, message: `shard ${i} of ${this.shards.length} moved from worker ${from.id} to worker ${w.id} (${why})` });
            return;
          } catch (e) {
            if (classify(e) === 'user') throw e;
            await sleep(250 * attempt);
          }
        }
        throw new Error(`shard ${i} could not be moved off worker ${from.id}: no worker took it`);
      })();
      this.moves.set(i, p);
      void p.then(
        () => this.moves.delete(i),
        () => this.moves.delete(i),
      );
    }
    await p;
  }
}
