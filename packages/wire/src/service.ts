/**
 * What the coordinator and the worker share besides the protos: NATS subject and bucket
 * names, the heartbeat message, the encoding of KV keys and of uploaded models, environment
 * parsing, the pino logger, a small Prometheus text-format registry, and the start-up and
 * shutdown steps both services take.
 */
import * as grpc from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, destination, type Logger } from 'pino';

// ---- NATS names --------------------------------------------------------------------------

export const SUBJECTS = {
  heartbeat: 'hessian.workers.heartbeat',
  events: (jobId: string) => `hessian.jobs.${jobId}.events`,
  cancel: (jobId: string) => `hessian.jobs.${jobId}.cancel`,
  allEvents: 'hessian.jobs.*.events',
  allCancels: 'hessian.jobs.*.cancel',
} as const;

export const BUCKETS = {
  /** KV: job id -> JobRecord (JSON). */
  jobs: 'hessian_jobs',
  /** KV: "<job id>.<base64url(task id)>" -> TaskResult (JSON). */
  results: 'hessian_results',
  /** Object store: "sha256:HEX" -> canonical model bundle (encodeModelBundle). */
  models: 'hessian_models',
  /** Object store: job id -> report JSON. */
  reports: 'hessian_reports',
} as const;

/** JetStream stream holding every job's events (WatchJob replays it). */
export const EVENTS_STREAM = 'HESSIAN_EVENTS';

/** KV key of a finished task's result: task ids contain '/' and '+', so base64url them. */
export function resultKey(jobId: string, taskId: string): string {
  return `${jobId}.${Buffer.from(taskId, 'utf8').toString('base64url')}`;
}

export function taskIdOfResultKey(key: string): string {
  const dot = key.indexOf('.');
  return Buffer.from(key.slice(dot + 1), 'base64url').toString('utf8');
}

/** What a worker publishes on SUBJECTS.heartbeat every HESSIAN_HEARTBEAT_S seconds. */
export interface Heartbeat {
  id: string;
  address: string;
  backend: string;
  device: string;
  capacity: number;
  running: number;
  memory: number;
  /** Model digests and prepared-engine keys it holds. */
  cached: string[];
  draining: boolean;
  /** Process start (ms since epoch): a new value under the same id is a restarted worker. */
  started: number;
}

// ---- uploaded models ----------------------------------------------------------------------

export interface ModelFile {
  path: string;
  data: Buffer;
}

/**
 * Canonical encoding of a model's files: sorted by path, each as
 * u32 path length, path (UTF-8), u64 data length, data (lengths little-endian).
 * The model's digest is "sha256:" + hex SHA-256 of this encoding.
 */
export function encodeModelBundle(files: ModelFile[]): Buffer {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const parts: Buffer[] = [];
  for (const f of sorted) {
    const p = Buffer.from(f.path, 'utf8');
    const h = Buffer.alloc(4);
    h.writeUInt32LE(p.length);
    const l = Buffer.alloc(8);
    l.writeBigUInt64LE(BigInt(f.data.length));
    parts.push(h, p, l, f.data);
  }
  return Buffer.concat(parts);
}

export function decodeModelBundle(buf: Buffer): ModelFile[] {
  const out: ModelFile[] = [];
  let o = 0;
  while (o < buf.length) {
    const pl = buf.readUInt32LE(o);
    o += 4;
    const path = buf.subarray(o, o + pl).toString('utf8');
    o += pl;
    const dl = Number(buf.readBigUInt64LE(o));
    o += 8;
    out.push({ path, data: buf.subarray(o, o + dl) });
    o += dl;
  }
  return out;
}

export function modelDigest(bundle: Buffer): string {
  return `sha256:${createHash('sha256').update(bundle).digest('hex')}`;
}

export const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/** A file path inside an uploaded model: relative, no '..', no backslashes. */
export function safeModelPath(p: string): boolean {
  return p.length > 0 && p.length < 256 && !p.startsWith('/') && !p.includes('\\') && !p.split('/').some((s) => s === '..' || s === '' || s === '.');
}

// ---- configuration ------------------------------------------------------------------------

export function envString(name: string, fallback: string): string {
  const v = process.env[name];
  return v === undefined || v.trim() === '' ? fallback : v.trim();
}

/** An integer from the environment; exits the process with a clear line on a bad value. */
export function envInt(name: string, fallback: number, min = Number.MIN_SAFE_INTEGER): number {
  const v = process.env[name];
  if (v === undefined || v.trim() === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`${name}: must be a whole number >= ${min}, got ${JSON.stringify(v)}\n`);
    process.exit(2);
  }
  return n;
}

export function envNumber(name: string, fallback: number, min = 0): number {
  const v = process.env[name];
  if (v === undefined || v.trim() === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) {
    process.stderr.write(`${name}: must be a number >= ${min}, got ${JSON.stringify(v)}\n`);
    process.exit(2);
  }
  return n;
}

/** JSON lines on stderr at HESSIAN_LOG_LEVEL (default `level`: services log `info`, hessctl's in-process trainer `warn`). */
export function createLogger(service: string, level = 'info'): Logger {
  return pino({ name: service, level: envString('HESSIAN_LOG_LEVEL', level), base: { service, pid: process.pid } }, destination(2));
}

// ---- serving and stopping ---------------------------------------------------------------

function bind(server: grpc.Server, port: number, creds: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => server.bindAsync(`0.0.0.0:${port}`, creds, (e, bound) => (e ? reject(e) : resolve(bound))));
}

/**
 * Binds a service's gRPC server (with the health service added first, so probes see a live
 * process that is not ready yet rather than a closed port) and, when `healthPort` >= 0, a
 * plaintext server with the health service alone: kubelet's gRPC probes cannot speak TLS.
 */
export async function bindServers(
  server: grpc.Server,
  health: { addToServer(s: grpc.Server): void },
  opts: { grpcPort: number; credentials?: grpc.ServerCredentials; healthPort?: number },
): Promise<{ grpcPort: number; healthServer: grpc.Server | null; healthPort: number }> {
  health.addToServer(server);
  const grpcPort = await bind(server, opts.grpcPort, opts.credentials ?? grpc.ServerCredentials.createInsecure());
  if (opts.healthPort === undefined || opts.healthPort < 0) return { grpcPort, healthServer: null, healthPort: -1 };
  const healthServer = new grpc.Server();
  health.addToServer(healthServer);
  return { grpcPort, healthServer, healthPort: await bind(healthServer, opts.healthPort, grpc.ServerCredentials.createInsecure()) };
}

/**
 * The counterpart of bindServers: lets calls in flight finish for up to `graceMs`, then cuts
 * the rest, and closes the health-only server.
 */
export async function closeServers(server: grpc.Server, healthServer: grpc.Server | null, graceMs = 2000): Promise<void> {
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(t);
      resolve();
    });
  });
  healthServer?.forceShutdown();
}

/**
 * Runs a service until SIGTERM or SIGINT: `stop` once (exit 0 when it resolves, 1 when it
 * rejects); a failure to start is logged as fatal and exits 1.
 */
export function runService(log: Logger, service: { start(): Promise<void> }, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    stop().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (e: unknown) => {
        log.error({ err: String(e) }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  service.start().catch((e: unknown) => {
    log.fatal({ err: e instanceof Error ? e.message : String(e) }, 'failed to start');
    process.exit(1);
  });
}

// ---- metrics ------------------------------------------------------------------------------

type Labels = Record<string, string>;

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  values: Map<string, { labels: Labels; value: number }>;
  collect?: () => number;
}

const labelKey = (l: Labels) =>
  Object.keys(l)
    .sort()
    .map((k) => `${k}="${String(l[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',');

/** A minimal Prometheus registry: counters and gauges with labels, text exposition format 0.0.4. */
export class Metrics {
  private families = new Map<string, Family>();

  private family(name: string, help: string, type: Family['type']): Family {
    let f = this.families.get(name);
    if (!f) {
      f = { name, help, type, values: new Map() };
      this.families.set(name, f);
    }
    return f;
  }

  counter(name: string, help: string): { inc: (labels?: Labels, by?: number) => void } {
    const f = this.family(name, help, 'counter');
    return {
      inc: (labels: Labels = {}, by = 1) => {
        const k = labelKey(labels);
        const e = f.values.get(k) ?? { labels, value: 0 };
        e.value += by;
        f.values.set(k, e);
      },
    };
  }

  gauge(name: string, help: string, collect?: () => number): { set: (v: number, labels?: Labels) => void } {
    const f = this.family(name, help, 'gauge');
    if (collect) f.collect = collect;
    return { set: (v: number, labels: Labels = {}) => void f.values.set(labelKey(labels), { labels, value: v }) };
  }

  text(): string {
    const lines: string[] = [];
    for (const f of this.families.values()) {
      lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
      if (f.collect) lines.push(`${f.name} ${f.collect()}`);
      for (const [k, e] of f.values) lines.push(`${f.name}${k ? `{${k}}` : ''} ${e.value}`);
    }
    return lines.join('\n') + '\n';
  }

  /** Serves GET /metrics; port 0 picks a free one, -1 serves nothing. Resolves the bound port (or -1). */
  async serve(port: number): Promise<{ port: number; server: Server | null }> {
    if (port < 0) return { port: -1, server: null };
    const server = createServer((req, res) => {
      if (req.url === '/metrics' || req.url?.startsWith('/metrics?')) {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(this.text());
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found: try /metrics\n');
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '0.0.0.0', () => resolve());
    });
    return { port: (server.address() as AddressInfo).port, server };
  }
}
