/**
 * A typed client of the coordinator (proto/hessian/v1/coordinator.proto).
 *
 * Errors a user can fix come back as UserError (the CLI prints the sentence and exits 2):
 * INVALID_ARGUMENT / NOT_FOUND / FAILED_PRECONDITION / RESOURCE_EXHAUSTED keep the
 * coordinator's sentence (fromServiceError); an unreachable coordinator (UNAVAILABLE, or no
 * connection within the deadline) says so and how to start one. Anything else is rethrown.
 */
import * as grpc from '@grpc/grpc-js';
import type { PartialSpec } from '@hessian/analysis';
import { UserError } from '@hessian/linalg';
import {
  channelCredentials,
  CHANNEL_OPTIONS,
  fromServiceError,
  loadProtos,
  specToProto,
  type CoordinatorClient,
  type Job__Output,
  type JobEvent__Output,
  type WorkerInfo__Output,
} from '@hessian/wire';
import { randomUUID } from 'node:crypto';
import { uploadFiles } from './model-files.js';
import { open, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { diagnoseConnection } from './diagnose.js';
import { checkWeightBytes, type ManifestGroup } from './weights-check.js';

export type Job = Job__Output;
export type JobEvent = JobEvent__Output;
export type WorkerInfo = WorkerInfo__Output;
export type JobStateName = Job__Output['state'];
export type Scope = 'batch' | 'dataset';

export const TERMINAL_EVENTS: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled']);
export const TERMINAL_STATES: ReadonlySet<string> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/** Bytes of one FileChunk of an upload (DESIGN §5: about 1 MiB). */
export const UPLOAD_CHUNK_BYTES = 1024 * 1024;

export interface ConnectOptions {
  /** How long to wait for the first connection, and the deadline of each unary call (ms). Default 10000. */
  deadlineMs?: number;
  /** Fail as soon as a connection attempt is refused instead of waiting out the deadline. Default true. */
  failFast?: boolean;
  /** TLS: the CA that signs the coordinator's certificate (PEM file); unset: plaintext. */
  tlsCa?: string;
  /** Client certificate and key (PEM files) for mutual TLS. */
  tlsCert?: string;
  tlsKey?: string;
  /** Name the server certificate must carry when it differs from the dialled host. */
  tlsServerName?: string;
  /** Bearer token sent as `authorization: Bearer <token>` on every call. */
  token?: string;
}

export interface WatchOptions {
  /** Only events with a larger sequence (resume point). Default 0: from the start. */
  afterSequence?: number;
  /** How long to keep trying to reconnect after the coordinator became unavailable (ms). Default 60000. */
  reconnectMs?: number;
  /** Stops the watch (the iterator ends quietly). */
  signal?: AbortSignal;
  /** Called before each reconnect attempt, e.g. to tell the user. */
  onReconnect?: (info: { attempt: number; afterSequence: number; error: string }) => void;
}

export interface UploadResult {
  digest: string;
  bytes: number;
  files: string[];
}

/** The sentence for a coordinator that cannot be reached. */
export function unreachableMessage(address: string, detail?: string): string {
  return (
    `the coordinator at ${address} cannot be reached${detail ? ` (${detail})` : ''}; ` +
    'start a local cluster with `hessctl cluster up --workers 2`, or point --server (or HESSIAN_SERVER) at a running coordinator'
  );
}

/** Parses host:port; a bare port means 127.0.0.1:port. */
export function normalizeAddress(address: string): string {
  const a = address.trim().replace(/^grpc:\/\//, '').replace(/^dns:\/*/, '');
  if (/^\d+$/.test(a)) return `127.0.0.1:${a}`;
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/.exec(a);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535)
    throw new UserError(`--server: expected host:port (e.g. 127.0.0.1:7070), got "${address}"`);
  return a;
}

function isServiceError(e: unknown): e is grpc.ServiceError {
  return typeof (e as { code?: unknown })?.code === 'number' && e instanceof Error;
}

/** A typed connection to one coordinator. Create with `CoordinatorConnection.connect`. */
export class CoordinatorConnection {
  private closed = false;

  private constructor(
    readonly address: string,
    private readonly client: CoordinatorClient,
    private readonly deadlineMs: number,
  ) {}

  /** Connects and waits until the channel is ready; an unreachable coordinator is a UserError. */
  static async connect(address: string, opts: ConnectOptions = {}): Promise<CoordinatorConnection> {
    const addr = normalizeAddress(address);
    const deadlineMs = opts.deadlineMs ?? 10_000;
    const { coordinator } = loadProtos();
    let creds: grpc.ChannelCredentials;
    try {
      creds = channelCredentials({ ca: opts.tlsCa, cert: opts.tlsCert, key: opts.tlsKey });
    } catch (e) {
      throw new UserError(`TLS: ${(e as Error).message}`);
    }
    // The token goes as call metadata through an interceptor: gRPC's call credentials are refused on plaintext channels.
    const token = opts.token;
    const interceptors: grpc.Interceptor[] = token
      ? [
          (options, next) =>
            new grpc.InterceptingCall(next(options), {
              start: (metadata, listener, nextStart) => {
                metadata.set('authorization', `Bearer ${token}`);
                nextStart(metadata, listener);
              },
            }),
        ]
      : [];
    const client = new coordinator.hessian.v1.Coordinator(addr, creds, {
      ...CHANNEL_OPTIONS,
      ...(opts.tlsServerName ? { 'grpc.ssl_target_name_override': opts.tlsServerName, 'grpc.default_authority': opts.tlsServerName } : {}),
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2000,
      interceptors,
    });
    try {
      await waitReady(client, Date.now() + deadlineMs, opts.failFast ?? true);
    } catch (e) {
      client.close();
      // gRPC says only TRANSIENT_FAILURE: probe whether the port is closed or the two ends disagree about TLS.
      const d = await diagnoseConnection(addr, opts).catch(() => null);
      if (d && d.kind !== 'refused') throw new UserError(d.sentence, 'FAILED_PRECONDITION');
      throw new UserError(unreachableMessage(addr, d?.sentence ?? (e instanceof Error ? e.message : String(e))), 'FAILED_PRECONDITION');
    }
    return new CoordinatorConnection(addr, client, deadlineMs);
  }

  private opts(deadlineMs = this.deadlineMs): grpc.CallOptions {
    return { deadline: Date.now() + deadlineMs };
  }

  /** Maps a gRPC error to what the CLI shows (see the file comment). */
  mapError(e: unknown, what: string): unknown {
    if (!isServiceError(e)) return e;
    if (e.code === grpc.status.UNAVAILABLE) return new UserError(unreachableMessage(this.address, e.details || undefined), 'FAILED_PRECONDITION');
    if (e.code === grpc.status.DEADLINE_EXCEEDED)
      return new UserError(`the coordinator at ${this.address} did not answer ${what} in time; it may be overloaded, try again`, 'FAILED_PRECONDITION');
    if (e.code === grpc.status.UNAUTHENTICATED || e.code === grpc.status.PERMISSION_DENIED)
      return new UserError(`the coordinator at ${this.address} refused ${what}: ${e.details || 'not authenticated'}`, 'FAILED_PRECONDITION');
    const mapped = fromServiceError(e);
    if (mapped !== e) return mapped;
    return new Error(`${what} failed: ${grpc.status[e.code] ?? e.code}: ${e.details || e.message}`);
  }

  private unary<Req, Res>(
    what: string,
    call: (req: Req, opts: grpc.CallOptions, cb: grpc.requestCallback<Res>) => grpc.ClientUnaryCall,
    req: Req,
    deadlineMs?: number,
  ): Promise<Res> {
    if (this.closed) return Promise.reject(new Error('connection closed'));
    return new Promise<Res>((res, rej) => {
      call.call(this.client, req, this.opts(deadlineMs), (err, out) => {
        if (err) rej(this.mapError(err, what));
        else res(out as Res);
      });
    });
  }

  /**
   * Submits an analysis. The spec should already have passed normalizeSpec (so numbers are in
   * range); the coordinator validates it again. A UNAVAILABLE answer is retried once with the
   * same client request id, which the coordinator deduplicates.
   */
  async submitAnalysis(spec: PartialSpec, opts: { scope?: Scope; shards?: number; clientRequestId?: string } = {}): Promise<Job> {
    const req = { spec: specToProto(spec, opts.scope ?? 'batch', opts.shards ?? 0), clientRequestId: opts.clientRequestId ?? randomUUID() };
    const once = () => this.unary<typeof req, Job>('SubmitAnalysis', this.client.SubmitAnalysis as never, req);
    try {
      return await once();
    } catch (e) {
      if (e instanceof UserError && /cannot be reached/.test(e.message)) {
        await sleep(500);
        return await once();
      }
      throw e;
    }
  }

  getJob(id: string, opts: { includeReport?: boolean } = {}): Promise<Job> {
    return this.unary<object, Job>('GetJob', this.client.GetJob as never, { id, includeReport: opts.includeReport ?? false });
  }

  cancelJob(id: string): Promise<Job> {
    return this.unary<object, Job>('CancelJob', this.client.CancelJob as never, { id });
  }

  async listJobs(limit = 0): Promise<Job[]> {
    const r = await this.unary<{ limit: number }, { jobs: Job[] }>('ListJobs', this.client.ListJobs as never, { limit });
    return r.jobs ?? [];
  }

  async listWorkers(): Promise<WorkerInfo[]> {
    const r = await this.unary<object, { workers: WorkerInfo[] }>('ListWorkers', this.client.ListWorkers as never, {});
    return r.workers ?? [];
  }

  /**
   * The events of a job, in order, until its terminal event (succeeded, failed, cancelled).
   * When the coordinator becomes unavailable (restart, network), it reconnects with backoff
   * and resumes after the last sequence received, for up to `reconnectMs`; events are never
   * repeated. A stream that ends without a terminal event is resumed the same way unless the
   * job is already over.
   */
  async *watchJob(id: string, opts: WatchOptions = {}): AsyncGenerator<JobEvent, void, undefined> {
    let after = opts.afterSequence ?? 0;
    const reconnectMs = opts.reconnectMs ?? 60_000;
    let attempt = 0;
    let failingSince = 0;
    for (;;) {
      if (opts.signal?.aborted || this.closed) return;
      const call = this.client.WatchJob({ id, afterSequence: after });
      const abort = () => call.cancel();
      opts.signal?.addEventListener('abort', abort, { once: true });
      let failure: unknown = null;
      try {
        for await (const ev of call as AsyncIterable<JobEvent>) {
          attempt = 0;
          failingSince = 0;
          const seq = Number(ev.sequence);
          if (seq !== 0 && seq <= after) continue;
          if (seq !== 0) after = seq;
          yield ev;
          if (TERMINAL_EVENTS.has(ev.type)) {
            call.cancel();
            return;
          }
        }
      } catch (e) {
        failure = e;
      } finally {
        opts.signal?.removeEventListener('abort', abort);
      }
      if (opts.signal?.aborted) return;
      if (failure !== null) {
        const code = isServiceError(failure) ? failure.code : -1;
        if (code === grpc.status.CANCELLED && opts.signal?.aborted) return;
        if (code !== grpc.status.UNAVAILABLE) throw this.mapError(failure, 'WatchJob');
        if (!failingSince) failingSince = Date.now();
        if (Date.now() - failingSince > reconnectMs) throw this.mapError(failure, 'WatchJob');
        attempt++;
        opts.onReconnect?.({ attempt, afterSequence: after, error: (failure as grpc.ServiceError).details || String(failure) });
        await sleep(Math.min(5000, 200 * 2 ** Math.min(attempt, 5)), opts.signal);
        continue;
      }
      // Ended without a terminal event: over already, or the coordinator is draining.
      const job = await this.getJob(id);
      if (TERMINAL_STATES.has(job.state)) return;
      attempt++;
      await sleep(Math.min(5000, 200 * 2 ** Math.min(attempt, 5)), opts.signal);
    }
  }

  /**
   * Uploads a tfjs model: model.json and the weight files named in its weightsManifest,
   * streamed in chunks of about 1 MiB. Returns the content digest ("sha256:HEX") to use as
   * the spec's model.
   */
  async uploadModel(modelJsonPath: string, opts: { name?: string; chunkBytes?: number } = {}): Promise<UploadResult> {
    const path = resolve(modelJsonPath);
    // Sorted by path with their sizes in the header: the coordinator streams the bundle (whose
    // order this is) into its object store as the chunks arrive, and admits the upload first.
    const sent = (await uploadFiles(path, modelFiles)).sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
    const sizes = await Promise.all(sent.map(async (f) => (await stat(f.abs)).size));
    const files = sent.map((f) => f.rel);
    const chunk = opts.chunkBytes ?? UPLOAD_CHUNK_BYTES;
    const dir = dirname(path);
    return new Promise<UploadResult>((res, rej) => {
      let settled = false;
      const fail = (e: unknown) => {
        if (settled) return;
        settled = true;
        call.cancel();
        rej(e);
      };
      const call = this.client.UploadModel({}, (err, reply) => {
        if (settled) return;
        settled = true;
        if (err) rej(this.mapError(err, 'UploadModel'));
        else res({ digest: reply!.digest, bytes: Number(reply!.bytes), files });
      });
      const write = (msg: object) =>
        new Promise<void>((ok) => {
          if (call.write(msg)) ok();
          else call.once('drain', ok);
        });
      (async () => {
        await write({ header: { name: opts.name ?? (sent.length === 1 && sent[0].rel !== 'model.json' ? basename(path, extname(path)) : basename(dir)), files: sent.map((f, i) => ({ path: f.rel, size: sizes[i] })) } });
        for (const { rel, abs } of sent) {
          const fh = await open(abs, 'r');
          try {
            const buf = Buffer.allocUnsafe(chunk);
            let sent = false;
            for (;;) {
              if (settled) return;
              const { bytesRead } = await fh.read(buf, 0, chunk, null);
              if (bytesRead === 0) break;
              await write({ file: { path: rel, data: Buffer.from(buf.subarray(0, bytesRead)) } });
              sent = true;
            }
            if (!sent) await write({ file: { path: rel, data: Buffer.alloc(0) } });
          } finally {
            await fh.close();
          }
        }
        call.end();
      })().catch(fail);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
  }
}

/** model.json and its weight files (relative to its folder), checked to exist, with clear errors. */
export async function modelFiles(modelJsonPath: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(modelJsonPath, 'utf8');
  } catch {
    throw new UserError(`--model: cannot read ${modelJsonPath}; give zoo:NAME or the path of a tfjs model.json with its weight files`, 'NOT_FOUND');
  }
  let json: { weightsManifest?: ManifestGroup[] };
  try {
    json = JSON.parse(text);
  } catch {
    throw new UserError(`--model: ${modelJsonPath} is not JSON; give the model.json written by tfjs (model.save)`);
  }
  const files = [basename(modelJsonPath)];
  for (const group of json.weightsManifest ?? []) for (const p of group.paths ?? []) if (!files.includes(p)) files.push(p);
  for (const f of files.slice(1)) {
    if (f.includes('..') || f.startsWith('/')) throw new UserError(`--model: weight file "${f}" in ${modelJsonPath} must be a plain name next to model.json`);
    try {
      await stat(join(dirname(modelJsonPath), f));
    } catch {
      throw new UserError(`--model: the weight file ${join(dirname(modelJsonPath), f)} named in ${modelJsonPath} is missing; copy it next to model.json`, 'NOT_FOUND');
    }
  }
  await checkWeightBytes(modelJsonPath, json.weightsManifest ?? []);
  return files;
}

function waitReady(client: grpc.Client, deadline: number, failFast: boolean): Promise<void> {
  const channel = client.getChannel();
  return new Promise<void>((res, rej) => {
    let sawConnecting = false;
    const check = (): void => {
      const state = channel.getConnectivityState(true);
      if (state === grpc.connectivityState.READY) return res();
      if (state === grpc.connectivityState.CONNECTING) sawConnecting = true;
      if (failFast && sawConnecting && state === grpc.connectivityState.TRANSIENT_FAILURE) return rej(new Error('connection refused'));
      if (state === grpc.connectivityState.SHUTDOWN) return rej(new Error('channel closed'));
      if (Date.now() >= deadline) return rej(new Error('no connection before the deadline'));
      channel.watchConnectivityState(state, deadline, () => check());
    };
    check();
  });
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((res) => {
    if (signal?.aborted) return res();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      res();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
