/**
 * The coordinator: the Coordinator gRPC service, the job queue (queue limit, active jobs),
 * the scheduler that hands free worker slots to jobs, and resumption of unfinished jobs
 * from JetStream on start.
 */
import * as grpc from '@grpc/grpc-js';
import { checkPlanFits, normalizeSpec, plan as makePlan, type AnalysisSpec } from '@hessian/analysis';
import type { ParamGroup } from '@hessian/engine';
import { checkModelFile, parseDataSpec, singleFileFormat, zooInfo, zooModels } from '@hessian/engine';
import { UserError } from '@hessian/linalg';
import {
  bindServers,
  closeServers,
  CHANNEL_OPTIONS,
  DIGEST_RE,
  encodeModelBundle,
  fromServiceError,
  loadProtos,
  Metrics,
  modelDigest,
  safeModelPath,
  specFromProto,
  specToProto,
  toServiceError,
  type CoordinatorHandlers,
  type Job,
  type JobEvent,
  type UploadModelChunk__Output,
  type WorkerInfo,
  checkSpecFiles,
  TokenAuth,
  type NatsAuthOptions,
  type PrepareReply__Output,
} from '@hessian/wire';
import { HealthImplementation } from 'grpc-health-check';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { callPrepare, classify, JobRun, preferredWorker, prepareRequest, type JobContext } from './job.js';
import { Registry, type LiveWorker } from '@hessian/wire';
import { Store, TERMINAL, type EventBody, type JobRecord } from './store.js';

export interface CoordinatorConfig {
  natsUrl: string;
  grpcPort: number;
  metricsPort: number;
  queueLimit: number;
  maxActiveJobs: number;
  taskDeadlineS: number;
  maxUploadBytes: number;
  heartbeatTimeoutS: number;
  /** Plaintext port serving only grpc.health.v1.Health (for Kubernetes probes, which speak no TLS); -1 or undefined: none. */
  healthPort?: number;
  /** Server credentials of the API port (default: insecure). */
  serverCredentials?: grpc.ServerCredentials;
  /** Channel credentials (and options) for dialling workers (default: insecure). */
  workerCredentials?: () => grpc.ChannelCredentials;
  workerChannelOptions?: grpc.ChannelOptions;
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

/** The submit-time check's outcome: the Prepare to hand to the job (batch scope), or nothing. */
interface SubmitCheck {
  worker: LiveWorker;
  reply: Promise<PrepareReply__Output>;
}

const TERMINAL_EVENTS = new Set(['succeeded', 'failed', 'cancelled']);

/**
 * Names answered by the standard gRPC health service (grpc.health.v1.Health) on the API port.
 * '' and the Coordinator service: SERVING once NATS and the KV buckets are ready, NOT_SERVING
 * while NATS is unreachable (readiness). 'liveness': SERVING as soon as the port is bound,
 * whatever NATS does, so a liveness probe never restarts a coordinator that waits for NATS.
 */
export const HEALTH_SERVICES = { overall: '', coordinator: 'hessian.v1.Coordinator', liveness: 'liveness' } as const;

export class CoordinatorService {
  readonly store: Store;
  readonly registry: Registry;
  private server = new grpc.Server(CHANNEL_OPTIONS);
  private healthServer: grpc.Server | null = null;
  healthPort = -1;
  readonly health = new HealthImplementation({ [HEALTH_SERVICES.overall]: 'NOT_SERVING', [HEALTH_SERVICES.coordinator]: 'NOT_SERVING', [HEALTH_SERVICES.liveness]: 'SERVING' });
  private ready = false;
  private records = new Map<string, JobRecord>();
  private runs = new Map<string, JobRun>();
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
  private mChecks = this.metrics.counter(
    'hessian_submit_checks_total',
    'Submit-time spec checks on a worker, by result (passed, refused, timeout: accepted unchecked, no-worker: accepted unchecked, error: accepted unchecked).',
  );
  /** Submit-time Prepares in flight, by (worker, spec, shards): concurrent identical submissions share one. */
  private checking = new Map<string, Promise<PrepareReply__Output>>();

  constructor(
    readonly cfg: CoordinatorConfig,
    readonly log: Logger,
  ) {
    this.store = new Store(cfg.natsUrl, log, cfg.natsAuth);
    this.registry = new Registry(cfg.heartbeatTimeoutS, log, cfg.workerCredentials, cfg.workerChannelOptions);
    this.auth = new TokenAuth(cfg.apiTokens ?? []);
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
    this.server.addService(coordinator.hessian.v1.Coordinator.service, this.authenticated(this.handlers()));
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

  private toJob(r: JobRecord, report = ''): Job {
    return {
      id: r.id,
      state: r.state,
      spec: specToProto(r.spec, r.scope),
      progress: r.progress,
      reportJson: report,
      error: r.error,
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
    };
  }

  private record(id: string): JobRecord {
    const r = this.records.get(id);
    if (!r) throw new UserError(`job: no job with id "${id}"; list jobs with hessctl jobs`, 'NOT_FOUND');
    return r;
  }

  private async validateModel(model: string): Promise<void> {
    if (model.startsWith('zoo:')) {
      try {
        zooInfo(model.slice(4));
      } catch (e) {
        if (!(e instanceof UserError) || e.code !== 'NOT_FOUND') throw e;
        const names = zooModels().map((m) => m.name);
        throw new UserError(`model: unknown zoo model "${model}"; available: ${names.map((n) => `zoo:${n}`).join(', ')}`, 'NOT_FOUND');
      }
      return;
    }
    if (model.startsWith('sha256:')) {
      if (!DIGEST_RE.test(model)) throw new UserError(`model: "${model}" is not a model digest; digests look like sha256: and 64 lowercase hex digits, as printed by hessctl upload-model`);
      const info = await this.store.models.info(model);
      if (!info) throw new UserError(`model: ${model} was never uploaded to this cluster; upload it with hessctl upload-model`, 'NOT_FOUND');
      return;
    }
    // A path: read by the workers from their own file systems (a shared volume).
    if (!model.endsWith('.json') && !model.startsWith('/')) throw new UserError(`model: "${model}" is neither zoo:NAME nor sha256:HEX of an uploaded model nor an absolute model.json path on the workers; upload the model with hessctl upload-model`);
  }

  /**
   * Every Coordinator method behind the bearer-token check (when tokens are configured):
   * a call without `authorization: Bearer <token>` or with an unknown token ends with
   * UNAUTHENTICATED and a sentence. The health service is added apart and stays open.
   */
  private authenticated(h: CoordinatorHandlers): CoordinatorHandlers {
    if (!this.auth.enabled) return h;
    const out: Record<string, unknown> = {};
    for (const [name, f] of Object.entries(h) as [string, (call: grpc.ServerUnaryCall<unknown, unknown>, cb?: (e: Partial<grpc.ServiceError>) => void) => void][]) {
      out[name] = (call: grpc.ServerUnaryCall<unknown, unknown>, cb?: (e: Partial<grpc.ServiceError>) => void) => {
        const why = this.auth.check(call.metadata);
        if (why === null) return f(call, cb);
        this.log.warn({ method: name, peer: call.getPeer(), why }, 'unauthenticated call refused');
        const err = { code: grpc.status.UNAUTHENTICATED, details: why, message: why };
        if (typeof cb === 'function') {
          (call as unknown as NodeJS.EventEmitter).on?.('data', () => undefined);
          cb(err);
        } else (call as unknown as NodeJS.EventEmitter).emit('error', err);
      };
    }
    return out as unknown as CoordinatorHandlers;
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

  /**
   * The submit-time check of what only the loaded model can tell (layer names, data that does
   * not fit the model, a model that fails to load): one live worker prepares the job's engine
   * (the worker caches it, and the job adopts this Prepare, so the work is not wasted), then
   * `plan` runs on its parameter groups, giving the embedded run's sentence. A user error from
   * either is thrown (INVALID_ARGUMENT / NOT_FOUND / FAILED_PRECONDITION). The job is accepted
   * unchecked, and checked again when it starts, when no worker is live (the queue lets jobs
   * wait for workers), when the Prepare takes longer than `submitCheckS`, or when it fails for
   * a reason that is not the user's (worker lost, internal error).
   */
  private async checkOnWorker(jobId: string, spec: AnalysisSpec, scope: 'batch' | 'dataset'): Promise<SubmitCheck | null> {
    const limitMs = (this.cfg.submitCheckS ?? 5) * 1000;
    if (!(limitMs > 0)) return null;
    const ws = this.registry.available();
    if (ws.length === 0) {
      this.mChecks.inc({ result: 'no-worker' });
      this.log.info({ jobId, model: spec.model }, 'no live worker: spec accepted unchecked, checked when the job starts');
      return null;
    }
    // Dataset scope: shard 0 of as many shards as there are live workers, on the first in id order,
    // which is what the job prepares there when it starts with the same workers.
    const shardCount = scope === 'dataset' ? ws.length : 0;
    const w = scope === 'dataset' ? ws[0] : preferredWorker(ws, spec.model);
    const req = prepareRequest(jobId, spec, scope, 0, shardCount);
    const key = JSON.stringify([w.id, req.spec, shardCount]);
    let reply = this.checking.get(key);
    if (!reply) {
      const p = callPrepare(w, req);
      reply = p;
      this.checking.set(key, p);
      const drop = () => {
        if (this.checking.get(key) === p) this.checking.delete(key);
      };
      p.then(drop, drop);
    }
    const adopt = scope === 'batch' ? { worker: w, reply } : null;
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      reply.then(
        (r) => ({ r }),
        (e: unknown) => ({ e }),
      ),
      new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), limitMs))),
    ]);
    clearTimeout(timer);
    const log = this.log.child({ jobId, workerId: w.id, model: spec.model });
    if (outcome === null) {
      this.mChecks.inc({ result: 'timeout' });
      log.info({ seconds: limitMs / 1000 }, 'spec check still preparing: accepted unchecked (HESSIAN_SUBMIT_CHECK_S), checked when the job starts');
      return adopt;
    }
    if ('e' in outcome) {
      if (classify(outcome.e) === 'user') {
        this.mChecks.inc({ result: 'refused' });
        const u = fromServiceError(outcome.e);
        log.info({ err: u instanceof Error ? u.message : String(u) }, 'spec refused at submit by the worker check');
        throw u;
      }
      this.mChecks.inc({ result: 'error' });
      log.warn({ err: (outcome.e as Partial<grpc.ServiceError>)?.details ?? String(outcome.e) }, 'spec check failed on the worker: accepted unchecked, checked when the job starts');
      return null;
    }
    try {
      const planned = makePlan(spec, JSON.parse(outcome.r.groupsJson) as ParamGroup[]);
      // Workers that predate the memory fields report a budget of 0: nothing to check against.
      if (outcome.r.memoryBudgetBytes > 0)
        checkPlanFits(planned, { budgetBytes: outcome.r.memoryBudgetBytes, budgetSource: outcome.r.memoryBudgetSource, engineBytes: outcome.r.engineBytes });
    } catch (e) {
      this.mChecks.inc({ result: 'refused' });
      log.info({ err: e instanceof Error ? e.message : String(e) }, 'spec refused at submit by the worker check');
      throw e;
    }
    this.mChecks.inc({ result: 'passed' });
    return adopt;
  }

  async submit(req: { spec?: Parameters<typeof specFromProto>[0] | null; clientRequestId?: string }): Promise<Job> {
    let spec;
    let scope: 'batch' | 'dataset';
    const rid = req.clientRequestId ?? '';
    const id = `job-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    let check: SubmitCheck | null = null;
    try {
      const { scope: s, ...rest } = specFromProto(req.spec ?? { model: '' });
      spec = normalizeSpec(rest);
      if (s !== 'batch' && s !== 'dataset') throw new UserError(`scope: must be one of batch, dataset, got ${JSON.stringify(s)}`, 'INVALID_ARGUMENT');
      scope = s;
      await this.validateModel(spec.model);
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
      check = await this.checkOnWorker(id, spec, scope);
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

  private handlers(): CoordinatorHandlers {
    const unary =
      <Req, Res>(f: (req: Req) => Promise<Res>) =>
      (call: { request: Req }, cb: (e: Partial<grpc.ServiceError> | null, r?: Res) => void) => {
        f(call.request).then(
          (r) => cb(null, r),
          (e) => {
            const se = toServiceError(e);
            if (se.code === grpc.status.INTERNAL) this.log.error({ err: e instanceof Error ? e.stack : String(e) }, 'request failed');
            cb(se);
          },
        );
      };
    return {
      SubmitAnalysis: unary((req) => this.submit(req)),
      GetJob: unary(async (req) => {
        const r = this.record(req.id);
        return this.toJob(r, req.includeReport && r.hasReport ? await this.store.getReport(r.id) : '');
      }),
      CancelJob: unary(async (req) => {
        const r = this.record(req.id);
        const run = this.runs.get(r.id);
        if (run) await run.cancel();
        return this.toJob(r);
      }),
      ListJobs: unary(async (req) => {
        const all = [...this.records.values()].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
        return { jobs: all.slice(0, req.limit > 0 ? req.limit : 100).map((r) => this.toJob(r)) };
      }),
      ListWorkers: unary(async () => ({
        workers: [...this.registry.workers.values()].map(
          (w): WorkerInfo => ({
            id: w.id,
            address: w.hb.address,
            backend: w.hb.backend,
            device: w.hb.device,
            capacity: w.hb.capacity,
            running: w.hb.running,
            memoryBytes: w.hb.memory,
            lastHeartbeat: new Date(w.lastSeen).toISOString(),
            cached: w.hb.cached,
          }),
        ),
      })),
      WatchJob: (call) => {
        let stop: (() => void) | null = null;
        let ended = false;
        const finish = () => {
          if (ended) return;
          ended = true;
          stop?.();
          call.end();
        };
        call.on('cancelled', () => {
          ended = true;
          stop?.();
        });
        void (async () => {
          const r = this.record(call.request.id);
          stop = await this.store.watchEvents(r.id, Number(call.request.afterSequence) || 0, (seq, ev: EventBody) => {
            if (ended) return false;
            const out: JobEvent = {
              jobId: r.id,
              sequence: seq,
              time: ev.time,
              type: ev.type,
              message: ev.message ?? '',
              taskId: ev.taskId ?? '',
              worker: ev.worker ?? '',
              progress: ev.progress,
              partialJson: ev.partialJson ?? '',
              state: ev.state ?? 'JOB_STATE_UNSPECIFIED',
            };
            call.write(out);
            if (TERMINAL_EVENTS.has(ev.type)) {
              setImmediate(finish);
              return false;
            }
            return true;
          });
          if (ended) stop();
        })().catch((e) => {
          if (!ended) {
            ended = true;
            call.emit('error', toServiceError(e));
          }
        });
      },
      UploadModel: (call, cb) => {
        const files = new Map<string, Buffer[]>();
        let name = '';
        let total = 0;
        let done = false;
        const refuse = (e: unknown) => {
          if (done) return;
          done = true;
          call.removeAllListeners('data');
          cb(toServiceError(e));
        };
        call.on('data', (m: UploadModelChunk__Output) => {
          if (done) return;
          if (m.part === 'header' && m.header) name = m.header.name;
          else if (m.part === 'file' && m.file) {
            total += m.file.data.length;
            if (total > this.cfg.maxUploadBytes)
              return refuse(new UserError(`upload: the model is larger than the limit of ${this.cfg.maxUploadBytes} bytes (HESSIAN_MAX_UPLOAD_BYTES); prune it or raise the limit`, 'RESOURCE_EXHAUSTED'));
            if (!safeModelPath(m.file.path)) return refuse(new UserError(`upload: file name "${m.file.path}" must be a relative path without ".." (e.g. model.json, weights.bin)`));
            const list = files.get(m.file.path) ?? [];
            list.push(Buffer.from(m.file.data));
            files.set(m.file.path, list);
          }
        });
        call.on('error', () => (done = true));
        call.on('end', () => {
          if (done) return;
          void (async () => {
            const list = [...files].map(([path, parts]) => ({ path, data: Buffer.concat(parts) }));
            checkUpload(list, name);
            const bundle = encodeModelBundle(list);
            const digest = modelDigest(bundle);
            const have = await this.store.models.info(digest);
            if (!have) await this.store.retry(`put model ${digest}`, () => this.store.models.putBlob({ name: digest, description: name }, new Uint8Array(bundle.buffer, bundle.byteOffset, bundle.byteLength)));
            this.log.info({ digest, name, bytes: bundle.length, files: list.length, existed: Boolean(have) }, 'model uploaded');
            return { digest, bytes: bundle.length };
          })().then(
            (r) => {
              done = true;
              cb(null, r);
            },
            (e) => refuse(e),
          );
        });
      },
    };
  }

  async close(): Promise<void> {
    this.ready = false;
    this.setServing(false);
    this.registry.stop();
    await closeServers(this.server, this.healthServer);
    await this.store.close();
  }
}

/**
 * What an upload must hold: one single-file model (.onnx), decoded and checked here so a
 * truncated or corrupt file is refused at upload, or a tfjs model.json with the weight files
 * it names.
 */
function checkUpload(list: { path: string; data: Buffer }[], name: string): void {
  if (list.length === 1 && singleFileFormat(list[0].path) !== null && !list[0].path.includes('/')) {
    checkModelFile(list[0].data, list[0].path, `upload '${name || list[0].path}'`);
    return;
  }
  const mj = list.find((f) => f.path === 'model.json');
  if (!mj) throw new UserError('upload: no model.json among the files; send the tfjs model.json and the weight files it names, or one .onnx file');
  let json: { modelTopology?: unknown; weightsManifest?: { paths?: string[] }[] };
  try {
    json = JSON.parse(mj.data.toString('utf8'));
  } catch (e) {
    throw new UserError(`upload: model.json is not valid JSON (${(e as Error).message}); send a tfjs LayersModel model.json`);
  }
  if (!json || typeof json !== 'object' || !json.modelTopology) throw new UserError('upload: model.json has no modelTopology; send a tfjs LayersModel (tf.LayersModel.save)');
  const sent = new Set(list.map((f) => f.path));
  const missing = (json.weightsManifest ?? []).flatMap((g) => g.paths ?? []).filter((p) => !sent.has(p));
  if (missing.length > 0) throw new UserError(`upload: weight files ${missing.join(', ')} named by model.json were not sent; send them too`);
}
