/**
 * Test harness: a real nats-server (JetStream, file store in a temp dir, a port it picks), the
 * coordinator and workers as real processes (`node .../main.js`), a gRPC client on loopback.
 * Everything started is killed by stop() and, as a last resort, on process exit.
 */
import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS, loadProtos, startNatsServer, type CoordinatorClient, type Job__Output, type JobEvent__Output, type SubmitAnalysisRequest } from '@hessian/wire';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const COORDINATOR_MAIN = path.join(ROOT, 'services/coordinator/dist/src/main.js');
export const WORKER_MAIN = path.join(ROOT, 'services/worker/dist/src/main.js');

const everything = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of everything) if (p.exitCode === null) p.kill('SIGKILL');
});

/**
 * A port free now, for what must be told its port before it starts and cannot report the one it
 * bound: a coordinator's gRPC port kept across its restarts, the NATS URL a coordinator is given
 * before nats-server exists (health.test.ts), a port nothing listens on. Never for starting
 * nats-server itself: Nats.start lets nats-server pick.
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Nats {
  proc: ChildProcess | null = null;
  /** What nats-server wrote, over all its starts (its refusals: authentication errors, permission violations). */
  log = '';
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'hessian-nats-'));
  /**
   * port 0: nats-server picks one at the first start() and keeps it for restarts (startNatsServer
   * of @hessian/wire: the port from its ports file, never one found free beforehand, which a
   * parallel test could take first). extraArgs: more nats-server flags (e.g. --user u --pass p).
   */
  constructor(
    public port = 0,
    readonly extraArgs: string[] = [],
  ) {}
  get url(): string {
    if (this.port === 0) throw new Error('Nats.url before start(): nats-server has not picked its port yet');
    return `nats://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    const s = await startNatsServer({ port: this.port, storeDir: this.dir, extraArgs: this.extraArgs, onOutput: (t) => (this.log += t) });
    this.proc = s.process;
    everything.add(s.process);
    this.port = s.port;
  }
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill(signal);
    await exited;
    everything.delete(p);
  }
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface LogLine {
  msg?: string;
  level?: number;
  [k: string]: unknown;
}

export class Service {
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  grpcPort = 0;
  metricsPort = 0;
  private exit: Promise<number | null>;
  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    everything.add(proc);
    this.exit = new Promise((resolve) => proc.once('exit', (code) => (everything.delete(proc), resolve(code))));
    let buf = '';
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (d: string) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        this.stderr.push(line);
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          /* not JSON */
        }
      }
    });
    proc.stdout!.resume();
  }

  static async start(name: string, main: string, env: Record<string, string>, timeoutMs = 30000): Promise<Service> {
    const proc = spawn(process.execPath, [main], { env: { ...process.env, HESSIAN_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const s = new Service(name, proc);
    await s.waitFor((l) => l.msg === 'listening', timeoutMs);
    const l = s.logs.find((x) => x.msg === 'listening')!;
    s.grpcPort = Number(l['grpcPort']);
    s.metricsPort = Number(l['metricsPort']);
    return s;
  }

  async waitFor(pred: (l: LogLine) => boolean, timeoutMs = 30000): Promise<LogLine> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.logs.find(pred);
      if (hit) return hit;
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) throw new Error(`${this.name} exited (${this.proc.exitCode ?? this.proc.signalCode}):\n${this.stderr.slice(-20).join('\n')}`);
      if (Date.now() > until) throw new Error(`${this.name}: timed out waiting for a log line:\n${this.stderr.slice(-20).join('\n')}`);
      await sleep(25);
    }
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    if (this.alive) this.proc.kill(signal);
    return this.exit;
  }
}

export interface ClusterOptions {
  workers?: number;
  coordinatorEnv?: Record<string, string>;
  workerEnv?: Record<string, string>;
}

type Unary<Req, Res> = (req: Req, cb: (e: grpc.ServiceError | null, r?: Res) => void) => unknown;

export class Cluster {
  nats!: Nats;
  coordinator!: Service;
  workers: Service[] = [];
  client!: CoordinatorClient;
  private workerSeq = 0;
  private cacheDir = mkdtempSync(path.join(os.tmpdir(), 'hessian-wcache-'));

  constructor(readonly opts: ClusterOptions = {}) {}

  static async start(opts: ClusterOptions = {}): Promise<Cluster> {
    const c = new Cluster(opts);
    try {
      c.nats = new Nats();
      await c.nats.start();
      await c.startCoordinator();
      for (let i = 0; i < (opts.workers ?? 0); i++) await c.addWorker();
      if ((opts.workers ?? 0) > 0) await c.waitForWorkers(opts.workers ?? 0);
    } catch (e) {
      await c.stop();
      throw e;
    }
    return c;
  }

  async startCoordinator(port = 0): Promise<Service> {
    this.coordinator = await Service.start('coordinator', COORDINATOR_MAIN, {
      HESSIAN_NATS_URL: this.nats.url,
      HESSIAN_GRPC_PORT: String(port),
      HESSIAN_METRICS_PORT: '0',
      HESSIAN_HEARTBEAT_TIMEOUT_S: '3',
      ...this.opts.coordinatorEnv,
    });
    this.client?.close();
    const { coordinator } = loadProtos();
    this.client = new coordinator.hessian.v1.Coordinator(`127.0.0.1:${this.coordinator.grpcPort}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS) as unknown as CoordinatorClient;
    return this.coordinator;
  }

  async addWorker(env: Record<string, string> = {}): Promise<Service> {
    const id = `w${++this.workerSeq}`;
    const w = await Service.start(id, WORKER_MAIN, {
      HESSIAN_NATS_URL: this.nats.url,
      HESSIAN_GRPC_PORT: '0',
      HESSIAN_METRICS_PORT: '0',
      HESSIAN_WORKER_ID: id,
      HESSIAN_BACKEND: 'cpu',
      HESSIAN_HEARTBEAT_S: '0.5',
      HESSIAN_CACHE_DIR: this.cacheDir,
      ...this.opts.workerEnv,
      ...env,
    });
    this.workers.push(w);
    return w;
  }

  /** Until ListWorkers shows exactly n workers. */
  async waitForWorkers(n: number, timeoutMs = 20000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.call<object, { workers: unknown[] }>('ListWorkers', {});
      if (r.workers.length === n) return;
      if (Date.now() > until) throw new Error(`expected ${n} workers, the coordinator lists ${r.workers.length}`);
      await sleep(100);
    }
  }

  call<Req, Res>(method: string, req: Req): Promise<Res> {
    const f = (this.client as unknown as Record<string, Unary<Req, Res>>)[method].bind(this.client);
    return new Promise((resolve, reject) => f(req, (e, r) => (e ? reject(e) : resolve(r as Res))));
  }

  submit(req: SubmitAnalysisRequest): Promise<Job__Output> {
    return this.call('SubmitAnalysis', req);
  }

  getJob(id: string, includeReport = false): Promise<Job__Output> {
    return this.call('GetJob', { id, includeReport });
  }

  /** All events of a job until its terminal one (or the stream's end). */
  watch(id: string, afterSequence = 0, onEvent?: (e: JobEvent__Output) => void): Promise<JobEvent__Output[]> {
    return new Promise((resolve, reject) => {
      const out: JobEvent__Output[] = [];
      const s = this.client.WatchJob({ id, afterSequence });
      s.on('data', (e: JobEvent__Output) => {
        out.push(e);
        onEvent?.(e);
      });
      s.on('error', reject);
      s.on('end', () => resolve(out));
    });
  }

  async stop(): Promise<void> {
    try {
      this.client?.close();
    } catch {
      /* closed */
    }
    await Promise.all(this.workers.map((w) => w.kill('SIGKILL')));
    if (this.coordinator) await this.coordinator.kill('SIGKILL');
    if (this.nats) await this.nats.destroy();
    rmSync(this.cacheDir, { recursive: true, force: true });
  }
}
