/**
 * The data-parallel operator's transport: one bidirectional Hvp stream per shard's worker
 * (HvpStream), and DistributedOperator, whose matvec sends v to every shard and sums the
 * shard products weighted by shard size. Shard placement and moves belong to dataset.ts
 * (through the Shards interface).
 */
import * as grpc from '@grpc/grpc-js';
import type { OperatorKind } from '@hessian/engine';
import type { LinearOperator } from '@hessian/linalg';
import { toChunks, VectorAssembler, type HvpRequest, type LiveWorker, type VectorChunk__Output } from '@hessian/wire';
import { classify, details, MAX_REDISPATCHES } from './worker-calls.js';

/** What a DistributedOperator needs of the job's shards. */
export interface Shards {
  /** True once the job has ended (products stop). */
  readonly ended: boolean;
  count(): number;
  /** n_s / N of each shard, in shard order. */
  weights(): number[];
  /** The worker shard i is placed on now. */
  workerOf(i: number): LiveWorker;
  /** A stream to shard i's worker for one task's operator; `deadlineS` bounds the whole stream (the task). */
  open(i: number, kind: OperatorKind, scope: string, deadlineS: number): HvpStream;
  /** Moves shard i off a failed worker (resolves once it is prepared elsewhere). */
  move(i: number, from: LiveWorker, why: string): Promise<void>;
}

/** What one operator moved: products, vector bytes sent and received, and seconds spent in matvec. */
export interface Traffic {
  products: number;
  bytesOut: number;
  bytesIn: number;
  seconds: number;
}

/** One Hvp stream to one shard's worker: send v (in chunks), receive its shard product. */
export class HvpStream {
  private call: grpc.ClientDuplexStream<HvpRequest, VectorChunk__Output>;
  private pending: { resolve: (v: Float32Array) => void; reject: (e: unknown) => void; asm: VectorAssembler } | null = null;
  private error: unknown = null;
  private headerSent = false;

  constructor(
    readonly worker: LiveWorker,
    private readonly header: { key: string; operator: string; scope: string; convention: string },
    deadlineS: number,
    private readonly onClose: () => void,
  ) {
    this.call = worker.client.Hvp({ deadline: Date.now() + deadlineS * 1000 });
    this.call.on('data', (c: VectorChunk__Output) => {
      const p = this.pending;
      if (!p) return;
      try {
        p.asm.add(c);
        if (p.asm.complete) {
          this.pending = null;
          p.resolve(p.asm.result());
        }
      } catch (e) {
        this.pending = null;
        p.reject(e);
      }
    });
    this.call.on('error', (e) => this.failWith(e));
    this.call.on('end', () => this.failWith(Object.assign(new Error('Hvp stream ended'), { code: grpc.status.UNAVAILABLE })));
  }

  private failWith(e: unknown): void {
    if (!this.error) this.error = e;
    const p = this.pending;
    this.pending = null;
    p?.reject(e);
    this.onClose();
  }

  product(v: Float32Array): Promise<Float32Array> {
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject, asm: new VectorAssembler() };
      for (const c of toChunks(v)) {
        if (!this.headerSent) {
          this.call.write({ ...this.header, v: c });
          this.headerSent = true;
        } else this.call.write({ v: c });
      }
    });
  }

  abort(why: string): void {
    this.failWith(Object.assign(new Error(why), { code: grpc.status.UNAVAILABLE }));
    this.call.cancel();
  }

  close(): void {
    if (!this.error) this.call.end();
    this.onClose();
  }
}

/**
 * The data-parallel operator: H v = sum over shards of (n_s / N) H_s v, where H_s is the
 * Hessian of the mean loss over shard s. Summed in float64 in shard order, then float32.
 */
export class DistributedOperator implements LinearOperator {
  private streams: (HvpStream | null)[];
  readonly traffic: Traffic = { products: 0, bytesOut: 0, bytesIn: 0, seconds: 0 };

  constructor(
    private readonly shards: Shards,
    private readonly kind: OperatorKind,
    private readonly scope: string,
    readonly dim: number,
    private readonly deadlineS: number,
  ) {
    this.streams = Array.from({ length: shards.count() }, () => null);
  }

  private async shardProduct(i: number, v: Float32Array): Promise<Float32Array> {
    for (let attempt = 0; ; attempt++) {
      if (this.shards.ended) throw new Error('job ended');
      let s = this.streams[i];
      const worker = s?.worker ?? this.shards.workerOf(i);
      try {
        // Opening fails too when the shard's worker was declared dead between two tasks (its channel is closed).
        if (!s) s = this.streams[i] = this.shards.open(i, this.kind, this.scope, this.deadlineS);
        return await s.product(v);
      } catch (e) {
        this.streams[i] = null;
        s?.abort('retrying');
        if (this.shards.ended || classify(e) === 'user' || attempt >= MAX_REDISPATCHES) throw e;
        await this.shards.move(i, worker, details(e));
      }
    }
  }

  close(): void {
    for (const s of this.streams) s?.close();
    this.streams = this.streams.map(() => null);
  }

  async matvec(v: Float32Array): Promise<Float32Array> {
    if (v.length !== this.dim) throw new Error(`matvec: vector has length ${v.length}, operator dimension is ${this.dim}`);
    const t0 = performance.now();
    const parts = await Promise.all(this.streams.map((_, i) => this.shardProduct(i, v)));
    this.traffic.products++;
    this.traffic.bytesOut += parts.length * v.byteLength;
    this.traffic.bytesIn += parts.reduce((a, p) => a + p.byteLength, 0);
    this.traffic.seconds += (performance.now() - t0) / 1000;
    const w = this.shards.weights();
    const acc = new Float64Array(this.dim);
    for (let s = 0; s < parts.length; s++) {
      const p = parts[s];
      const ws = w[s];
      for (let j = 0; j < this.dim; j++) acc[j] += ws * p[j];
    }
    return Float32Array.from(acc);
  }
}
