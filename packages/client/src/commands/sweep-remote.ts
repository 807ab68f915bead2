/**
 * The cluster path of `hessctl sweep --server`: each checkpoint becomes one coordinator job.
 * `remoteAnalyzer` is the AnalyzeCheckpoint that runSweep (@hessian/training) calls per
 * checkpoint: upload model.json and its weights (UploadModel, one upload at a time), submit
 * the analysis with the digest as the model, follow its events, and return its report. runSweep
 * calls it for all checkpoints at once, so every job is queued at the coordinator, which
 * spreads their tasks over the workers. Loaded only with --server (the embedded sweep never
 * loads gRPC).
 */
import * as path from 'node:path';
import type { Progress, Report } from '@hessian/analysis';
import { UserError } from '@hessian/linalg';
import type { AnalyzeCheckpoint, CheckpointTask } from '@hessian/training';
import type { CoordinatorConnection, Scope } from '../grpc-client.js';
import { noteEvent, parseReport, toProgress } from './remote-common.js';

export interface RemoteAnalyzerOptions {
  scope?: Scope;
  /** dataset scope: shards fixed for every checkpoint's job (0: one per live worker) */
  shards?: number;
  /** a name prefix for the uploaded models in the coordinator's store (default: the run folder's name) */
  name?: string;
  /** the job of a checkpoint was accepted */
  onSubmitted?: (t: CheckpointTask, jobId: string, digest: string) => void;
  /** a retry or re-dispatch of one of the job's tasks */
  onNote?: (t: CheckpointTask, note: string) => void;
  onReconnect?: (t: CheckpointTask, info: { attempt: number; afterSequence: number; error: string }) => void;
}

/** One upload at a time: uploads of many checkpoints would otherwise contend for the link and the coordinator. */
class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.tail.then(fn, fn);
    this.tail = p.catch(() => undefined);
    return p;
  }
}

function cancelledError(jobId?: string): UserError {
  return new UserError(jobId ? `job ${jobId} cancelled` : 'cancelled before its job was submitted', 'FAILED_PRECONDITION');
}

/** An AnalyzeCheckpoint that runs each checkpoint as a job of the coordinator behind `conn`. */
export function remoteAnalyzer(conn: CoordinatorConnection, opts: RemoteAnalyzerOptions = {}): AnalyzeCheckpoint {
  const uploads = new Serial();
  return async (t: CheckpointTask): Promise<Report> => {
    const modelJson = path.join(t.dir, 'model.json');
    const name = `${opts.name ?? path.basename(path.dirname(path.dirname(path.resolve(t.dir))))}/${path.basename(t.dir)}`;
    const up = await uploads.run(async () => {
      if (t.signal?.aborted) throw cancelledError();
      return conn.uploadModel(modelJson, { name });
    });
    if (t.signal?.aborted) throw cancelledError();
    const job = await conn.submitAnalysis({ ...t.spec, model: up.digest }, { scope: opts.scope ?? 'batch', shards: opts.shards ?? 0 });
    opts.onSubmitted?.(t, job.id, up.digest);
    // Aborted while the submit was on its way: the watch below returns at once, then the job is cancelled.
    for await (const ev of conn.watchJob(job.id, { signal: t.signal, onReconnect: opts.onReconnect ? (r) => opts.onReconnect!(t, r) : undefined })) {
      if (ev.progress) t.onProgress?.(toProgress(ev.progress));
      const note = noteEvent(ev);
      if (note) opts.onNote?.(t, note);
    }
    // Interrupted: cancel the job, but keep its report if it succeeded in the meantime.
    if (t.signal?.aborted) await conn.cancelJob(job.id).catch(() => undefined);
    const final = await conn.getJob(job.id, { includeReport: true });
    if (final.state === 'SUCCEEDED') return parseReport(final);
    if (t.signal?.aborted) throw cancelledError(job.id);
    if (final.state === 'CANCELLED') throw new UserError(`job ${job.id} was cancelled (by \`hessctl cancel\` or another client)`, 'FAILED_PRECONDITION');
    throw new UserError(`job ${job.id} ${final.state === 'FAILED' ? 'failed' : `ended ${final.state}`}: ${final.error || 'no reason given'}`, 'FAILED_PRECONDITION');
  };
}

/**
 * The progress of many jobs as one: tasks and HVPs summed over the checkpoints (a checkpoint
 * counts once its job has reported its task count), elapsed since the sweep began, ETA from
 * the fraction done once every checkpoint has reported.
 */
export class SweepProgress {
  private readonly per = new Map<number, Progress>();
  private readonly t0 = performance.now();
  constructor(private readonly total: number) {}

  update(index: number, p: Progress): Progress {
    this.per.set(index, p);
    let tasksDone = 0;
    let tasksSkipped = 0;
    let tasksTotal = 0;
    let hvps = 0;
    let costDone = 0;
    let costTotal = 0;
    for (const q of this.per.values()) {
      tasksDone += q.tasksDone;
      tasksSkipped += q.tasksSkipped;
      tasksTotal += q.tasksTotal;
      hvps += q.hvps;
      costDone += q.costDone;
      costTotal += q.costTotal;
    }
    const elapsedSeconds = (performance.now() - this.t0) / 1000;
    const frac = costTotal > 0 ? costDone / costTotal : 0;
    const etaSeconds = this.per.size === this.total && frac > 0 ? (elapsedSeconds * (1 - frac)) / frac : null;
    return { tasksDone, tasksSkipped, tasksTotal, hvps, costDone, costTotal, elapsedSeconds, etaSeconds };
  }
}
