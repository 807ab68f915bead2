/**
 * An in-process Coordinator for the client's tests: the real proto contract over real gRPC
 * on loopback, with the analysis run embedded (runAnalysis) instead of on workers. It lets the
 * client and hessctl be tested while the services are being built, and can break a watch
 * stream with UNAVAILABLE to test resume.
 */
import * as grpc from '@grpc/grpc-js';
import { normalizeSpec, runAnalysis } from '@hessian/analysis';
import { UserError } from '@hessian/linalg';
import { loadProtos, specFromProto, toServiceError, type Job, type JobEvent } from '@hessian/wire';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface FakeJob {
  job: Job;
  events: JobEvent[];
  watchers: Set<grpc.ServerWritableStream<{ id: string; afterSequence: number }, JobEvent>>;
  abort: AbortController;
}

export class FakeCoordinator {
  readonly server = new grpc.Server();
  port = 0;
  jobs = new Map<string, FakeJob>();
  byRequest = new Map<string, string>();
  models = new Map<string, string>();
  /** Break the next watch stream(s) with UNAVAILABLE after this many events (0: never). */
  breakWatchAfter = 0;
  /** the limit of every ListJobs request */
  listLimits: number[] = [];
  breaks = 0;
  watchRequests: { id: string; afterSequence: number }[] = [];
  /** New jobs stay RUNNING without running until cancelled (for cancel tests). */
  hold = false;
  uploads: { header: string; files: Map<string, number>; chunks: number }[] = [];
  private n = 0;

  async start(): Promise<string> {
    const { coordinator } = loadProtos();
    this.server.addService(coordinator.hessian.v1.Coordinator.service, {
      SubmitAnalysis: (call: grpc.ServerUnaryCall<{ spec: never; clientRequestId: string }, Job>, cb: grpc.sendUnaryData<Job>) => {
        try {
          cb(null, this.submit(call.request.spec, call.request.clientRequestId));
        } catch (e) {
          cb(toServiceError(e) as grpc.ServiceError);
        }
      },
      GetJob: (call: grpc.ServerUnaryCall<{ id: string; includeReport: boolean }, Job>, cb: grpc.sendUnaryData<Job>) => {
        const j = this.jobs.get(call.request.id);
        if (!j) return cb({ code: grpc.status.NOT_FOUND, details: `no job "${call.request.id}"; see \`hessctl jobs\`` });
        cb(null, call.request.includeReport ? j.job : { ...j.job, reportJson: '' });
      },
      CancelJob: (call: grpc.ServerUnaryCall<{ id: string }, Job>, cb: grpc.sendUnaryData<Job>) => {
        const j = this.jobs.get(call.request.id);
        if (!j) return cb({ code: grpc.status.NOT_FOUND, details: `no job "${call.request.id}"` });
        if (j.job.state === 'QUEUED' || j.job.state === 'RUNNING') {
          j.abort.abort();
          this.finish(j, 'CANCELLED', 'cancelled', 'cancelled by the user');
        }
        cb(null, { ...j.job, reportJson: '' });
      },
      // The real coordinator's rule: limit 0 is its default page of 100.
      ListJobs: (call: grpc.ServerUnaryCall<{ limit: number }, { jobs: Job[] }>, cb: grpc.sendUnaryData<{ jobs: Job[] }>) => {
        this.listLimits.push(call.request.limit);
        const limit = call.request.limit > 0 ? call.request.limit : 100;
        cb(null, { jobs: [...this.jobs.values()].reverse().slice(0, limit).map((j) => ({ ...j.job, reportJson: '' })) });
      },
      ListWorkers: (_call: unknown, cb: grpc.sendUnaryData<object>) =>
        cb(null, {
          workers: [
            { id: 'fake-1', address: '127.0.0.1:1', backend: 'cpu', device: 'cpu', capacity: 2, running: 0, memoryBytes: 3 * 1024 ** 3, lastHeartbeat: new Date().toISOString(), cached: [] },
          ],
        }),
      WatchJob: (call: grpc.ServerWritableStream<{ id: string; afterSequence: number }, JobEvent>) => {
        this.watchRequests.push({ id: call.request.id, afterSequence: Number(call.request.afterSequence) });
        const j = this.jobs.get(call.request.id);
        if (!j) return call.emit('error', { code: grpc.status.NOT_FOUND, details: `no job "${call.request.id}"` });
        let sent = 0;
        const send = (ev: JobEvent): boolean => {
          if (Number(ev.sequence) <= Number(call.request.afterSequence)) return true;
          call.write(ev);
          sent++;
          if (this.breakWatchAfter > 0 && sent >= this.breakWatchAfter && !['succeeded', 'failed', 'cancelled'].includes(ev.type as string)) {
            this.breakWatchAfter = 0;
            this.breaks++;
            j.watchers.delete(call);
            call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'coordinator restarting (test)' });
            return false;
          }
          if (['succeeded', 'failed', 'cancelled'].includes(ev.type as string)) {
            j.watchers.delete(call);
            call.end();
            return false;
          }
          return true;
        };
        for (const ev of j.events) if (!send(ev)) return;
        (call as unknown as { send: typeof send }).send = send;
        j.watchers.add(call);
        call.on('cancelled', () => j.watchers.delete(call));
      },
      UploadModel: (call: grpc.ServerReadableStream<{ header?: { name: string }; file?: { path: string; data: Buffer } }, object>, cb: grpc.sendUnaryData<object>) => {
        const files = new Map<string, Buffer[]>();
        const rec = { header: '', files: new Map<string, number>(), chunks: 0 };
        call.on('data', (m) => {
          if (m.header) rec.header = m.header.name;
          if (m.file) {
            rec.chunks++;
            const list = files.get(m.file.path) ?? [];
            list.push(Buffer.from(m.file.data));
            files.set(m.file.path, list);
          }
        });
        call.on('end', () => {
          const h = createHash('sha256');
          const dir = mkdtempSync(join(tmpdir(), 'fake-model-'));
          let bytes = 0;
          for (const [path, parts] of [...files.entries()].sort(([a], [b]) => a.localeCompare(b))) {
            const buf = Buffer.concat(parts);
            h.update(path).update(buf);
            bytes += buf.length;
            rec.files.set(path, buf.length);
            mkdirSync(dir, { recursive: true });
            writeFileSync(join(dir, path), buf);
          }
          this.uploads.push(rec);
          const digest = `sha256:${h.digest('hex')}`;
          this.models.set(digest, join(dir, 'model.json'));
          cb(null, { digest, bytes });
        });
      },
    });
    this.port = await new Promise<number>((res, rej) => this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    return `127.0.0.1:${this.port}`;
  }

  private submit(protoSpec: never, requestId: string): Job {
    if (requestId && this.byRequest.has(requestId)) return this.jobs.get(this.byRequest.get(requestId)!)!.job;
    const partial = specFromProto(protoSpec);
    const { scope, ...rest } = partial;
    const spec = normalizeSpec(rest);
    if (spec.model.startsWith('sha256:')) {
      const path = this.models.get(spec.model);
      if (!path) throw new UserError(`model ${spec.model} is not in the store; upload it with \`hessctl upload-model\``, 'NOT_FOUND');
      spec.model = path;
    }
    const id = `job-${++this.n}`;
    const now = new Date().toISOString();
    const fj: FakeJob = {
      job: { id, state: 'QUEUED', spec: protoSpec, progress: null, reportJson: '', error: '', createdAt: now, updatedAt: now },
      events: [],
      watchers: new Set(),
      abort: new AbortController(),
    };
    this.jobs.set(id, fj);
    if (requestId) this.byRequest.set(requestId, id);
    this.emit(fj, { type: 'queued', state: 'QUEUED', message: `scope ${scope}` });
    setImmediate(() => {
      fj.job.state = 'RUNNING';
      this.emit(fj, { type: 'started', state: 'RUNNING' });
      if (this.hold) return;
      runAnalysis(spec, {
        backend: 'cpu',
        signal: fj.abort.signal,
        onProgress: (p) => {
          const progress = { tasksDone: p.tasksDone, tasksSkipped: p.tasksSkipped, tasksTotal: p.tasksTotal, hvps: p.hvps, elapsedSeconds: p.elapsedSeconds, etaSeconds: p.etaSeconds ?? -1 };
          fj.job.progress = progress;
          this.emit(fj, { type: p.last ? 'task-done' : 'progress', taskId: p.last?.id ?? '', worker: p.last ? 'fake-1' : '', progress, state: 'RUNNING' });
        },
      })
        .then((report) => {
          if (fj.job.state !== 'RUNNING') return;
          fj.job.reportJson = JSON.stringify(report);
          this.finish(fj, 'SUCCEEDED', 'succeeded', '');
        })
        .catch((e: unknown) => {
          if (fj.job.state !== 'RUNNING') return;
          fj.job.error = e instanceof Error ? e.message : String(e);
          this.finish(fj, 'FAILED', 'failed', fj.job.error);
        });
    });
    return fj.job;
  }

  private finish(j: FakeJob, state: 'SUCCEEDED' | 'FAILED' | 'CANCELLED', type: string, message: string): void {
    j.job.state = state;
    j.job.updatedAt = new Date().toISOString();
    this.emit(j, { type, state, message });
  }

  private emit(j: FakeJob, ev: Partial<JobEvent>): void {
    const full: JobEvent = { jobId: j.job.id, sequence: j.events.length + 1, time: new Date().toISOString(), message: '', taskId: '', worker: '', partialJson: '', ...ev };
    j.events.push(full);
    for (const w of [...j.watchers]) (w as unknown as { send: (e: JobEvent) => boolean }).send(full);
  }

  stop(): Promise<void> {
    return new Promise((res) => this.server.tryShutdown(() => res()));
  }
}
