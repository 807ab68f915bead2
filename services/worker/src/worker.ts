/**
 * The worker: prepares engines (model + data [+ shard]) cached by key, runs planned tasks
 * with progress, serves HVPs and gradients of its shard, heartbeats on NATS, stops a job's
 * tasks on its cancel subject and drains on SIGTERM. Every engine lives in its own compute
 * thread (compute.ts, engine-thread.ts): this thread only serves gRPC, NATS and metrics, so
 * a long tfjs product never delays a heartbeat, a cancel or a Health call.
 */
import * as grpc from '@grpc/grpc-js';
import { initBackend, type BackendName } from '@hessian/engine';
import { UserError } from '@hessian/linalg';
import { HealthImplementation } from 'grpc-health-check';
import {
  bindServers,
  closeServers,
  BUCKETS,
  ClusterSecretCheck,
  SERVER_OPTIONS,
  decodeModelBundle,
  loadProtos,
  Metrics,
  safeModelPath,
  sleep,
  SUBJECTS,
  type Heartbeat,
  type NatsAuthOptions,
} from '@hessian/wire';
import { connect, type NatsConnection } from 'nats';
import { mkdirSync, writeFileSync, existsSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { EngineCache } from './engines.js';
import { guarded } from './handlers/guard.js';
import { workerHandlers } from './handlers/index.js';
import { Cancelled, type WorkerMetrics, type WorkerRuntime } from './runtime.js';

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
  /** HESSIAN_CLUSTER_SECRET: every Worker call must carry it (handlers/guard.ts); undefined: no check. */
  clusterSecret?: string;
}

export class WorkerService implements WorkerRuntime {
  private nc: NatsConnection | null = null;
  private server = new grpc.Server(SERVER_OPTIONS);
  private healthServer: grpc.Server | null = null;
  healthPort = -1;
  /** grpc.health.v1.Health on the gRPC port: '' and hessian.v1.Worker SERVING when ready, NOT_SERVING while draining; 'liveness' SERVING while the process runs. */
  readonly health = new HealthImplementation({ '': 'NOT_SERVING', 'hessian.v1.Worker': 'NOT_SERVING', liveness: 'SERVING' });
  readonly engines: EngineCache;
  private models = new Map<string, Promise<string>>();
  /** Running tasks and train steps: their job and abort controller. */
  readonly running = new Map<AbortController, { jobId: string; taskId: string }>();
  readonly cancelledJobs = new Map<string, number>();
  draining = false;
  /** what ListWorkers shows as the device: the CPU, or the GPU adapter and its limits on webgpu */
  private deviceText = `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}`;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private readonly started = Date.now();
  address = '';
  grpcPort = 0;
  metricsPort = -1;
  readonly metrics = new Metrics();
  readonly counters: WorkerMetrics = {
    tasks: this.metrics.counter('hessian_worker_tasks_total', 'Tasks finished by this worker, by result (ok, error, cancelled).'),
    hvps: this.metrics.counter('hessian_worker_hvps_total', 'Operator products (HVPs, Gauss-Newton products) computed, tasks and Hvp streams together.'),
    taskSeconds: this.metrics.counter('hessian_worker_task_seconds_total', 'Seconds spent in tasks.'),
    prepares: this.metrics.counter('hessian_worker_prepares_total', 'Prepare calls, by cache outcome (hit, miss).'),
  };

  constructor(
    readonly cfg: WorkerConfig,
    readonly log: Logger,
  ) {
    this.engines = new EngineCache(
      { backend: cfg.backend, maxEngines: cfg.maxEngines, dataRoots: cfg.dataRoots, maxModelBytes: cfg.maxModelBytes, fetchModel: (digest) => this.fetchModel(digest) },
      log,
      'unknown',
    );
    this.metrics.gauge('hessian_worker_running_tasks', 'Tasks running now.', () => this.running.size);
    this.metrics.gauge('hessian_worker_capacity', 'Tasks this worker runs at once.', () => this.cfg.capacity);
    this.metrics.gauge('hessian_worker_engines', 'Prepared engines held in the cache.', () => this.engines.size);
    this.metrics.gauge('hessian_worker_draining', '1 while draining after SIGTERM.', () => (this.draining ? 1 : 0));
  }

  get id(): string {
    return this.cfg.id;
  }

  get capacity(): number {
    return this.cfg.capacity;
  }

  /** The backend the engines run on (the main thread's until a compute thread reports). */
  get backendName(): string {
    return this.engines.backendName;
  }

  async start(): Promise<void> {
    // Health first: probes see a live process (NOT_SERVING) while the backend loads and NATS connects.
    ({ grpcPort: this.grpcPort, healthServer: this.healthServer, healthPort: this.healthPort } = await bindServers(this.server, this.health, {
      grpcPort: this.cfg.grpcPort,
      credentials: this.cfg.serverCredentials,
      healthPort: this.cfg.healthPort,
    }));
    const info = await initBackend(this.cfg.backend, { needsConv: true });
    this.engines.backendName = info.name;
    if (info.name === 'webgpu' || info.name === 'tensorflow') this.deviceText = info.detail;
    this.nc = await connect({ ...this.cfg.natsAuth, servers: this.cfg.natsUrl, name: `worker ${this.cfg.id}`, maxReconnectAttempts: -1, reconnectTimeWait: 500, waitOnFirstConnect: true });
    void this.watchNats(this.nc);
    const sub = this.nc.subscribe(SUBJECTS.allCancels);
    void (async () => {
      for await (const m of sub) this.cancelJob(m.subject.split('.')[2] ?? '');
    })();
    const { worker } = loadProtos();
    this.server.addService(worker.hessian.v1.Worker.service, guarded(workerHandlers(this), this.cfg.clusterSecret ? new ClusterSecretCheck(this.cfg.clusterSecret) : null, this.log));
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
        // an upload is a tfjs model.json with its weights, or one single-file model (model.onnx, model.h5, model.keras)
        const entry = (): string | null => ['model.json', 'model.onnx', 'model.h5', 'model.keras'].map((f) => path.join(dir, f)).find((f) => existsSync(f)) ?? null;
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
        if (!file) throw new UserError(`model: ${digest} holds no model.json, model.onnx, model.h5 or model.keras; upload it again with hessctl upload-model`, 'FAILED_PRECONDITION');
        return file;
      })();
      this.models.set(digest, p);
      p.catch(() => this.models.delete(digest));
    }
    return p;
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
    while (this.running.size > 0 && Date.now() < until) await sleep(100);
    for (const ac of this.running.keys()) ac.abort(new Cancelled(grpc.status.UNAVAILABLE, `worker ${this.cfg.id} shut down before the task finished; run it elsewhere`));
    await sleep(200);
    this.heartbeat();
    await this.close();
  }

  async close(): Promise<void> {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    await closeServers(this.server, this.healthServer);
    if (this.nc && !this.nc.isClosed()) await this.nc.drain().catch(() => undefined);
    await this.engines.closeAll();
  }
}
