/**
 * JetStream state: job records (KV hessian_jobs), finished task results (KV hessian_results),
 * uploaded models and reports (object stores), job events (stream HESSIAN_EVENTS over
 * hessian.jobs.*.events). Every write retries while NATS is away, so a restarted
 * nats-server costs time, not jobs.
 */
import type { AnalysisSpec, TaskResult } from '@hessian/analysis';
import { BUCKETS, EVENTS_STREAM, resultKey, sleep, SUBJECTS, taskIdOfResultKey, type NatsAuthOptions } from '@hessian/wire';
import { connect, consumerOpts, nanos, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager, type KV, type NatsConnection, type ObjectStore } from 'nats';
import { purgeOrphanChunks } from './object-writer.js';
import type { Logger } from 'pino';

export type JobStateName = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
export const TERMINAL: ReadonlySet<JobStateName> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

export interface JobProgress {
  tasksDone: number;
  tasksSkipped: number;
  tasksTotal: number;
  hvps: number;
  elapsedSeconds: number;
  etaSeconds: number;
}

export interface JobRecord {
  id: string;
  state: JobStateName;
  spec: AnalysisSpec;
  scope: 'batch' | 'dataset';
  /** Dataset scope: shards fixed at submit (--shards); 0 or absent: one per live worker at start. */
  shards?: number;
  progress: JobProgress;
  error: string;
  createdAt: string;
  updatedAt: string;
  clientRequestId: string;
  hasReport: boolean;
}

export interface EventBody {
  type: string;
  time: string;
  message?: string;
  taskId?: string;
  worker?: string;
  progress?: JobProgress;
  partialJson?: string;
  state?: JobStateName;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export class Store {
  nc!: NatsConnection;
  js!: JetStreamClient;
  jsm!: JetStreamManager;
  jobs!: KV;
  results!: KV;
  models!: ObjectStore;
  reports!: ObjectStore;

  constructor(
    private readonly url: string,
    private readonly log: Logger,
    private readonly auth: NatsAuthOptions = {},
  ) {}

  async open(): Promise<void> {
    this.nc = await connect({ ...this.auth, servers: this.url, name: 'coordinator', maxReconnectAttempts: -1, reconnectTimeWait: 500, waitOnFirstConnect: true });
    void (async () => {
      for await (const s of this.nc.status()) if (s.type === 'disconnect' || s.type === 'reconnect') this.log.warn({ nats: s.type, data: String(s.data) }, 'nats connection');
    })();
    const jsm = await this.nc.jetstreamManager();
    this.jsm = jsm;
    const cfg = { name: EVENTS_STREAM, subjects: [SUBJECTS.allEvents], storage: StorageType.File, retention: RetentionPolicy.Limits, max_age: nanos(7 * 24 * 3600 * 1000) };
    try {
      await jsm.streams.info(EVENTS_STREAM);
    } catch {
      await jsm.streams.add(cfg);
    }
    this.js = this.nc.jetstream();
    this.jobs = await this.js.views.kv(BUCKETS.jobs, { history: 1, storage: StorageType.File });
    this.results = await this.js.views.kv(BUCKETS.results, { history: 1, storage: StorageType.File });
    this.models = await this.js.views.os(BUCKETS.models, { storage: StorageType.File });
    this.reports = await this.js.views.os(BUCKETS.reports, { storage: StorageType.File });
    await this.sweepUploads();
  }

  /** Purges the chunks of uploads a previous coordinator did not finish (no object names them). */
  private async sweepUploads(): Promise<void> {
    try {
      const live: string[] = [];
      for (const o of await this.models.list()) live.push(o.nuid);
      const n = await purgeOrphanChunks(this.jsm, BUCKETS.models, live);
      if (n > 0) this.log.info({ uploads: n }, 'purged the chunks of unfinished uploads');
    } catch (e) {
      this.log.warn({ err: String(e) }, 'unfinished uploads not swept');
    }
  }

  /** Runs fn until it succeeds (NATS may be restarting); gives up after `tries`. */
  async retry<T>(what: string, fn: () => Promise<T>, tries = 120): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return await fn();
      } catch (e) {
        if (i >= tries) throw e;
        if (i === 1 || i % 10 === 0) this.log.warn({ what, attempt: i, err: String(e) }, 'nats operation failed; retrying');
        await sleep(Math.min(2000, 100 * i));
      }
    }
  }

  async putJob(r: JobRecord): Promise<void> {
    await this.retry(`put job ${r.id}`, () => this.jobs.put(r.id, enc.encode(JSON.stringify(r))));
  }

  async allJobs(): Promise<JobRecord[]> {
    const out: JobRecord[] = [];
    const keys: string[] = [];
    for await (const k of await this.jobs.keys()) keys.push(k);
    for (const k of keys) {
      const e = await this.jobs.get(k);
      if (e && e.operation === 'PUT' && e.value.length > 0) out.push(JSON.parse(dec.decode(e.value)) as JobRecord);
    }
    return out;
  }

  async putResult(jobId: string, r: TaskResult): Promise<void> {
    await this.retry(`put result ${jobId} ${r.id}`, () => this.results.put(resultKey(jobId, r.id), enc.encode(JSON.stringify(r))));
  }

  async jobResults(jobId: string): Promise<Map<string, TaskResult>> {
    const out = new Map<string, TaskResult>();
    const keys: string[] = [];
    await this.retry(`list results ${jobId}`, async () => {
      keys.length = 0;
      for await (const k of await this.results.keys(`${jobId}.*`)) keys.push(k);
    });
    for (const k of keys) {
      const e = await this.retry(`get result ${k}`, () => this.results.get(k));
      if (e && e.operation === 'PUT' && e.value.length > 0) out.set(taskIdOfResultKey(k), JSON.parse(dec.decode(e.value)) as TaskResult);
    }
    return out;
  }

  async publishEvent(jobId: string, ev: EventBody): Promise<number> {
    const ack = await this.retry(`publish event ${jobId} ${ev.type}`, () => this.js.publish(SUBJECTS.events(jobId), enc.encode(JSON.stringify(ev))));
    return ack.seq;
  }

  /** Replays a job's events from after `afterSeq`, then follows live ones; stop() ends it. */
  async watchEvents(jobId: string, afterSeq: number, onEvent: (seq: number, ev: EventBody) => boolean): Promise<() => void> {
    const opts = consumerOpts();
    opts.orderedConsumer();
    if (afterSeq > 0) opts.startSequence(afterSeq + 1);
    else opts.deliverAll();
    const sub = await this.js.subscribe(SUBJECTS.events(jobId), opts);
    void (async () => {
      for await (const m of sub) {
        const more = onEvent(m.seq, JSON.parse(dec.decode(m.data)) as EventBody);
        if (!more) {
          sub.unsubscribe();
          break;
        }
      }
    })().catch((e) => this.log.warn({ jobId, err: String(e) }, 'watch ended'));
    return () => {
      try {
        sub.unsubscribe();
      } catch {
        /* already closed */
      }
    };
  }

  async putReport(jobId: string, json: string): Promise<void> {
    await this.retry(`put report ${jobId}`, () => this.reports.putBlob({ name: jobId }, enc.encode(json)));
  }

  async getReport(jobId: string): Promise<string> {
    const b = await this.reports.getBlob(jobId);
    return b ? dec.decode(b) : '';
  }

  publishCancel(jobId: string): void {
    try {
      this.nc.publish(SUBJECTS.cancel(jobId), enc.encode('{}'));
    } catch (e) {
      this.log.warn({ jobId, err: String(e) }, 'cancel not published');
    }
  }

  async close(): Promise<void> {
    if (!this.nc.isClosed()) await this.nc.drain().catch(() => undefined);
  }
}
