/**
 * The workers a cluster trainer may use: an explicit address list, or the live workers of
 * the NATS heartbeat registry (the coordinator's `Registry` from @hessian/wire). A worker
 * whose call failed for a reason other than the request itself (gone, timed out, internal
 * error) is left out for `suspectMs`; with the registry, one that stops sending heartbeats
 * is dropped for good and a new one can join at any time.
 */
import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS, loadProtos, Registry, sleep, type WorkerClient } from '@hessian/wire';
import type { Logger } from 'pino';

export interface PoolWorker {
  /** worker id (registry) or its address (explicit list) */
  id: string;
  address: string;
  client: WorkerClient;
}

export interface WorkerPool {
  /** Workers taking work now, in a stable order (by id). */
  available(): PoolWorker[];
  /** A call to `w` failed (not the caller's fault): leave it out for a while. */
  suspect(w: PoolWorker, why: string): void;
  /** Resolves when at least one worker is available, or after timeoutMs (then available() is empty). */
  waitForAny(timeoutMs: number): Promise<void>;
  close(): void;
}


async function pollUntil(pred: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!pred() && Date.now() < until) await sleep(50);
}

/** host:port,host:port (gRPC addresses of workers). */
export class StaticPool implements WorkerPool {
  private workers: (PoolWorker & { suspectUntil: number })[];

  constructor(
    addresses: string[],
    private readonly log: Logger,
    private readonly suspectMs: number,
    credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
    options: grpc.ClientOptions = {},
  ) {
    const { worker } = loadProtos();
    this.workers = [...new Set(addresses)].map((address) => ({
      id: address,
      address,
      client: new worker.hessian.v1.Worker(address, credentials, { ...CHANNEL_OPTIONS, ...options }),
      suspectUntil: 0,
    }));
  }

  available(): PoolWorker[] {
    const now = Date.now();
    return this.workers.filter((w) => w.suspectUntil <= now);
  }

  suspect(w: PoolWorker, why: string): void {
    const e = this.workers.find((x) => x.id === w.id);
    if (!e) return;
    e.suspectUntil = Date.now() + this.suspectMs;
    this.log.warn({ worker: w.id, why, retryInSeconds: this.suspectMs / 1000 }, 'worker left out');
  }

  waitForAny(timeoutMs: number): Promise<void> {
    return pollUntil(() => this.available().length > 0, timeoutMs);
  }

  close(): void {
    for (const w of this.workers) w.client.close();
  }
}

/** Live workers from NATS heartbeats (hessian.workers.heartbeat). */
export class RegistryPool implements WorkerPool {
  constructor(
    readonly registry: Registry,
    private readonly log: Logger,
    private readonly suspectMs: number,
  ) {}

  available(): PoolWorker[] {
    return this.registry.available().map((w) => ({ id: w.id, address: w.hb.address, client: w.client }));
  }

  suspect(w: PoolWorker, why: string): void {
    const live = this.registry.workers.get(w.id);
    if (!live) return;
    live.suspectUntil = Date.now() + this.suspectMs;
    this.log.warn({ worker: w.id, why, retryInSeconds: this.suspectMs / 1000 }, 'worker left out');
  }

  waitForAny(timeoutMs: number): Promise<void> {
    return pollUntil(() => this.available().length > 0, timeoutMs);
  }

  /** Waits for the first worker, then `settleMs` more for the others' heartbeats (they arrive every HESSIAN_HEARTBEAT_S). */
  async discover(timeoutMs: number, settleMs: number): Promise<void> {
    await this.waitForAny(timeoutMs);
    if (this.available().length > 0) await sleep(settleMs);
  }

  close(): void {
    this.registry.stop();
  }
}
