/**
 * Live workers, from their heartbeats on hessian.workers.heartbeat. A worker is dead after
 * HESSIAN_HEARTBEAT_TIMEOUT_S without one (or when a caller sees UNAVAILABLE from it and it
 * then misses heartbeats); its work is re-dispatched by whoever listens to onDead.
 * Shared by the coordinator (tasks) and the trainer (gradient shards).
 */
import * as grpc from '@grpc/grpc-js';
import type { WorkerClient } from './gen/hessian/v1/Worker.js';
import { CHANNEL_OPTIONS, loadProtos } from './proto.js';
import { SUBJECTS, type Heartbeat } from './service.js';
import type { NatsConnection } from 'nats';
import type { Logger } from 'pino';

export interface LiveWorker {
  id: string;
  hb: Heartbeat;
  lastSeen: number;
  client: WorkerClient;
  /** Calls the owner has running there now (the coordinator's tasks). */
  inflight: number;
  /** Set when a call to it failed with UNAVAILABLE: no new work until then (it may be dead). */
  suspectUntil: number;
}

export class Registry {
  readonly workers = new Map<string, LiveWorker>();
  private timer: NodeJS.Timeout | null = null;
  private deadListeners: ((w: LiveWorker, why: string) => void)[] = [];
  private changeListeners: (() => void)[] = [];

  constructor(
    private readonly timeoutS: number,
    private readonly log: Logger,
    private readonly credentials: () => grpc.ChannelCredentials = () => grpc.credentials.createInsecure(),
    private readonly channelOptions: grpc.ChannelOptions = {},
  ) {}

  start(nc: NatsConnection): void {
    const sub = nc.subscribe(SUBJECTS.heartbeat);
    void (async () => {
      for await (const m of sub) {
        try {
          this.onHeartbeat(JSON.parse(new TextDecoder().decode(m.data)) as Heartbeat);
        } catch (e) {
          this.log.warn({ err: String(e) }, 'bad heartbeat');
        }
      }
    })();
    this.timer = setInterval(() => this.sweep(), 250);
  }

  onDead(f: (w: LiveWorker, why: string) => void): void {
    this.deadListeners.push(f);
  }

  onChange(f: () => void): void {
    this.changeListeners.push(f);
  }

  private onHeartbeat(hb: Heartbeat): void {
    if (typeof hb?.id !== 'string' || typeof hb.address !== 'string') return;
    const w = this.workers.get(hb.id);
    if (w && (w.hb.address !== hb.address || w.hb.started !== hb.started)) this.remove(w, 'restarted with a new address or process');
    const cur = this.workers.get(hb.id);
    if (cur) {
      const wasDraining = cur.hb.draining;
      cur.hb = hb;
      cur.lastSeen = Date.now();
      if (wasDraining !== hb.draining) this.changed();
      else if (hb.running < hb.capacity) this.changed();
      return;
    }
    const { worker } = loadProtos();
    const client = new worker.hessian.v1.Worker(hb.address, this.credentials(), { ...CHANNEL_OPTIONS, ...this.channelOptions }) as unknown as WorkerClient;
    this.workers.set(hb.id, { id: hb.id, hb, lastSeen: Date.now(), client, inflight: 0, suspectUntil: 0 });
    this.log.info({ workerId: hb.id, address: hb.address, capacity: hb.capacity, backend: hb.backend }, 'worker joined');
    this.changed();
  }

  private changed(): void {
    for (const f of this.changeListeners) f();
  }

  private sweep(): void {
    const now = Date.now();
    for (const w of [...this.workers.values()]) if (now - w.lastSeen > this.timeoutS * 1000) this.remove(w, `no heartbeat for ${this.timeoutS} s`);
  }

  remove(w: LiveWorker, why: string): void {
    if (this.workers.get(w.id) !== w) return;
    this.workers.delete(w.id);
    this.log.warn({ workerId: w.id, address: w.hb.address, why }, 'worker lost');
    for (const f of this.deadListeners) f(w, why);
    w.client.close();
    this.changed();
  }

  /** Workers that take new work, in id order. */
  available(): LiveWorker[] {
    const now = Date.now();
    return [...this.workers.values()].filter((w) => !w.hb.draining && w.suspectUntil <= now).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const w of this.workers.values()) w.client.close();
  }
}
