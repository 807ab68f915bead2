/**
 * The worker: prepares engines (model + data [+ shard]) cached by key, runs planned tasks
 * with progress, serves HVPs and gradients of its shard, heartbeats on NATS, stops a job's
 * tasks on its cancel subject and drains on SIGTERM. Every engine lives in its own compute
 * thread (compute.ts, engine-thread.ts): this thread only serves gRPC, NATS and metrics, so
 * a long tfjs product never delays a heartbeat, a cancel or a Health call.
 */
import * as grpc from '@grpc/grpc-js';
import { normalizeSpec, type Task } from '@hessian/analysis';
import { initBackend, type BackendName, type Convention } from '@hessian/engine';
import { UserError } from '@hessian/linalg';
import { HealthImplementation } from 'grpc-health-check';
import {
  bindServers,
  closeServers,
  BUCKETS,
  CHANNEL_OPTIONS,
  decodeModelBundle,
  DIGEST_RE,
  loadProtos,
  Metrics,
  safeModelPath,
  SUBJECTS,
  specFromProto,
  toChunks,
  toServiceError,
  VectorAssembler,
  type Heartbeat,
  type HvpRequest__Output,
  type PrepareReply,
  type PrepareRequest__Output,
  type TrainGradientRequest__Output,
  type TrainGradientReply,
  type WorkerHandlers,
  checkSpecFiles,
  type NatsAuthOptions,
} from '@hessian/wire';
import { connect, type NatsConnection } from 'nats';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync, existsSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { EngineThread, TaskStopped } from './compute.js';

export interface WorkerConfig {
  natsUrl: string;
  grpcPort: number;
  metricsPort: number;
  id: string;
  capacity: number;
  advertise: string | null;
  backend: BackendName;
  heartbeatS: number;
  drainS: number;
  cacheDir: string;
  maxEngines: number;
  /** Plaintext port serving only grpc.health.v1.Health (for Kubernetes probes, which speak no TLS); -1 or undefined: none. */
  healthPort?: number;
  /** Server credentials of the gRPC port (default: insecure). */
  serverCredentials?: grpc.ServerCredentials;
  /** Directories model paths and idx:/npy: data must resolve into (undefined: no check). */
  dataRoots?: string[];
  /** Largest model.json, and weight files together, read from a path (bytes). */
  maxModelBytes?: number;
  /** NATS credentials and TLS (nats.js ConnectionOptions). */
  natsAuth?: NatsAuthOptions;
}

interface Entry {
  key: string;
  /** The compute thread that holds this engine. */
  thread: EngineThread;
  users: number;
  lastUsed: number;
}

class Cancelled extends Error {
  constructor(readonly code: grpc.status, message: string) {
    super(message);
  }
}

export class WorkerService {
  private nc: NatsConnection | null = null;
  private server = new grpc.Server(CHANNEL_OPTIONS);
  private healthServer: grpc.Server | null = null;
  healthPort = -1;
  /** grpc.health.v1.Health on the gRPC port: '' and hessian.v1.Worker SERVING when ready, NOT_SERVING while draining; 'liveness' SERVING while the process runs. */
  readonly health = new HealthImplementation({ '': 'NOT_SERVING', 'hessian.v1.Worker': 'NOT_SERVING', liveness: 'SERVING' });
  private engines = new Map<string, Entry>();
  private building = new Map<string, Promise<Entry>>();
  private models = new Map<string, Promise<string>>();
  /** Running tasks: their job and abort controller. */
  private running = new Map<AbortController, { jobId: string; taskId: string }>();
  private cancelledJobs = new Map<string, number>();
  private draining = false;
  private backendName = 'unknown';
  /** what ListWorkers shows as the device: the CPU, or the GPU adapter and its limits on webgpu */
  private deviceText = `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}`;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private readonly started = Date.now();
  address = '';
  grpcPort = 0;
  metricsPort = -1;
  readonly metrics = new Metrics();
  private mTasks = this.metrics.counter('hessian_worker_tasks_total', 'Tasks finished by this worker, by result (ok, error, cancelled).');
  private mHvps = this.metrics.counter('hessian_worker_hvps_total', 'Operator products (HVPs, Gauss-Newton products) computed, tasks and Hvp streams together.');
  private mTaskSeconds = this.metrics.counter('hessian_worker_task_seconds_total', 'Seconds spent in tasks.');
  private mPrepares = this.metrics.counter('hessian_worker_prepares_total', 'Prepare calls, by cache outcome (hit, miss).');

  constructor(
    readonly cfg: WorkerConfig,
    readonly log: Logger,
  ) {
    this.metrics.gauge('hessian_worker_running_tasks', 'Tasks running now.', () => this.running.size);
    this.metrics.gauge('hessian_worker_capacity', 'Tasks this worker runs at once.', () => this.cfg.capacity);
    this.metrics.gauge('hessian_worker_engines', 'Prepared engines held in the cache.', () => this.engines.size);
    this.metrics.gauge('hessian_worker_draining', '1 while draining after SIGTERM.', () => (this.draining ? 1 : 0));
  }

  async start(): Promise<void> {
    // Health first: probes see a live process (NOT_SERVING) while the backend loads and NATS connects.
    ({ grpcPort: this.grpcPort, healthServer: this.healthServer, healthPort: this.healthPort } = await bindServers(this.server, this.health, {
      grpcPort: this.cfg.grpcPort,
      credentials: this.cfg.serverCredentials,
      healthPort: this.cfg.healthPort,
    }));
    const info = await initBackend(this.cfg.backend, { needsConv: true });
    this.backendName = info.name;
    if (info.name === 'webgpu' || info.name === 'tensorflow') this.deviceText = info.detail;
    this.nc = await connect({ ...this.cfg.natsAuth, servers: this.cfg.natsUrl, name: `worker ${this.cfg.id}`, maxReconnectAttempts: -1, reconnectTimeWait: 500, waitOnFirstConnect: true });
    void this.watchNats(this.nc);
    const sub = this.nc.subscribe(SUBJECTS.allCancels);
    void (async () => {
      for await (const m of sub) this.cancelJob(m.subject.split('.')[2] ?? '');
    })();
    const { worker } = loadProtos();
    this.server.addService(worker.hessian.v1.Worker.service, this.handlers());
    this.address = this.cfg.advertise ?? `127.0.0.1:${this.grpcPort}`;
    this.metricsPort = (await this.metrics.serve(this.cfg.metricsPort)).port;
    this.heartbeat();
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.cfg.heartbeatS * 1000);
    if (!this.draining) this.setServing(true);
    this.log.info({ grpcPort: this.grpcPort, metricsPort: this.metricsPort, healthPort: this.healthPort, workerId: this.cfg.id, address: this.address, backend: this.backendName, capacity: this.cfg.capacity }, 'listening');
  }

  private async watchNats(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect') this.log.warn({ nats: s.type, data: String(s.data) }, 'nats connection');
      if (s.type === 'reconnect') this.heartbeat();
    }
  }

  private heartbeat(): void {
    if (!this.nc || this.nc.isClosed()) return;
    const hb: Heartbeat = {
      id: this.cfg.id,
      address: this.address,
      backend: this.backendName,
      device: this.deviceText,
      capacity: this.cfg.capacity,
      running: this.running.size,
      memory: process.memoryUsage().rss,
      cached: [...new Set([...this.models.keys(), ...this.engines.keys()])],
      draining: this.draining,
      started: this.started,
    };
    try {
      this.nc.publish(SUBJECTS.heartbeat, JSON.stringify(hb));
    } catch (e) {
      this.log.warn({ err: String(e) }, 'heartbeat not sent');
    }
  }

  private cancelJob(jobId: string): void {
    if (!jobId) return;
    this.cancelledJobs.set(jobId, Date.now());
    for (const [t, v] of this.cancelledJobs) if (Date.now() - v > 3600_000) this.cancelledJobs.delete(t);
    let n = 0;
    for (const [ac, r] of this.running)
      if (r.jobId === jobId) {
        ac.abort(new Cancelled(grpc.status.CANCELLED, `job ${jobId} was cancelled`));
        n++;
      }
    this.log.info({ jobId, tasksStopped: n }, 'job cancelled');
  }

  /** Fetches an uploaded model from the object store once, writes its files under the cache dir; resolves the model.json (or model.onnx) path. */
  private fetchModel(digest: string): Promise<string> {
    let p = this.models.get(digest);
    if (!p) {
      p = (async () => {
        const hex = digest.slice('sha256:'.length);
        const dir = path.join(this.cfg.cacheDir, 'models', hex);
        // an upload is a tfjs model.json with its weights, or one single-file model (model.onnx)
        const entry = (): string | null => ['model.json', 'model.onnx'].map((f) => path.join(dir, f)).find((f) => existsSync(f)) ?? null;
        const cached = entry();
        if (cached) return cached;
        const store = await this.nc!.jetstream().views.os(BUCKETS.models);
        const blob = await store.getBlob(digest);
        if (!blob) throw new UserError(`model: ${digest} is not in the object store; upload it with hessctl upload-model`, 'NOT_FOUND');
        const tmp = `${dir}.tmp-${process.pid}`;
        for (const f of decodeModelBundle(Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength))) {
          if (!safeModelPath(f.path)) throw new UserError(`model: file name "${f.path}" in ${digest} is not a safe relative path`);
          mkdirSync(path.dirname(path.join(tmp, f.path)), { recursive: true });
          writeFileSync(path.join(tmp, f.path), f.data);
        }
        mkdirSync(path.dirname(dir), { recursive: true });
        if (!existsSync(dir)) renameSync(tmp, dir);
        this.log.info({ digest, dir }, 'model fetched');
        const file = entry();
        if (!file) throw new UserError(`model: ${digest} holds neither model.json nor model.onnx; upload it again with hessctl upload-model`, 'FAILED_PRECONDITION');
        return file;
      })();
      this.models.set(digest, p);
      p.catch(() => this.models.delete(digest));
    }
    return p;
  }

  /** Prepare's checks and cache lookup (also TrainGradient's, whose header carries a PrepareRequest). */
  private async prepareFor(req: PrepareRequest__Output): Promise<{ entry: Entry; hit: boolean; spec: ReturnType<typeof normalizeSpec> }> {
    const spec = normalizeSpec(specFromProto(req.spec ?? { model: '' }));
    if (this.cfg.dataRoots) checkSpecFiles(spec, this.cfg.dataRoots, this.cfg.maxModelBytes);
    const training = req.training === true;
    const shardCount = training ? 1 : Math.max(1, req.shardCount);
    if (req.shardIndex >= shardCount) throw new UserError(`shard_index ${req.shardIndex} must be below shard_count ${shardCount}${training ? ' (training data is never sharded: TrainGradient names its examples)' : ''}`);
    const { entry, hit } = await this.engineFor({ spec, shardIndex: req.shardIndex, shardCount, jobId: req.jobId, training });
    this.mPrepares.inc({ cache: hit ? 'hit' : 'miss' });
    return { entry, hit, spec };
  }

  private async engineFor(req: { spec: ReturnType<typeof normalizeSpec>; shardIndex: number; shardCount: number; jobId: string; training: boolean }): Promise<{ entry: Entry; hit: boolean }> {
    const { spec, shardIndex, shardCount, training } = req;
    const keyJson = JSON.stringify({ m: spec.model, ms: spec.modelSeed, d: spec.data, pc: spec.perClass, l: spec.loss, b: spec.batchSize, s: spec.seed, si: shardIndex, sc: shardCount, be: this.backendName, ...(training ? { tr: 1 } : {}) });
    const key = `eng-${createHash('sha256').update(keyJson).digest('hex').slice(0, 32)}`;
    const have = this.engines.get(key);
    if (have) return { entry: have, hit: true };
    let b = this.building.get(key);
    if (!b) {
      b = (async () => {
        const modelPath = DIGEST_RE.test(spec.model) ? await this.fetchModel(spec.model) : spec.model;
        const t0 = performance.now();
        const thread = await EngineThread.start({ spec: { ...spec, model: modelPath }, backend: this.cfg.backend, shardIndex, shardCount, training }, (e) => {
          // The thread died (not evicted): drop the engine, a later Prepare builds it again.
          if (e && this.engines.get(key)?.thread === thread) this.engines.delete(key);
          if (e) this.log.error({ key, err: e.message }, 'compute thread lost');
        });
        this.backendName = thread.info.backend;
        const entry: Entry = { key, thread, users: 0, lastUsed: Date.now() };
        this.engines.set(key, entry);
        this.evict(key);
        this.log.info({ jobId: req.jobId, key, model: spec.model, data: spec.data, shardIndex, shardCount, training, examples: thread.info.examples, seconds: (performance.now() - t0) / 1000 }, 'engine prepared');
        return entry;
      })();
      this.building.set(key, b);
      void b.then(
        () => this.building.delete(key),
        () => this.building.delete(key),
      );
      return { entry: await b, hit: false };
    }
    return { entry: await b, hit: true };
  }

  private evict(keep: string): void {
    const idle = [...this.engines.values()].filter((e) => e.users === 0 && e.key !== keep).sort((a, b) => a.lastUsed - b.lastUsed);
    while (this.engines.size > this.cfg.maxEngines && idle.length > 0) {
      const e = idle.shift()!;
      this.engines.delete(e.key);
      void e.thread.close();
      this.log.info({ key: e.key }, 'engine evicted');
    }
  }

  private entry(key: string): Entry {
    const e = this.engines.get(key);
    if (!e) throw new UserError(`not prepared: engine ${key} is not on this worker; call Prepare first`, 'FAILED_PRECONDITION');
    e.lastUsed = Date.now();
    return e;
  }

  private handlers(): WorkerHandlers {
    return {
      Prepare: (call, cb) => {
        void (async () => {
          const { entry, spec } = await this.prepareFor(call.request);
          entry.users++;
          try {
            const info = entry.thread.info;
            const groups = await entry.thread.groups(spec.convention);
            const reply: PrepareReply = {
              key: entry.key,
              params: info.params,
              examples: info.examples,
              backend: info.backend,
              lossSum: info.lossValue * info.examples,
              groupsJson: JSON.stringify(groups),
              modelName: info.modelName,
              inputShape: info.inputShape,
              dataDescription: info.dataDescription,
              backendDetail: info.backendDetail,
              lossValue: info.lossValue,
              totalExamples: info.totalExamples,
              modelParams: info.params,
              memoryBudgetBytes: info.memoryBudgetBytes,
              memoryBudgetSource: info.memoryBudgetSource,
              engineBytes: info.engineBytes,
              hvpSeconds: info.hvpSeconds,
            };
            return reply;
          } finally {
            entry.users--;
          }
        })().then(
          (r) => cb(null, r),
          (e) => {
            this.log.warn({ jobId: call.request.jobId, err: String(e) }, 'prepare failed');
            cb(toServiceError(e));
          },
        );
      },

      RunTask: (call) => {
        const { jobId, key } = call.request;
        const ac = new AbortController();
        // The compute thread reads this flag before each product: visible there at once, no event-loop turn needed.
        const flag = new Int32Array(new SharedArrayBuffer(4));
        let taskId = '';
        let ended = false;
        // Ends the call with an error, once: a cancel ends it at once (this thread is never busy);
        // the compute thread stops the task before its next product.
        const stop = (e: unknown) => {
          if (ended) return;
          ended = true;
          this.mTasks.inc({ result: e instanceof Cancelled ? 'cancelled' : 'error' });
          this.log.info({ jobId, taskId, err: e instanceof Error ? e.message : String(e) }, 'task stopped');
          const err = e instanceof Cancelled ? { code: e.code, details: e.message, message: e.message } : toServiceError(e);
          call.emit('error', err);
        };
        ac.signal.addEventListener(
          'abort',
          () => {
            Atomics.store(flag, 0, 1);
            stop(ac.signal.reason);
          },
          { once: true },
        );
        call.on('cancelled', () => ac.abort(new Cancelled(grpc.status.CANCELLED, 'call cancelled by the caller')));
        void (async () => {
          if (this.draining) throw new Cancelled(grpc.status.UNAVAILABLE, `worker ${this.cfg.id} is draining`);
          if (this.cancelledJobs.has(jobId)) throw new Cancelled(grpc.status.CANCELLED, `job ${jobId} was cancelled`);
          const task = JSON.parse(call.request.taskJson) as Task;
          taskId = task.id;
          const entry = this.entry(key);
          entry.users++;
          // Counted as running until the compute thread has really stopped (or finished) the task.
          this.running.set(ac, { jobId, taskId });
          const t0 = performance.now();
          const log = this.log.child({ jobId, taskId });
          log.debug('task started');
          let counted = 0;
          const count = (done: number) => {
            if (done > counted) this.mHvps.inc({}, done - counted);
            counted = Math.max(counted, done);
          };
          try {
            const { result, done } = await entry.thread.runTask(task, (call.request.convention || 'layer') as Convention, flag, (d) => {
              count(d);
              if (!ac.signal.aborted) call.write({ progress: Math.min(1, d / Math.max(1, task.cost)) });
            });
            count(done);
            if (ac.signal.aborted) throw ac.signal.reason;
            ended = true;
            call.write({ resultJson: JSON.stringify(result) });
            call.end();
            this.mTasks.inc({ result: 'ok' });
            this.mTaskSeconds.inc({}, (performance.now() - t0) / 1000);
            log.info({ seconds: result.seconds, hvps: result.hvps }, 'task done');
          } catch (e) {
            if (e instanceof TaskStopped) count(e.done);
            throw e;
          } finally {
            entry.users--;
            this.running.delete(ac);
          }
        })().catch(stop);
      },

      Hvp: (call) => {
        let entry: Entry | null = null;
        let stream: Promise<number> | null = null;
        let asm = new VectorAssembler();
        let chain: Promise<void> = Promise.resolve();
        let failed = false;
        const fail = (e: unknown) => {
          if (failed) return;
          failed = true;
          call.emit('error', toServiceError(e));
        };
        call.on('data', (req: HvpRequest__Output) => {
          if (failed) return;
          try {
            if (!entry) {
              if (this.draining) throw new Cancelled(grpc.status.UNAVAILABLE, `worker ${this.cfg.id} is draining`);
              entry = this.entry(req.key);
              entry.users++;
              stream = entry.thread.open(req.operator || 'hessian', req.scope || 'full', (req.convention || 'layer') as Convention);
              chain = stream.then(() => undefined);
              chain.catch(fail);
            }
            if (!req.v) return;
            asm.add(req.v);
            if (asm.complete) {
              const v = asm.result();
              asm = new VectorAssembler();
              const thread = entry.thread;
              const s = stream!;
              chain = chain.then(async () => {
                if (failed) return;
                // v's buffer moves to the compute thread; the product's buffer moves back.
                const hv = await thread.matvec(await s, v);
                this.mHvps.inc();
                for (const c of toChunks(hv)) call.write(c);
              });
              chain.catch(fail);
            }
          } catch (e) {
            fail(e instanceof Cancelled ? { code: e.code, details: e.message } : e);
          }
        });
        call.on('end', () => {
          void chain.then(
            () => {
              if (!failed) call.end();
            },
            () => undefined,
          );
        });
        const release = () => {
          if (entry) {
            const thread = entry.thread;
            stream?.then(
              (s) => thread.release(s),
              () => undefined,
            );
            entry.users--;
            entry = null;
          }
        };
        call.on('finish', release);
        call.on('cancelled', release);
        call.on('error', release);
      },

      Gradient: (call) => {
        void (async () => {
          const entry = this.entry(call.request.key);
          entry.users++;
          try {
            const g = await entry.thread.gradient();
            for (const c of toChunks(g)) call.write(c);
            call.end();
          } finally {
            entry.users--;
          }
        })().catch((e) => call.emit('error', toServiceError(e)));
      },

      TrainGradient: (call) => this.trainGradient(call),

      Health: (_call, cb) => cb(null, { id: this.cfg.id, backend: this.backendName, running: this.running.size, draining: this.draining }),
    };
  }

  /**
   * One training step on one shard: header (training data, example indices, HTR term), then
   * the weights; answers the result, then the gradient. The call counts as a running task
   * (heartbeats, drain). A caller that gives up (deadline, cancel) ends the call; the step
   * in the compute thread runs to its end (tfjs cannot be interrupted) and is discarded.
   */
  private trainGradient(call: grpc.ServerDuplexStream<TrainGradientRequest__Output, TrainGradientReply>): void {
    let header: TrainGradientRequest__Output['header'] = null;
    let asm: VectorAssembler | null = new VectorAssembler();
    let ended = false;
    const ac = new AbortController();
    const fail = (e: unknown) => {
      if (ended) return;
      ended = true;
      this.running.delete(ac);
      this.mTasks.inc({ result: 'error' });
      this.log.warn({ run: header?.run, step: header?.step, err: e instanceof Error ? e.message : String(e) }, 'train step failed');
      call.emit('error', e instanceof Cancelled ? { code: e.code, details: e.message, message: e.message } : toServiceError(e));
    };
    // Drain (after its grace period) aborts running calls: the trainer redoes the shard elsewhere.
    ac.signal.addEventListener('abort', () => fail(ac.signal.reason), { once: true });
    call.on('cancelled', () => {
      ended = true;
      this.running.delete(ac);
    });
    call.on('data', (req: TrainGradientRequest__Output) => {
      if (ended) return;
      try {
        if (!header) {
          if (!req.header) throw new UserError('TrainGradient: the first message must be the header (training data, example indices, HTR term)');
          if (this.draining) throw new Cancelled(grpc.status.UNAVAILABLE, `worker ${this.cfg.id} is draining`);
          header = req.header;
          this.running.set(ac, { jobId: `train:${header.run}`, taskId: `step ${header.step}` });
          return;
        }
        if (!req.weights || !asm) throw new UserError('TrainGradient: after the header only weight chunks may follow, one vector');
        asm.add(req.weights);
        if (!asm.complete) return;
        const theta = asm.result();
        asm = null;
        void this.runTrainStep(header, theta).then(({ result, grad }) => {
          if (ended) return;
          ended = true;
          this.running.delete(ac);
          call.write({ result });
          for (const c of toChunks(grad)) call.write({ gradient: c });
          call.end();
          this.mTasks.inc({ result: 'ok' });
          this.mTaskSeconds.inc({}, result.seconds);
        }, fail);
      } catch (e) {
        fail(e);
      }
    });
    call.on('end', () => {
      if (!ended && (!header || asm)) fail(new UserError('TrainGradient: the stream ended before the header and the whole weight vector arrived'));
    });
  }

  private async runTrainStep(header: NonNullable<TrainGradientRequest__Output['header']>, theta: Float32Array): Promise<{ result: { loss: number; hasReg: boolean; reg: number; correct: number; examples: number; seconds: number }; grad: Float32Array }> {
    if (!header.prepare?.training) throw new UserError('TrainGradient: header.prepare must be a PrepareRequest with training = true');
    const { entry } = await this.prepareFor(header.prepare);
    entry.users++;
    try {
      const h = header.htr;
      const htr = h
        ? {
            gamma: h.gamma,
            probes: h.probes,
            layers: h.layers,
            convention: (h.convention || 'layer') as Convention,
            dist: (h.dist || 'rademacher') as 'rademacher' | 'gaussian',
            seed: h.seed,
            step: h.step,
          }
        : null;
      if (htr && htr.probes < 1) throw new UserError('TrainGradient: htr.probes must be at least 1');
      if (htr && htr.convention !== 'layer' && htr.convention !== 'weights-only') throw new UserError(`TrainGradient: htr.convention must be layer or weights-only, got ${JSON.stringify(htr.convention)}`);
      if (htr && htr.dist !== 'rademacher' && htr.dist !== 'gaussian') throw new UserError(`TrainGradient: htr.dist must be rademacher or gaussian, got ${JSON.stringify(htr.dist)}`);
      if (theta.length !== entry.thread.info.params) throw new UserError(`TrainGradient: ${theta.length} weights sent, but model ${entry.thread.info.modelName} has ${entry.thread.info.params} parameters`);
      const a = header.augment;
      const r = await entry.thread.train(theta, Int32Array.from(header.indices), htr, a && a.ops !== '' ? { ops: a.ops, seed: a.seed, epoch: a.epoch } : null);
      return { result: { loss: r.loss, hasReg: r.reg !== null, reg: r.reg ?? 0, correct: r.correct, examples: r.examples, seconds: r.seconds }, grad: r.grad };
    } finally {
      entry.users--;
    }
  }

  private setServing(serving: boolean): void {
    const st = serving ? 'SERVING' : 'NOT_SERVING';
    this.health.setStatus('', st);
    this.health.setStatus('hessian.v1.Worker', st);
  }

  /** SIGTERM: stop taking tasks, let running ones finish within drainS, fail the rest with UNAVAILABLE, close. */
  async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    this.setServing(false);
    this.log.info({ running: this.running.size, graceSeconds: this.cfg.drainS }, 'draining');
    this.heartbeat();
    const until = Date.now() + this.cfg.drainS * 1000;
    while (this.running.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    for (const ac of this.running.keys()) ac.abort(new Cancelled(grpc.status.UNAVAILABLE, `worker ${this.cfg.id} shut down before the task finished; run it elsewhere`));
    await new Promise((r) => setTimeout(r, 200));
    this.heartbeat();
    await this.close();
  }

  async close(): Promise<void> {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    await closeServers(this.server, this.healthServer);
    if (this.nc && !this.nc.isClosed()) await this.nc.drain().catch(() => undefined);
    await Promise.all([...this.engines.values()].map((e) => e.thread.close()));
    this.engines.clear();
  }
}
