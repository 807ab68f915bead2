/**
 * UploadModel: a client streams a tfjs model (model.json and its weight files) or one
 * single-file model (model.onnx, model.h5, model.keras); the coordinator checks it (a LayersModel whose weights are all
 * there; an ONNX file that decodes, with supported operators) and stores the canonical bundle
 * once under its digest (sha256:HEX) in the object store `hessian_models`.
 *
 * Streaming: when the header lists every file with its size (hessctl does), the upload is
 * admitted against HESSIAN_UPLOAD_BYTES_IN_FLIGHT before any byte, and the bundle is written
 * into the object store as the chunks arrive (files must come in the bundle's order, sorted by
 * path, so the bundle can be written and hashed in one pass); only model.json (or the single
 * .onnx, .h5 or .keras file, which must be read to be checked) is kept in memory. The object is named by
 * its digest when the last byte is acknowledged, so a refused, failed or aborted upload leaves
 * nothing visible, and its chunks are purged. A header without sizes (older clients) is held in
 * memory until it ends, its bytes counted against the same limit as they arrive.
 */
import * as grpc from '@grpc/grpc-js';
import { isUserError, UserError } from '@hessian/linalg';
import { BUCKETS, safeModelPath, toServiceError, type CoordinatorHandlers, type UploadModelChunk__Output } from '@hessian/wire';
import type { Logger } from 'pino';
import { ChunkSlots, ObjectWriter } from './object-writer.js';
import type { Store } from './store.js';
import type { UploadBudget } from './upload-budget.js';
import { checkUpload, keptInMemory, type UploadedFile } from './upload-check.js';

export interface UploadLimits {
  /** largest upload (all files together): HESSIAN_MAX_UPLOAD_BYTES */
  maxBytes: number;
  budget: UploadBudget;
  slots: ChunkSlots;
}

/** u32 path length, path, u64 size: the bundle's header of one file (encodeModelBundle). */
function fileHeader(path: string, size: number): Buffer {
  const p = Buffer.from(path, 'utf8');
  const h = Buffer.alloc(12 + p.length);
  h.writeUInt32LE(p.length, 0);
  p.copy(h, 4);
  h.writeBigUInt64LE(BigInt(size), 4 + p.length);
  return h;
}

const byPath = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/** One upload in progress: what was declared, what arrived, what it holds of the budget. */
class Upload {
  name = '';
  /** declared files in bundle order (streaming); null until a header with files, or legacy */
  files: UploadedFile[] | null = null;
  /** legacy: chunks per path */
  readonly legacy = new Map<string, Buffer[]>();
  held = 0;
  received = 0;
  private cur = -1;
  private writer: ObjectWriter | null = null;

  constructor(
    private readonly store: Store,
    private readonly limits: UploadLimits,
  ) {}

  private refuseTooBig(bytes: number): void {
    if (bytes > this.limits.maxBytes)
      throw new UserError(`upload: the model is larger than the limit of ${this.limits.maxBytes} bytes (HESSIAN_MAX_UPLOAD_BYTES); prune it or raise the limit`, 'RESOURCE_EXHAUSTED');
  }

  private newWriter(): ObjectWriter {
    return new ObjectWriter(this.store.js, this.store.jsm, BUCKETS.models, this.limits.slots);
  }

  header(h: NonNullable<UploadModelChunk__Output['header']>): void {
    if (this.files || this.received > 0) throw new UserError('upload: the header must come once, before any file chunk');
    this.name = h.name;
    if (h.files.length === 0) return;
    const files = h.files.map((f) => ({ path: f.path, size: Number(f.size), got: 0, data: null as Buffer[] | null }));
    for (const f of files) if (!safeModelPath(f.path)) throw new UserError(`upload: file name "${f.path}" must be a relative path without ".." (e.g. model.json, weights.bin)`);
    files.sort(byPath);
    for (let i = 1; i < files.length; i++) if (files[i].path === files[i - 1].path) throw new UserError(`upload: file "${files[i].path}" is listed twice in the header; list each file once`);
    const total = files.reduce((a, f) => a + f.size, 0);
    this.refuseTooBig(total);
    this.limits.budget.reserve(total, 0);
    this.held = total;
    const single = files.length === 1;
    for (const f of files) if (keptInMemory(f.path, single)) f.data = [];
    this.files = files;
    this.writer = this.newWriter();
  }

  async chunk(path: string, data: Buffer): Promise<void> {
    this.received += data.length;
    if (!this.files) return this.legacyChunk(path, data);
    const files = this.files;
    if (this.cur < 0 || files[this.cur].path !== path)
      if (!files.some((f) => f.path === path)) throw new UserError(`upload: file "${path}" is not listed in the header; list every file with its size`);
    // Advance to the file this chunk belongs to; every file passed over must be complete.
    while (this.cur < 0 || files[this.cur].path !== path) {
      if (this.cur >= 0) this.complete(files[this.cur], path);
      this.cur++;
      if (this.cur >= files.length) {
        throw new UserError(`upload: chunks of "${path}" came after a later file's; send the files one after another, sorted by path as listed in the header`);
      }
      await this.writer!.write(fileHeader(files[this.cur].path, files[this.cur].size));
    }
    const f = files[this.cur];
    f.got += data.length;
    if (f.got > f.size) throw new UserError(`upload: file "${path}" is longer than the ${f.size} bytes the header declared; declare its real size`);
    f.data?.push(Buffer.from(data));
    await this.writer!.write(data);
  }

  /** A file is whole; `next`: the file whose chunk came instead. */
  private complete(f: UploadedFile, next?: string): void {
    if (f.got === 0 && f.size > 0 && next !== undefined)
      throw new UserError(`upload: chunks of "${next}" came before any of "${f.path}"; send the files one after another, sorted by path as listed in the header`);
    if (f.got !== f.size) throw new UserError(`upload: file "${f.path}" has ${f.got} bytes but the header declared ${f.size}; send the whole file, or declare its real size`);
  }

  private legacyChunk(path: string, data: Buffer): void {
    this.refuseTooBig(this.received);
    if (!safeModelPath(path)) throw new UserError(`upload: file name "${path}" must be a relative path without ".." (e.g. model.json, weights.bin)`);
    this.limits.budget.reserve(data.length, this.held);
    this.held += data.length;
    const list = this.legacy.get(path) ?? [];
    list.push(Buffer.from(data));
    this.legacy.set(path, list);
  }

  /** Checks the model and stores it; resolves the digest and the bundle's size. */
  async end(): Promise<{ digest: string; bytes: number; files: number; existed: boolean; resends: number }> {
    let files: UploadedFile[];
    if (this.files) {
      files = this.files;
      // Files after the last one that got a chunk: empty ones still need their headers.
      for (let i = Math.max(0, this.cur); i < files.length; i++) {
        if (i > this.cur) {
          this.cur = i;
          await this.writer!.write(fileHeader(files[i].path, files[i].size));
        }
        this.complete(files[i]);
      }
      await checkUpload(files, this.name);
    } else {
      files = [...this.legacy].map(([path, parts]) => {
        const size = parts.reduce((a, b) => a + b.length, 0);
        return { path, size, got: size, data: parts };
      });
      files.sort(byPath);
      await checkUpload(files, this.name);
      this.writer = this.newWriter();
      for (const f of files) {
        await this.writer.write(fileHeader(f.path, f.size));
        for (const part of f.data!) await this.writer.write(part);
        f.data = null;
      }
    }
    const w = this.writer!;
    const digest = `sha256:${await w.finish()}`;
    const have = await this.store.models.info(digest);
    if (have) await w.abort();
    else await w.commit(digest, this.name);
    this.writer = null;
    return { digest, bytes: have ? have.size : this.bundleSize(files), files: files.length, existed: Boolean(have), resends: w.resends };
  }

  private bundleSize(files: UploadedFile[]): number {
    return files.reduce((a, f) => a + 12 + Buffer.byteLength(f.path, 'utf8') + f.size, 0);
  }

  /** Gives the budget back and purges whatever was sent but not committed. */
  async close(): Promise<void> {
    this.limits.budget.release(this.held);
    this.held = 0;
    this.legacy.clear();
    const w = this.writer;
    this.writer = null;
    await w?.abort();
  }
}

/** A user's mistake keeps its code; anything else here is NATS not taking the chunks. */
function uploadError(e: unknown): Partial<grpc.ServiceError> & { code: grpc.status; details: string } {
  if (isUserError(e)) return toServiceError(e);
  const why = e instanceof Error ? e.message : String(e);
  const details = `upload: the object store did not take the model (${why}); nothing was stored, upload it again`;
  return { code: grpc.status.UNAVAILABLE, details, message: details };
}

export function uploadModelHandler(store: Store, limits: UploadLimits, log: Logger): CoordinatorHandlers['UploadModel'] {
  return (call, cb) => {
    const up = new Upload(store, limits);
    let aborted = false;
    // A client that goes away: stop reading (the loop below throws) and drop what was sent.
    call.on('cancelled', () => {
      aborted = true;
      call.destroy(new Error('upload cancelled by the client'));
    });
    void (async () => {
      for await (const m of call as AsyncIterable<UploadModelChunk__Output>) {
        if (m.part === 'header' && m.header) up.header(m.header);
        else if (m.part === 'file' && m.file) await up.chunk(m.file.path, m.file.data);
      }
      if (aborted) throw new Error('upload cancelled by the client');
      return up.end();
    })().then(
      async (r) => {
        await up.close();
        log.info({ digest: r.digest, name: up.name, bytes: r.bytes, files: r.files, existed: r.existed, resends: r.resends }, 'model uploaded');
        cb(null, { digest: r.digest, bytes: r.bytes });
      },
      async (e: unknown) => {
        await up.close().catch(() => undefined);
        log.info({ name: up.name, received: up.received, err: e instanceof Error ? e.message : String(e), aborted }, 'upload refused');
        if (!aborted) cb(uploadError(e));
      },
    );
  };
}
