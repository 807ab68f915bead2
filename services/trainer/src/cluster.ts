/**
 * The cluster trainer: packages/training's loop (train / resume: schedules, checkpoints,
 * metrics.jsonl, the NaN stop) with gradients from workers (remote-gradients.ts). Test-set
 * evaluation runs here, in the trainer's own tfjs (one forward pass per epoch; the workers
 * compute the backward and third-order work).
 *
 * The shard count is fixed when the run starts (default: the workers available then) and
 * recorded in RUN/cluster.json, so a resumed run splits its minibatches the same way
 * whatever workers are alive, and computes the same numbers.
 */
import * as grpc from '@grpc/grpc-js';
import { UserError } from '@hessian/linalg';
import { resume, train, type TrainOptions, type TrainResult, type TrainSpec } from '@hessian/training';
import { Registry, type NatsAuthOptions } from '@hessian/wire';
import { connect, type NatsConnection } from 'nats';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { RegistryPool, StaticPool, type WorkerPool } from './pool.js';
import { clusterGradients } from './remote-gradients.js';

export const CLUSTER_FILE = 'cluster.json';
export const CLUSTER_SCHEMA = 'hessian-cluster/train-cluster/v1';

export interface ClusterConfig {
  /** explicit worker addresses (host:port); when set, NATS is not used */
  workers?: string[];
  /** NATS server of the heartbeat registry (when no explicit workers) */
  natsUrl?: string;
  natsAuth?: NatsAuthOptions;
  /** shards per minibatch (default: the workers available at the start of a new run) */
  shards?: number;
  callTimeoutS?: number;
  /** how long to wait for a worker when none is available (at start, and for a shard) */
  waitS?: number;
  /** how long a worker whose call failed is left out */
  suspectS?: number;
  /** after the first heartbeat, how long to wait for the other workers' (registry only) */
  settleS?: number;
  /** a worker is dead after this long without a heartbeat (registry only) */
  heartbeatTimeoutS?: number;
  /** channel credentials for dialling workers (TLS); default insecure */
  credentials?: () => grpc.ChannelCredentials;
  /** channel options and interceptors (TLS name, the cluster secret) for dialling workers */
  channelOptions?: grpc.ClientOptions;
}

export const CLUSTER_DEFAULTS = { callTimeoutS: 600, waitS: 30, suspectS: 10, settleS: 3, heartbeatTimeoutS: 10 };

interface ClusterRecord {
  schema: typeof CLUSTER_SCHEMA;
  shards: number;
}

/** The workers: an explicit list, or the live ones on NATS. `close` also closes the NATS connection. */
export async function openPool(cfg: ClusterConfig, log: Logger): Promise<{ pool: WorkerPool; close: () => Promise<void> }> {
  const c = { ...CLUSTER_DEFAULTS, ...cfg };
  if (c.workers && c.workers.length > 0) {
    const pool = new StaticPool(c.workers, log, c.suspectS * 1000, c.credentials?.(), c.channelOptions);
    return { pool, close: () => Promise.resolve(pool.close()) };
  }
  if (!c.natsUrl) throw new UserError('the cluster trainer needs workers: give --workers host:port,... or --cluster NATS_URL');
  let nc: NatsConnection;
  try {
    nc = await connect({ ...c.natsAuth, servers: c.natsUrl, name: 'trainer', timeout: 5000 });
  } catch (e) {
    throw new UserError(`--cluster ${c.natsUrl}: cannot reach NATS (${e instanceof Error ? e.message : String(e)}); start the cluster (hessctl cluster up) or give its NATS address`, 'FAILED_PRECONDITION');
  }
  const registry = new Registry(c.heartbeatTimeoutS, log, c.credentials, c.channelOptions);
  registry.start(nc);
  const pool = new RegistryPool(registry, log, c.suspectS * 1000);
  await pool.discover(c.waitS * 1000, c.settleS * 1000);
  return {
    pool,
    close: async () => {
      pool.close();
      await nc.drain().catch(() => undefined);
    },
  };
}

async function readRecord(runDir: string): Promise<ClusterRecord | null> {
  try {
    const r = JSON.parse(await fs.readFile(path.join(runDir, CLUSTER_FILE), 'utf8')) as ClusterRecord;
    if (r.schema === CLUSTER_SCHEMA && Number.isInteger(r.shards) && r.shards >= 1) return r;
  } catch {
    /* absent: a run started embedded, or before its first step */
  }
  return null;
}

async function writeRecord(runDir: string, shards: number): Promise<void> {
  await fs.mkdir(runDir, { recursive: true });
  const rec: ClusterRecord = { schema: CLUSTER_SCHEMA, shards };
  await fs.writeFile(path.join(runDir, CLUSTER_FILE), JSON.stringify(rec) + '\n');
}

function checkShards(shards: number | undefined): void {
  if (shards !== undefined && (!Number.isInteger(shards) || shards < 1 || shards > 4096)) throw new UserError(`--shards: must be a whole number from 1 to 4096, got ${JSON.stringify(shards)}`);
}

async function withPool(cfg: ClusterConfig, log: Logger, runDir: string, shardsOf: (available: number) => Promise<number>, run: (opts: Pick<TrainOptions, 'gradients'>) => Promise<TrainResult>): Promise<TrainResult> {
  const c = { ...CLUSTER_DEFAULTS, ...cfg };
  const { pool, close } = await openPool(cfg, log);
  try {
    await pool.waitForAny(c.waitS * 1000);
    const available = pool.available().length;
    if (available === 0) throw new UserError(`no worker answered within ${c.waitS} s (${cfg.workers?.length ? `--workers ${cfg.workers.join(',')}` : `NATS ${cfg.natsUrl}`}); start workers (hessctl cluster up) and try again`, 'FAILED_PRECONDITION');
    const shards = await shardsOf(available);
    const gradients = clusterGradients({
      pool,
      shards,
      log,
      runDir,
      callTimeoutMs: c.callTimeoutS * 1000,
      waitMs: c.waitS * 1000,
      onReady: () => writeRecord(runDir, shards),
    });
    log.info({ runDir, workers: available, shards }, 'cluster training');
    return await run({ gradients });
  } finally {
    await close();
  }
}

/** Starts a new run in runDir with gradients from the cluster's workers. */
export async function trainOnCluster(spec: TrainSpec, runDir: string, cfg: ClusterConfig, log: Logger, opts: TrainOptions = {}): Promise<TrainResult> {
  checkShards(cfg.shards);
  return await withPool(
    cfg,
    log,
    runDir,
    (available) => Promise.resolve(cfg.shards ?? available),
    (g) => train(spec, runDir, { ...opts, ...g }),
  );
}

/** Continues the run in runDir from its last checkpoint, with the shard count it started with. */
export async function resumeOnCluster(runDir: string, cfg: ClusterConfig, log: Logger, opts: TrainOptions & { epochs?: number } = {}): Promise<TrainResult> {
  checkShards(cfg.shards);
  return await withPool(
    cfg,
    log,
    runDir,
    async (available) => {
      const rec = await readRecord(runDir);
      if (rec && cfg.shards !== undefined && cfg.shards !== rec.shards)
        throw new UserError(`--shards ${cfg.shards}: run ${runDir} splits its minibatches into ${rec.shards} shards (${CLUSTER_FILE}); drop --shards so that the resumed run computes the same numbers`);
      return rec?.shards ?? cfg.shards ?? available;
    },
    (g) => resume(runDir, { ...opts, ...g }),
  );
}
