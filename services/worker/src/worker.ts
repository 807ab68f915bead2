/**
 * The worker: prepares engines (model + data [+ shard]) cached by key, runs planned tasks
 * with progress, serves HVPs and gradients of its shard, heartbeats on NATS, stops a job's
 * tasks on its cancel subject and drains on SIGTERM.
 */
import * as grpc from '@grpc/grpc-js';
import { executeTask, normalizeSpec, prepare, scopeOf, type Prepared, type Task } from '@hessian/analysis';
import { HessianEngine, initBackend, sliceBatch, type BackendName, type Convention, type OperatorKind } from '@hessian/engine';
import { UserError, type LinearOperator } from '@hessian/linalg';
import {
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
  type WorkerHandlers,
} from '@hessian/wire';
import { connect, type NatsConnection } from 'nats';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync, existsSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';

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
}

interface Entry {
  key: string;
  prepared: Prepared;
  engine: HessianEngine;
  examples: number;
  totalExamples: number;
  lossValue: number;
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
  private engines = new Map<string, Entry>();
  private building = new Map<string, Promise<Entry>>();
  private models = new Map<string, Promise<string>>();
  /** Running tasks: their job and abort controller. */
  private running = new Map<AbortController, { jobId: string; taskId: string }>();
  private cancelledJobs = new Map<string, number>();
  private draining = false;
  private backendName = 'unknown';
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
    const info = await initBackend(this.cfg.backend, { needsConv: true });
    this.backendName = info.name;
    this.nc = await connect({ servers: this.cfg.natsUrl, name: `worker ${this.cfg.id}`, maxReconnectAttempts: -1, reconnectTimeWait: 500, waitOnFirstConnect: true });
    void this.watchNats(this.nc);
    const sub = this.nc.subscribe(SUBJECTS.allCancels);
    void (async () => {
      for await (const m of sub) this.cancelJob(m.subject.split('.')[2] ?? '');
    })();
    const { worker } = loadProtos();
    this.server.addService(worker.hessian.v1.Worker.service, this.handlers());
    this.grpcPort = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(`0.0.0.0:${this.cfg.grpcPort}`, grpc.ServerCredentials.createInsecure(), (e, port) => (e ? reject(e) : resolve(port))),
    );
    this.address = this.cfg.advertise ?? `127.0.0.1:${this.grpcPort}`;
    this.metricsPort = (await this.metrics.serve(this.cfg.metricsPort)).port;
    this.heartbeat();
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.cfg.heartbeatS * 1000);
    this.log.info({ grpcPort: this.grpcPort, metricsPort: this.metricsPort, workerId: this.cfg.id, address: this.address, backend: this.backendName, capacity: this.cfg.capacity }, 'listening');
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
      device: `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}`,
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

  /** Fetches an uploaded model from the object store once, writes its files under the cache dir; resolves the model.json path. */
  private fetchModel(digest: string): Promise<string> {
    let p = this.models.get(digest);
    if (!p) {
      p = (async () => {
        const hex = digest.slice('sha256:'.length);
        const dir = path.join(this.cfg.cacheDir, 'models', hex);
        const file = path.join(dir, 'model.json');
        if (existsSync(file)) return file;
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
        return file;
      })();
      this.models.set(digest, p);
      p.catch(() => this.models.delete(digest));
    }
    return p;
  }

  private async engineFor(req: { spec: ReturnType<typeof normalizeSpec>; shardIndex: number; shardCount: number; jobId: string }): Promise<{ entry: Entry; hit: boolean }> {
    const { spec, shardIndex, shardCount } = req;
    const keyJson = JSON.stringify({ m: spec.model, ms: spec.modelSeed, d: spec.data, pc: spec.perClass, l: spec.loss, b: spec.batchSize, s: spec.seed, si: shardIndex, sc: shardCount, be: this.backendName });
    const key = `eng-${createHash('sha256').update(keyJson).digest('hex').slice(0, 32)}`;
    const have = this.engines.get(key);
    if (have) return { entry: have, hit: true };
    let b = this.building.get(key);
    if (!b) {
      b = (async () => {
        const modelPath = DIGEST_RE.test(spec.model) ? await this.fetchModel(spec.model) : spec.model;
        const t0 = performance.now();
        const p = await prepare({ ...spec, model: modelPath }, this.cfg.backend);
        this.backendName = p.backend;
        const total = p.data.shape[0];
        let engine = p.engine;
        let examples = total;
        if (shardCount > 1) {
          const start = Math.floor((shardIndex * total) / shardCount);
          const end = Math.floor(((shardIndex + 1) * total) / shardCount);
          if (end <= start) {
            p.engine.dispose();
            p.model.dispose();
            throw new UserError(`scope: ${total} examples cannot be split into ${shardCount} shards; use more data or fewer workers`, 'FAILED_PRECONDITION');
          }
          p.engine.dispose();
          const batch = sliceBatch({ ...p.data, shape: [total, ...p.model.inputShape], numClasses: p.model.outputSize }, start, end);
          engine = new HessianEngine(p.model, batch, { loss: spec.loss, batchSize: spec.batchSize > 0 ? spec.batchSize : undefined });
          examples = end - start;
        }
        const entry: Entry = { key, prepared: { ...p, engine }, engine, examples, totalExamples: total, lossValue: engine.loss(), users: 0, lastUsed: Date.now() };
        this.engines.set(key, entry);
        this.evict();
        this.log.info({ jobId: req.jobId, key, model: spec.model, data: spec.data, shardIndex, shardCount, examples, seconds: (performance.now() - t0) / 1000 }, 'engine prepared');
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

  private evict(): void {
    const idle = [...this.engines.values()].filter((e) => e.users === 0).sort((a, b) => a.lastUsed - b.lastUsed);
    while (this.engines.size > this.cfg.maxEngines && idle.length > 0) {
      const e = idle.shift()!;
      this.engines.delete(e.key);
      e.engine.dispose();
      e.prepared.model.dispose();
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
          const req = call.request;
          const spec = normalizeSpec(specFromProto(req.spec ?? { model: '' }));
          const shardCount = Math.max(1, req.shardCount);
          if (req.shardIndex >= shardCount) throw new UserError(`shard_index ${req.shardIndex} must be below shard_count ${shardCount}`);
          const { entry, hit } = await this.engineFor({ spec, shardIndex: req.shardIndex, shardCount, jobId: req.jobId });
          this.mPrepares.inc({ cache: hit ? 'hit' : 'miss' });
          const model = entry.prepared.model;
          const groups = model.groups(spec.convention).map((g) => ({
            name: g.name,
            className: g.className,
            size: g.size,
            tensors: g.tensors.map((t) => ({ name: t.name, offset: t.offset, size: t.size })),
          }));
          const reply: PrepareReply = {
            key: entry.key,
            params: model.paramCount,
            examples: entry.examples,
            backend: entry.prepared.backend,
            lossSum: entry.lossValue * entry.examples,
            groupsJson: JSON.stringify(groups),
            modelName: model.name,
            inputShape: model.inputShape,
            dataDescription: entry.prepared.data.description,
            backendDetail: entry.prepared.backendDetail,
            lossValue: entry.lossValue,
            totalExamples: entry.totalExamples,
            modelParams: model.paramCount,
          };
          return reply;
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
        let taskId = '';
        const fail = (e: unknown) => {
          const err = e instanceof Cancelled ? { code: e.code, details: e.message, message: e.message } : toServiceError(e);
          call.emit('error', err);
        };
        call.on('cancelled', () => ac.abort(new Cancelled(grpc.status.CANCELLED, 'call cancelled by the caller')));
        void (async () => {
          if (this.draining) throw new Cancelled(grpc.status.UNAVAILABLE, `worker ${this.cfg.id} is draining`);
          if (this.cancelledJobs.has(jobId)) throw new Cancelled(grpc.status.CANCELLED, `job ${jobId} was cancelled`);
          const task = JSON.parse(call.request.taskJson) as Task;
          taskId = task.id;
          const entry = this.entry(key);
          entry.users++;
          this.running.set(ac, { jobId, taskId });
          const t0 = performance.now();
          const log = this.log.child({ jobId, taskId });
          log.debug('task started');
          let last = 0;
          let done = 0;
          const inner = entry.engine;
          const signal = ac.signal;
          const wrapped = {
            operator: (kind: OperatorKind, scope: Parameters<HessianEngine['operator']>[1]): LinearOperator => {
              const op = inner.operator(kind, scope);
              return {
                dim: op.dim,
                matvec: async (v: Float32Array) => {
                  // On cpu-like backends a product resolves in microtasks only: yield to the event
                  // loop so cancel messages, gRPC cancellation and heartbeats get through between products.
                  await new Promise((r) => setImmediate(r));
                  if (signal.aborted) throw signal.reason;
                  const r = await op.matvec(v);
                  if (signal.aborted) throw signal.reason;
                  done++;
                  this.mHvps.inc();
                  const now = Date.now();
                  if (now - last > 250) {
                    last = now;
                    call.write({ progress: Math.min(1, done / Math.max(1, task.cost)) });
                  }
                  return r;
                },
              };
            },
            scopeOffsets: (s: Parameters<HessianEngine['scopeOffsets']>[0]) => inner.scopeOffsets(s),
          } as unknown as HessianEngine;
          try {
            const result = await executeTask(task, wrapped, (call.request.convention || 'layer') as Convention);
            if (signal.aborted) throw signal.reason;
            call.write({ resultJson: JSON.stringify(result) });
            call.end();
            this.mTasks.inc({ result: 'ok' });
            this.mTaskSeconds.inc({}, (performance.now() - t0) / 1000);
            log.info({ seconds: result.seconds, hvps: result.hvps }, 'task done');
          } finally {
            entry.users--;
            this.running.delete(ac);
          }
        })().catch((e) => {
          this.mTasks.inc({ result: e instanceof Cancelled ? 'cancelled' : 'error' });
          this.log.info({ jobId, taskId, err: e instanceof Error ? e.message : String(e) }, 'task stopped');
          fail(e);
        });
      },

      Hvp: (call) => {
        let op: LinearOperator | null = null;
        let entry: Entry | null = null;
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
            if (!op) {
              if (this.draining) throw new Cancelled(grpc.status.UNAVAILABLE, `worker ${this.cfg.id} is draining`);
              entry = this.entry(req.key);
              entry.users++;
              op = entry.engine.operator((req.operator || 'hessian') as OperatorKind, scopeOf(req.scope || 'full', (req.convention || 'layer') as Convention));
            }
            if (!req.v) return;
            asm.add(req.v);
            if (asm.complete) {
              const v = asm.result();
              asm = new VectorAssembler();
              const o = op;
              chain = chain.then(async () => {
                if (failed) return;
                const hv = await o.matvec(v);
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
          const g = entry.engine.gradient();
          for (const c of toChunks(g)) call.write(c);
          call.end();
        })().catch((e) => call.emit('error', toServiceError(e)));
      },

      Health: (_call, cb) => cb(null, { id: this.cfg.id, backend: this.backendName, running: this.running.size, draining: this.draining }),
    };
  }

  /** SIGTERM: stop taking tasks, let running ones finish within drainS, fail the rest with UNAVAILABLE, close. */
  async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
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
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 2000);
      this.server.tryShutdown(() => {
        clearTimeout(t);
        resolve();
      });
    });
    if (this.nc && !this.nc.isClosed()) await this.nc.drain().catch(() => undefined);
  }
}
