/**
 * The worker's engine cache: Prepare's checks (spec validation, data roots, shard bounds),
 * one compute thread per prepared engine (compute.ts) keyed by what determines its numbers,
 * concurrent identical Prepares sharing one build, and eviction of idle engines beyond
 * HESSIAN_MAX_ENGINES (those only submit-time checks asked for first, then least recently used).
 */
import { normalizeSpec, type AnalysisSpec } from '@hessian/analysis';
import type { BackendName } from '@hessian/engine';
import { UserError } from '@hessian/linalg';
import { checkSpecFiles, DIGEST_RE, specFromProto, type PrepareRequest__Output } from '@hessian/wire';
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { EngineThread } from './compute.js';

export interface Entry {
  key: string;
  /** The compute thread that holds this engine. */
  thread: EngineThread;
  users: number;
  lastUsed: number;
  /** Whether a job asked for it (a Prepare that is not a submit-time check) or work ran on it. */
  served: boolean;
}

export interface EngineCacheConfig {
  backend: BackendName;
  maxEngines: number;
  /** Directories model paths and idx:/npy: data must resolve into (undefined: no check). */
  dataRoots?: string[];
  maxModelBytes?: number;
  /** Resolves an uploaded model (sha256:HEX) to a local model.json path (NATS object store); absent: uploaded models are refused. */
  fetchModel?: (digest: string) => Promise<string>;
}

export class EngineCache {
  private engines = new Map<string, Entry>();
  private building = new Map<string, Promise<Entry>>();
  /** The backend the compute threads report (heartbeats, Health); the main thread's until the first Prepare. */
  backendName: string;

  constructor(
    private readonly cfg: EngineCacheConfig,
    private readonly log: Logger,
    backendName: string,
  ) {
    this.backendName = backendName;
  }

  get size(): number {
    return this.engines.size;
  }

  keys(): string[] {
    return [...this.engines.keys()];
  }

  /**
   * Prepare's checks and cache lookup (also TrainGradient's, whose header carries a
   * PrepareRequest). The spec arrives normalized from the coordinator (every field explicit);
   * normalizeSpec here only validates what crossed the network, with the CLI's sentences.
   */
  async prepare(req: PrepareRequest__Output): Promise<{ entry: Entry; hit: boolean; spec: AnalysisSpec }> {
    const spec = normalizeSpec(specFromProto(req.spec ?? { model: '' }));
    if (this.cfg.dataRoots) checkSpecFiles(spec, this.cfg.dataRoots, this.cfg.maxModelBytes);
    const training = req.training === true;
    const shardCount = training ? 1 : Math.max(1, req.shardCount);
    if (req.shardIndex >= shardCount) throw new UserError(`shard_index ${req.shardIndex} must be below shard_count ${shardCount}${training ? ' (training data is never sharded: TrainGradient names its examples)' : ''}`);
    const { entry, hit } = await this.engineFor({ spec, shardIndex: req.shardIndex, shardCount, jobId: req.jobId, training });
    // A job's own Prepare (not the coordinator's check of a queued spec) protects the engine from
    // eviction by checks until its first task arrives.
    if (req.check !== true) entry.served = true;
    return { entry, hit, spec };
  }

  private async engineFor(req: { spec: AnalysisSpec; shardIndex: number; shardCount: number; jobId: string; training: boolean }): Promise<{ entry: Entry; hit: boolean }> {
    const { spec, shardIndex, shardCount, training } = req;
    const keyJson = JSON.stringify({ m: spec.model, ms: spec.modelSeed, d: spec.data, pc: spec.perClass, l: spec.loss, b: spec.batchSize, s: spec.seed, si: shardIndex, sc: shardCount, be: this.backendName, ...(training ? { tr: 1 } : {}) });
    const key = `eng-${createHash('sha256').update(keyJson).digest('hex').slice(0, 32)}`;
    const have = this.engines.get(key);
    if (have) return { entry: have, hit: true };
    let b = this.building.get(key);
    if (!b) {
      b = (async () => {
        let modelPath = spec.model;
        if (DIGEST_RE.test(spec.model)) {
          if (!this.cfg.fetchModel) throw new UserError(`model: ${spec.model} is an uploaded model, and this worker has no model store`, 'FAILED_PRECONDITION');
          modelPath = await this.cfg.fetchModel(spec.model);
        }
        const t0 = performance.now();
        const thread = await EngineThread.start({ spec: { ...spec, model: modelPath }, backend: this.cfg.backend, shardIndex, shardCount, training }, (e) => {
          // The thread died (not evicted): drop the engine, a later Prepare builds it again.
          if (e && this.engines.get(key)?.thread === thread) this.engines.delete(key);
          if (e) this.log.error({ key, err: e.message }, 'compute thread lost');
        });
        this.backendName = thread.info.backend;
        const entry: Entry = { key, thread, users: 0, lastUsed: Date.now(), served: false };
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

  /**
   * Idle engines beyond HESSIAN_MAX_ENGINES go, those only the coordinator's submit-time
   * checks asked for first (their jobs may wait in the queue), then the least recently used: a
   * burst of submissions must not evict the engines of starting or running jobs.
   */
  private evict(keep: string): void {
    const idle = [...this.engines.values()].filter((e) => e.users === 0 && e.key !== keep).sort((a, b) => Number(a.served) - Number(b.served) || a.lastUsed - b.lastUsed);
    while (this.engines.size > this.cfg.maxEngines && idle.length > 0) {
      const e = idle.shift()!;
      this.engines.delete(e.key);
      void e.thread.close();
      this.log.info({ key: e.key }, 'engine evicted');
    }
  }

  /** A prepared engine by key (FAILED_PRECONDITION "not prepared" when absent: the coordinator prepares and retries). */
  entry(key: string): Entry {
    const e = this.engines.get(key);
    if (!e) throw new UserError(`not prepared: engine ${key} is not on this worker; call Prepare first`, 'FAILED_PRECONDITION');
    e.lastUsed = Date.now();
    e.served = true;
    return e;
  }

  /** Runs f with the engine counted as in use (never evicted meanwhile). */
  async using<T>(entry: Entry, f: () => Promise<T>): Promise<T> {
    entry.users++;
    try {
      return await f();
    } finally {
      entry.users--;
    }
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.engines.values()].map((e) => e.thread.close()));
    this.engines.clear();
  }
}
