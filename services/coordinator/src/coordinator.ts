/**
 * The coordinator: the Coordinator gRPC service, the job queue (queue limit, active jobs),
 * the scheduler that hands free worker slots to jobs, and resumption of unfinished jobs
 * from JetStream on start.
 */
import * as grpc from '@grpc/grpc-js';
import { normalizeSpec } from '@hessian/analysis';
import { parseDataSpec } from '@hessian/engine';
import { UserError } from '@hessian/linalg';
import {
  bindServers,
  checkSpecFiles,
  closeServers,
  SERVER_OPTIONS,
  loadProtos,
  Metrics,
  natsAuthProblem,
  Registry,
  specFromProto,
  specToProto,
  TokenAuth,
  type Job,
  type LiveWorker,
  type NatsAuthOptions,
  type SubmitAnalysisRequest__Output,
} from '@hessian/wire';
import { HealthImplementation } from 'grpc-health-check';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { SubmitChecker, validateModel, type SubmitCheck } from './admission.js';
import { checkShards } from './shards.js';
import { authenticated, coordinatorHandlers, type CoordinatorApi } from './api.js';
import { JobRun, type JobContext } from './job.js';
import { ChunkSlots } from './object-writer.js';
import { Store, TERMINAL, type JobRecord } from './store.js';
import { UploadBudget } from './upload-budget.js';
import type { UploadLimits } from './upload.js';

/** Object-store chunks (128 KiB) unacknowledged at once across all uploads: 4 MiB, so uploads cannot swamp NATS. */
const UPLOAD_CHUNKS_IN_FLIGHT = 32;

export interface CoordinatorConfig {
  natsUrl: string;
  grpcPort: number;
  metricsPort: number;
  queueLimit: number;
  maxActiveJobs: number;
  taskDeadlineS: number;
  maxUploadBytes: number;
  /** Bytes of all uploads in progress together (HESSIAN_UPLOAD_BYTES_IN_FLIGHT; undefined: 1 GiB). */
  uploadBytesInFlight?: number;
  heartbeatTimeoutS: number;
  /** Plaintext port serving only grpc.health.v1.Health (for Kubernetes probes, which speak no TLS); -1 or undefined: none. */
  healthPort?: number;
  /** Server credentials of the API port (default: insecure). */
  serverCredentials?: grpc.ServerCredentials;
  /** Channel credentials (and client options: TLS name, the cluster-secret interceptor) for dialling workers (default: insecure). */
  workerCredentials?: () => grpc.ChannelCredentials;
  workerChannelOptions?: grpc.ClientOptions;
  /** Bearer tokens accepted on the Coordinator service; empty: no authentication. */
  apiTokens?: string[];
  /** Directories model paths and idx:/npy: data must resolve into (undefined: no check). */
  dataRoots?: string[];
  /** NATS credentials and TLS (nats.js ConnectionOptions). */
  natsAuth?: NatsAuthOptions;
  /**
   * Seconds SubmitAnalysis waits for a live worker's Prepare of the spec (the check of what
   * only the loaded model can tell: layer names, data vs model, a model that fails to load)
   * before accepting the job unchecked; 0: no check (undefined: 5).
   */
  submitCheckS?: number;
}

/**
 * Names answered by the standard gRPC health service (grpc.health.v1.Health) on the API port.
 * '' and the Coordinator service: SERVING once NATS and the KV buckets are ready, NOT_SERVING
 * while NATS is unreachable (readiness). 'liveness': SERVING as soon as the port is bound,
 * whatever NATS does, so a liveness probe never restarts a coordinator that waits for NATS.
 */
export const HEALTH_SERVICES = { overall: '', coordinator: 'hessian.v1.Coordinator', liveness: 'liveness' } as const;

export class CoordinatorService implements CoordinatorApi {
  readonly store: Store;
  readonly registry: Registry;
  private server = new grpc.Server(SERVER_OPTIONS);
  private healthServer: grpc.Server | null = null;
  healthPort = -1;
  readonly health = new HealthImplementation({ [HEALTH_SERVICES.overall]: 'NOT_SERVING', [HEALTH_SERVICES.coordinator]: 'NOT_SERVING', [HEALTH_SERVICES.liveness]: 'SERVING' });
  private ready = false;
  readonly records = new Map<string, JobRecord>();
  readonly runs = new Map<string, JobRun>();
  private queue: JobRun[] = [];
  private byRequestId = new Map<string, string>();
  readonly metrics = new Metrics();
  grpcPort = 0;
  metricsPort = -1;
  private pumping = false;
  private readonly auth: TokenAuth;
  private mSubmitted = this.metrics.counter('hessian_jobs_submitted_total', 'SubmitAnalysis calls, by outcome (accepted, duplicate, refused, invalid).');
  private mJobsEnded = this.metrics.counter('hessian_jobs_finished_total', 'Jobs that ended, by state.');
  private mTasks = this.metrics.counter('hessian_tasks_total', 'Task attempts, by result (ok, user, unavailable, transient, not-prepared).');
  private mTaskSeconds = this.metrics.counter('hessian_task_seconds_total', 'Seconds of task attempts as seen by the coordinator (sum; divide by hessian_tasks_total for the mean).');
  private mHvps = this.metrics.counter('hessian_hvps_total', 'HVPs of finished tasks.');
  private mEvents = this.metrics.counter('hessian_events_total', 'Job events published, by type.');
  private readonly checker: SubmitChecker;
  readonly uploads: UploadLimits;

  constructor(
    readonly cfg: CoordinatorConfig,
    readonly log: Logger,
  ) {
    this.store = new Store(cfg.natsUrl, log, cfg.natsAuth);
    this.registry = new Registry(cfg.heartbeatTimeoutS, log, cfg.workerCredentials, cfg.workerChannelOptions);
    this.auth = new TokenAuth(cfg.apiTokens ?? []);
    this.checker = new SubmitChecker(
      this.registry,
      log,
      cfg.submitCheckS,
      this.metrics.counter(
        'hessian_submit_checks_total',
        'Submit-time spec checks on a worker, by result (passed, refused, timeout: accepted unchecked, no-worker: accepted unchecked, error: accepted unchecked).',
      ),
    );
    this.uploads = { maxBytes: cfg.maxUploadBytes, budget: new UploadBudget(cfg.uploadBytesInFlight ?? 1024 ** 3), slots: new ChunkSlots(UPLOAD_CHUNKS_IN_FLIGHT) };
    this.metrics.gauge('hessian_upload_bytes_in_flight', 'Bytes reserved by uploads in progress (limit HESSIAN_UPLOAD_BYTES_IN_FLIGHT).', () => this.uploads.budget.inFlight);
    this.metrics.gauge('hessian_queue_depth', 'Jobs queued, not yet started.', () => this.queue.length);
    this.metrics.gauge('hessian_jobs_running', 'Jobs running now.', () => [...this.runs.values()].filter((r) => r.active).length);
    this.metrics.gauge('hessian_workers', 'Live workers (heartbeat within HESSIAN_HEARTBEAT_TIMEOUT_S).', () => this.registry.workers.size);
    this.metrics.gauge('hessian_worker_slots', 'Task slots of live, non-draining workers.', () => this.registry.available().reduce((s, w) => s + w.hb.capacity, 0));
  }

  private ctx(): JobContext {
    return {
      store: this.store,
      registry: this.registry,
      log: this.log,
      taskDeadlineS: this.cfg.taskDeadlineS,
      pump: () => this.pump(),
      onFinished: (j) => this.onFinished(j),
      metrics: {
        task: (result, seconds, hvps) => {
          this.mTasks.inc({ result });
          this.mTaskSeconds.inc({}, seconds);
          if (hvps) this.mHvps.inc({}, hvps);
        },
        event: (type) => this.mEvents.inc({ type }),
      },
    };
  }

  /** SERVING / NOT_SERVING of '' and the Coordinator service (not of 'liveness'). */
  private setServing(serving: boolean): void {
    const st = serving ? 'SERVING' : 'NOT_SERVING';
    this.health.setStatus(HEALTH_SERVICES.overall, st);
    this.health.setStatus(HEALTH_SERVICES.coordinator, st);
  }

  async start(): Promise<void> {
    // The health service answers first (NOT_SERVING while NATS and the buckets are not ready),
    // so probes see a live process that is not ready yet rather than a closed port.
    ({ grpcPort: this.grpcPort, healthServer: this.healthServer, healthPort: this.healthPort } = await bindServers(this.server, this.health, {
      grpcPort: this.cfg.grpcPort,
      credentials: this.cfg.serverCredentials,
      healthPort: this.cfg.healthPort,
    }));
    await this.store.open();
    // Tokens on the API mean nothing if anyone on the network can publish cancels or heartbeats.
    const natsProblem = natsAuthProblem({ tokens: this.auth.enabled, natsAuthRequired: this.store.nc.info?.auth_required === true, natsUrl: this.cfg.natsUrl });
    if (natsProblem) throw new Error(natsProblem);
    void (async () => {
      for await (const s of this.store.nc.status()) {
        if (s.type === 'disconnect') this.setServing(false);
        else if (s.type === 'reconnect' && this.ready) this.setServing(true);
      }
    })();
    this.registry.start(this.store.nc);
    this.registry.onDead((w, why) => {
      for (const r of this.runs.values()) r.onWorkerDead(w, why);
      this.pump();
    });
    this.registry.onChange(() => this.pump());
    // Resume: unfinished jobs in creation order; finished tasks come back from KV.
    const all = (await this.store.allJobs()).sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
    for (const r of all) {
      this.records.set(r.id, r);
      if (r.clientRequestId) this.byRequestId.set(r.clientRequestId, r.id);
      if (!TERMINAL.has(r.state)) {
        const run = new JobRun(r, this.ctx());
        this.runs.set(r.id, run);
        if (r.state === 'RUNNING') void run.start();
        else this.queue.push(run);
      }
    }
    if (this.runs.size > 0) this.log.info({ jobs: this.runs.size }, 'resuming unfinished jobs');
    const { coordinator } = loadProtos();
    this.server.addService(coordinator.hessian.v1.Coordinator.service, authenticated(coordinatorHandlers(this), this.auth, this.log));
    this.metricsPort = (await this.metrics.serve(this.cfg.metricsPort)).port;
    this.startQueued();
    this.ready = true;
    this.setServing(!this.store.nc.isClosed());
    this.log.info({ grpcPort: this.grpcPort, metricsPort: this.metricsPort, healthPort: this.healthPort, queueLimit: this.cfg.queueLimit, tokens: this.auth.enabled }, 'listening');
  }

  // ---- scheduling ------------------------------------------------------------------------

  private activeCount(): number {
    let n = 0;
    for (const r of this.runs.values()) if (r.rec.state === 'RUNNING') n++;
    return n;
  }

  private startQueued(): void {
    while (this.queue.length > 0 && this.activeCount() < this.cfg.maxActiveJobs) {
      const run = this.queue.shift()!;
      if (run.terminal) continue;
      void run.start();
    }
  }

  private onFinished(j: JobRun): void {
    this.runs.delete(j.id);
    this.mJobsEnded.inc({ state: j.rec.state });
    this.queue = this.queue.filter((q) => q !== j);
    this.startQueued();
    this.pump();
  }

  /** Hands free worker slots to jobs, one task per job in turn (FIFO), preferring workers that hold the job's engine. */
  pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        let dispatched = false;
        for (const job of this.runs.values()) {
          if (!job.hasRunnable()) continue;
          const free = this.registry.available().filter((w) => w.inflight < w.hb.capacity);
          if (free.length === 0) return;
          free.sort((a, b) => Number(job.isPreparedOn(b)) - Number(job.isPreparedOn(a)) || a.inflight / a.hb.capacity - b.inflight / b.hb.capacity);
          for (const w of free) {
            const t = job.take(w);
            if (!t) continue;
            this.dispatch(job, t, w);
            dispatched = true;
            break;
          }
        }
        if (!dispatched) return;
      }
    } finally {
      this.pumping = false;
    }
  }

  private dispatch(job: JobRun, t: Parameters<JobRun['run']>[0], w: LiveWorker): void {
    w.inflight++;
    void job.run(t, w).finally(() => {
      w.inflight--;
      setImmediate(() => this.pump());
    });
  }

  // ---- requests --------------------------------------------------------------------------

  toJob(r: JobRecord, report = ''): Job {
    return {
      id: r.id,
      state: r.state,
      spec: specToProto(r.spec, r.scope, r.shards ?? 0),
      // A running job's elapsed time moves between progress events (a long task sends none).
      progress: r.state === 'RUNNING' && this.runs.get(r.id)?.queue ? this.runs.get(r.id)!.progress() : r.progress,
      reportJson: report,
      error: r.error,
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
    };
  }

  record(id: string): JobRecord {
    const r = this.records.get(id);
    if (!r) throw new UserError(`job: no job with id "${id}"; list jobs with hessctl jobs`, 'NOT_FOUND');
    return r;
  }

  /** The job a client request id already names (idempotent submission), or null. */
  private duplicate(rid: string): Job | null {
    if (!rid || !this.byRequestId.has(rid)) return null;
    this.mSubmitted.inc({ outcome: 'duplicate' });
    return this.toJob(this.records.get(this.byRequestId.get(rid)!)!);
  }

  /** RESOURCE_EXHAUSTED when HESSIAN_QUEUE_LIMIT jobs are queued or running. */
  private checkQueueLimit(): void {
    let open = 0;
    for (const r of this.records.values()) if (!TERMINAL.has(r.state)) open++;
    if (open >= this.cfg.queueLimit) {
      this.mSubmitted.inc({ outcome: 'refused' });
      throw new UserError(`queue: ${open} jobs are queued or running and the limit (HESSIAN_QUEUE_LIMIT) is ${this.cfg.queueLimit}; wait for some to finish or cancel them`, 'RESOURCE_EXHAUSTED');
    }
  }

  async submit(req: Pick<SubmitAnalysisRequest__Output, 'spec' | 'clientRequestId'>): Promise<Job> {
    let spec;
    let scope: 'batch' | 'dataset';
    let shards = 0;
    const rid = req.clientRequestId ?? '';
    const id = `job-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    let check: SubmitCheck | null = null;
    try {
      const { scope: s, shards: sh, ...rest } = specFromProto(req.spec ?? { model: '' });
      spec = normalizeSpec(rest);
      if (s !== 'batch' && s !== 'dataset') throw new UserError(`scope: must be one of batch, dataset, got ${JSON.stringify(s)}`, 'INVALID_ARGUMENT');
      scope = s;
      shards = checkShards(sh, scope, spec.data);
      await validateModel(spec.model, this.store);
      parseDataSpec(spec.data);
      if (this.cfg.dataRoots) checkSpecFiles(spec, this.cfg.dataRoots);
    } catch (e) {
      this.mSubmitted.inc({ outcome: 'invalid' });
      throw e;
    }
    // A duplicate or a full queue is answered before the worker is asked to check the spec.
    const dup = this.duplicate(rid);
    if (dup) return dup;
    this.checkQueueLimit();
    try {
      check = await this.checker.check(id, spec, scope, shards);
    } catch (e) {
      this.mSubmitted.inc({ outcome: 'invalid' });
      throw e;
    }
    // From here on synchronous until the record is reserved: concurrent submissions cannot overshoot the limit.
    const again = this.duplicate(rid);
    if (again) return again;
    this.checkQueueLimit();
    const now = new Date().toISOString();
    const rec: JobRecord = {
      id,
      state: 'QUEUED',
      spec,
      scope,
      ...(shards ? { shards } : {}),
      progress: { tasksDone: 0, tasksSkipped: 0, tasksTotal: 0, hvps: 0, elapsedSeconds: 0, etaSeconds: -1 },
      error: '',
      createdAt: now,
      updatedAt: now,
      clientRequestId: rid,
      hasReport: false,
    };
    this.records.set(id, rec);
    if (rid) this.byRequestId.set(rid, id);
    try {
      await this.store.putJob(rec);
    } catch (e) {
      this.records.delete(id);
      if (rid) this.byRequestId.delete(rid);
      throw e;
    }
    this.mSubmitted.inc({ outcome: 'accepted' });
    const run = new JobRun(rec, this.ctx());
    if (check) run.adoptPrepare(check.worker, check.reply);
    this.runs.set(id, run);
    await run.emit({ type: 'queued', state: 'QUEUED', message: `${spec.model} on ${spec.data}, scope ${scope}` });
    this.log.info({ jobId: id, model: spec.model, data: spec.data, scope }, 'job queued');
    const reply = this.toJob({ ...rec, progress: { ...rec.progress } });
    this.queue.push(run);
    this.startQueued();
    return reply;
  }

  async close(): Promise<void> {
    this.ready = false;
    this.setServing(false);
    this.registry.stop();
    await closeServers(this.server, this.healthServer);
    await this.store.close();
  }
}
