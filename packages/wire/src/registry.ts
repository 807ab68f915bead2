/**
 * Live workers, from their heartbeats on hessian.workers.heartbeat. A worker that misses
 * heartbeats for HESSIAN_HEARTBEAT_TIMEOUT_S is probed on gRPC (grpc.health.v1 `liveness`)
 * before it is declared dead: a NATS outage stops heartbeats but not the work, so a worker
 * that still answers keeps its running tasks (issue 16, item 10). A dead worker's work is
 * re-dispatched by whoever listens to onDead. A new worker joins only when its address answers
 * Worker.Health with its id (so a forged heartbeat cannot put a rogue address in the registry).
 * Shared by the coordinator (tasks) and the trainer (gradient shards).
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import type { WorkerClient } from './gen/hessian/v1/Worker.js';
import { CHANNEL_OPTIONS, LOADER_OPTIONS, loadProtos } from './proto.js';
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
  /** When it last answered a gRPC health probe (made only once its heartbeats stopped). */
  reachableAt: number;
  /** Heartbeats stopped but it answers on gRPC (a NATS outage). */
  heartbeatsLost: boolean;
  health?: HealthClient;
}

type HealthClient = grpc.Client & { Check(req: { service: string }, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: { status: string | number }) => void): void };

/** The grpc.health.v1.Health client constructor, from the proto grpc-health-check ships, found by narrowing the loaded package (no cast). */
function healthClientConstructor(): grpc.ServiceClientConstructor {
  let node: grpc.GrpcObject[string] = grpc.loadPackageDefinition(protoLoader.loadSync(healthProtoPath, LOADER_OPTIONS));
  for (const key of ['grpc', 'health', 'v1', 'Health']) {
    if (typeof node !== 'object' || 'format' in node) break;
    node = node[key];
  }
  if (typeof node !== 'function') throw new Error(`${healthProtoPath} does not define grpc.health.v1.Health`);
  return node;
}

function isHealthClient(c: grpc.Client): c is HealthClient {
  return 'Check' in c && typeof c.Check === 'function';
}

let healthConstructor: grpc.ServiceClientConstructor | null = null;

/** How soon a worker whose heartbeat was refused (its address did not answer as it) is asked again. */
const VERIFY_RETRY_MS = 5000;
const MAX_VERIFYING = 64;

export class Registry {
  readonly workers = new Map<string, LiveWorker>();
  private timer: NodeJS.Timeout | null = null;
  private deadListeners: ((w: LiveWorker, why: string) => void)[] = [];
  private probing = new Set<LiveWorker>();
  /** Heartbeats of workers not yet registered: "id|address|started" -> 0 while its Health call runs, else when it was refused. */
  private verifying = new Map<string, number>();
  private stopped = false;
  private changeListeners: (() => void)[] = [];

  constructor(
    private readonly timeoutS: number,
    private readonly log: Logger,
    private readonly credentials: () => grpc.ChannelCredentials = () => grpc.credentials.createInsecure(),
    /** Channel options and interceptors (the cluster secret) of the clients dialling workers. */
    private readonly clientOptions: grpc.ClientOptions = {},
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
    const cur = this.workers.get(hb.id);
    // Another address or process under a known id: it replaces the registered one only once verified (below),
    // so a forged heartbeat cannot evict a live worker.
    if (cur && cur.hb.address === hb.address && cur.hb.started === hb.started) {
      const wasDraining = cur.hb.draining;
      cur.hb = hb;
      cur.lastSeen = Date.now();
      if (cur.heartbeatsLost) {
        cur.heartbeatsLost = false;
        this.log.info({ workerId: cur.id }, 'worker heartbeats back');
      }
      if (wasDraining !== hb.draining) this.changed();
      else if (hb.running < hb.capacity) this.changed();
      return;
    }
    this.verify(hb);
  }

  /**
   * A new worker joins only once its address answers Worker.Health as that worker id, over the
   * same credentials (TLS, the cluster secret) its tasks will use: a heartbeat naming an
   * address that is not that worker (a forged or stale one) registers nothing and is logged.
   * A refused (id, address, process) is asked again after VERIFY_RETRY_MS at the earliest.
   */
  private verify(hb: Heartbeat): void {
    const key = `${hb.id}|${hb.address}|${hb.started}`;
    const seen = this.verifying.get(key);
    if (seen !== undefined && (seen === 0 || Date.now() - seen < VERIFY_RETRY_MS)) return;
    // A flood of made-up ids (from a stolen worker credential) must not open unbounded connections.
    if ([...this.verifying.values()].filter((v) => v === 0).length >= MAX_VERIFYING) return;
    this.verifying.set(key, 0);
    const { worker } = loadProtos();
    const client = new worker.hessian.v1.Worker(hb.address, this.credentials(), { ...CHANNEL_OPTIONS, ...this.clientOptions });
    client.Health({}, { deadline: Date.now() + 5000 }, (e, r) => {
      const why = e ? e.details || e.message : r?.id !== hb.id ? `it answers as worker ${JSON.stringify(r?.id)}` : null;
      const old = this.workers.get(hb.id);
      const same = old !== undefined && old.hb.address === hb.address && old.hb.started === hb.started;
      if (why !== null || this.stopped || same) {
        client.close();
        if (why !== null) {
          this.verifying.set(key, Date.now());
          this.log.warn({ workerId: hb.id, address: hb.address, why }, 'heartbeat refused: its address does not answer as that worker');
        } else this.verifying.delete(key);
        return;
      }
      this.verifying.delete(key);
      if (old) this.remove(old, 'restarted with a new address or process');
      this.workers.set(hb.id, { id: hb.id, hb, lastSeen: Date.now(), client, inflight: 0, suspectUntil: 0, reachableAt: 0, heartbeatsLost: false });
      this.log.info({ workerId: hb.id, address: hb.address, capacity: hb.capacity, backend: hb.backend }, 'worker joined');
      this.changed();
    });
  }

  private changed(): void {
    for (const f of this.changeListeners) f();
  }

  /**
   * A caller saw UNAVAILABLE from w: probe it now rather than at the heartbeat timeout. A
   * worker that is gone (connection refused) is dropped at once, so its tasks do not go back
   * to it; one that answers (a dropped connection, a blip) stays.
   */
  check(w: LiveWorker): void {
    if (this.probing.has(w) || this.workers.get(w.id) !== w) return;
    this.probing.add(w);
    void this.probe(w).then((answer) => {
      this.probing.delete(w);
      if (answer !== null && this.workers.get(w.id) === w) this.remove(w, `a call failed and it does not answer on gRPC (${answer})`);
    });
  }

  private sweep(): void {
    const now = Date.now();
    for (const [k, t] of this.verifying) if (t > 0 && now - t > VERIFY_RETRY_MS) this.verifying.delete(k);
    for (const w of [...this.workers.values()]) {
      if (now - Math.max(w.lastSeen, w.reachableAt) <= this.timeoutS * 1000 || this.probing.has(w)) continue;
      this.probing.add(w);
      void this.probe(w).then((answer) => {
        this.probing.delete(w);
        if (this.workers.get(w.id) !== w) return;
        if (answer === null) {
          w.reachableAt = Date.now();
          if (!w.heartbeatsLost) this.log.warn({ workerId: w.id, address: w.hb.address, silentSeconds: (Date.now() - w.lastSeen) / 1000 }, 'worker heartbeats missing, but it answers on gRPC: its tasks keep running');
          w.heartbeatsLost = true;
        } else this.remove(w, `no heartbeat for ${this.timeoutS} s and no answer on gRPC (${answer})`);
      });
    }
  }

  /** grpc.health.v1 Check('liveness') on the worker's address: null when it answers SERVING, else why not. */
  private probe(w: LiveWorker): Promise<string | null> {
    if (!w.health) {
      healthConstructor ??= healthClientConstructor();
      const client = new healthConstructor(w.hb.address, this.credentials(), { ...CHANNEL_OPTIONS, ...this.clientOptions });
      if (!isHealthClient(client)) throw new Error('grpc.health.v1.Health has no Check method');
      w.health = client;
    }
    // Generous: a refused connection (the process is gone) fails at once; only an unreachable host waits it out.
    const deadline = Date.now() + 5000;
    return new Promise((resolve) =>
      w.health!.Check({ service: 'liveness' }, { deadline }, (e, r) => resolve(e ? e.details || e.message : r?.status === 'SERVING' || r?.status === 1 ? null : `status ${String(r?.status)}`)),
    );
  }

  remove(w: LiveWorker, why: string): void {
    if (this.workers.get(w.id) !== w) return;
    this.workers.delete(w.id);
    this.log.warn({ workerId: w.id, address: w.hb.address, why }, 'worker lost');
    for (const f of this.deadListeners) f(w, why);
    w.client.close();
    w.health?.close();
    this.changed();
  }

  /** Workers that take new work, in id order. */
  available(): LiveWorker[] {
    const now = Date.now();
    return [...this.workers.values()].filter((w) => !w.hb.draining && w.suspectUntil <= now).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const w of this.workers.values()) {
      w.client.close();
      w.health?.close();
    }
  }
}
