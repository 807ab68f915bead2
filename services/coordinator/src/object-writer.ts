/**
 * Writes one object into a JetStream object store as its bytes arrive, in the store's own
 * format (NATS ADR-20: chunks on `$O.<bucket>.C.<nuid>`, then one meta message on
 * `$O.<bucket>.M.<base64url(name)>` that makes the object visible; exactly what nats.js's
 * `ObjectStore.get` reads and verifies). Why not `ObjectStore.put`: it publishes every chunk
 * of its input without waiting (a 250 MB upload sat in the client's buffers), a chunk timeout
 * fails the whole put, and the name must be known before the content. Here:
 *  - at most `slots` chunks are unacknowledged across all writers (one shared `ChunkSlots`),
 *    so a fast client is paused (gRPC flow control) instead of filling memory or NATS;
 *  - a chunk whose ack times out is re-sent alone, with a message id (`<nuid>.<i>`), so
 *    JetStream drops it if the first copy was stored; the acks' stream sequences must rise
 *    with the chunk index, else the object would be out of order and is refused;
 *  - the object is named at `commit`, when its content (and so the model's digest) is known;
 *    until then its chunks are invisible, and `abort` purges them (nothing half-stored).
 */
import { createHash } from 'node:crypto';
import { sleep } from '@hessian/wire';
import { headers, nuid, type JetStreamClient, type JetStreamManager } from 'nats';

/** Unacknowledged chunks allowed at once, shared by every writer of a process. */
export class ChunkSlots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {
    this.free = size;
  }

  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((r) => this.waiting.push(r));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

export interface ObjectWriterOptions {
  chunkBytes: number;
  /** ms to wait for one chunk's ack before sending it again */
  timeoutMs: number;
  /** sends of one chunk before the object fails */
  tries: number;
}

const DEFAULTS: ObjectWriterOptions = { chunkBytes: 128 * 1024, timeoutMs: 10_000, tries: 5 };

/** base64url with padding, as nats.js names meta subjects and writes digests. */
function b64urlPadded(b: Uint8Array | string): string {
  return Buffer.from(b).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

export class ObjectWriter {
  readonly nuid = nuid.next();
  /** bytes written so far */
  size = 0;
  /** chunks sent again after a timeout (or another publish error) */
  resends = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private chunks = 0;
  private readonly inflight = new Set<Promise<void>>();
  private readonly seqs: number[] = [];
  private failure: unknown = null;
  private readonly sha = createHash('sha256');
  private readonly opts: ObjectWriterOptions;
  private closed = false;
  /** hex SHA-256 of all bytes, set by the final flush */
  private digestHex = '';

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    readonly bucket: string,
    private readonly slots: ChunkSlots,
    opts: Partial<ObjectWriterOptions> = {},
  ) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  get chunkSubject(): string {
    return `$O.${this.bucket}.C.${this.nuid}`;
  }

  /** Appends bytes; resolves once they are buffered or sent (waits for a free chunk slot). */
  async write(data: Uint8Array): Promise<void> {
    if (this.closed) throw new Error('object writer is closed');
    if (data.length === 0) return;
    this.pending.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    this.pendingBytes += data.length;
    while (this.pendingBytes >= this.opts.chunkBytes) await this.send(this.take(this.opts.chunkBytes));
  }

  /** The next n buffered bytes as one new buffer (the caller's buffers are not kept by a chunk in flight). */
  private take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let o = 0;
    while (o < n) {
      const head = this.pending[0];
      const k = Math.min(head.length, n - o);
      head.copy(out, o, 0, k);
      o += k;
      if (k === head.length) this.pending.shift();
      else this.pending[0] = head.subarray(k);
    }
    this.pendingBytes -= n;
    return out;
  }

  private async send(payload: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    await this.slots.acquire();
    if (this.failure) {
      this.slots.release();
      throw this.failure;
    }
    this.sha.update(payload);
    this.size += payload.length;
    const i = this.chunks++;
    const p: Promise<void> = this.publishChunk(payload, i).then(
      (seq) => {
        this.seqs[i] = seq;
      },
      (e: unknown) => {
        this.failure ??= e;
      },
    );
    const tracked = p.finally(() => {
      this.slots.release();
      this.inflight.delete(tracked);
    });
    this.inflight.add(tracked);
  }

  private async publishChunk(payload: Buffer, i: number): Promise<number> {
    for (let t = 1; ; t++) {
      try {
        const ack = await this.js.publish(this.chunkSubject, payload, { msgID: `${this.nuid}.${i}`, timeout: this.opts.timeoutMs });
        return ack.seq;
      } catch (e) {
        if (t >= this.opts.tries) throw e;
        this.resends++;
        await sleep(Math.min(2000, 250 * t));
      }
    }
  }

  /** Sends what is buffered and waits for every ack; throws the first chunk failure. */
  private async flush(): Promise<void> {
    if (this.pendingBytes > 0) await this.send(this.take(this.pendingBytes));
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
    if (this.failure) throw this.failure;
    for (let i = 1; i < this.seqs.length; i++)
      if (!(this.seqs[i] > this.seqs[i - 1])) throw new Error(`object store: chunk ${i} of ${this.nuid} was stored out of order after a lost publish; send it again`);
    this.digestHex = this.sha.digest('hex');
  }

  /** The hex SHA-256 of all bytes written; flushes first (call before commit). */
  async finish(): Promise<string> {
    if (!this.digestHex) await this.flush();
    return this.digestHex;
  }

  /** Makes the object visible under `name` (after finish). */
  async commit(name: string, description: string): Promise<void> {
    const hex = await this.finish();
    const info = {
      name,
      description,
      options: { max_chunk_size: this.opts.chunkBytes },
      bucket: this.bucket,
      nuid: this.nuid,
      size: this.size,
      chunks: this.chunks,
      mtime: new Date().toISOString(),
      digest: `SHA-256=${b64urlPadded(Buffer.from(hex, 'hex'))}`,
      deleted: false,
    };
    const h = headers();
    h.set('Nats-Rollup', 'sub');
    const body = new TextEncoder().encode(JSON.stringify(info));
    for (let t = 1; ; t++) {
      try {
        await this.js.publish(`$O.${this.bucket}.M.${b64urlPadded(name)}`, body, { headers: h, msgID: `${this.nuid}.meta`, timeout: this.opts.timeoutMs });
        break;
      } catch (e) {
        if (t >= this.opts.tries) throw e;
        await sleep(Math.min(2000, 250 * t));
      }
    }
    this.closed = true;
  }

  /** Drops everything sent (waits for chunks in flight first, so none lands after the purge). */
  async abort(): Promise<void> {
    this.closed = true;
    this.failure ??= new Error('aborted');
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
    if (this.chunks === 0) return;
    for (let t = 1; t <= 5; t++) {
      try {
        await this.jsm.streams.purge(`OBJ_${this.bucket}`, { filter: this.chunkSubject });
        return;
      } catch {
        await sleep(250 * t);
      }
    }
  }
}

/**
 * Purges chunks that no object names (a coordinator that died mid-upload). Call before
 * serving uploads: a writer in flight has no meta yet and would be swept too.
 */
export async function purgeOrphanChunks(jsm: JetStreamManager, bucket: string, live: Iterable<string>): Promise<number> {
  const keep = new Set(live);
  const si = await jsm.streams.info(`OBJ_${bucket}`, { subjects_filter: `$O.${bucket}.C.>` });
  const subjects = Object.keys(si.state.subjects ?? {});
  let purged = 0;
  for (const s of subjects) {
    const id = s.slice(`$O.${bucket}.C.`.length);
    if (keep.has(id)) continue;
    await jsm.streams.purge(`OBJ_${bucket}`, { filter: s });
    purged++;
  }
  return purged;
}
