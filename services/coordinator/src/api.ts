/**
 * The Coordinator gRPC service: each method over the CoordinatorApi (the service's jobs,
 * records and stores), and the bearer-token wrapper every method sits behind.
 */
import * as grpc from '@grpc/grpc-js';
import { callGate, toServiceError, type CoordinatorHandlers, type Job, type JobEvent, type TokenAuth, type WorkerInfo, type Registry, type SubmitAnalysisRequest__Output } from '@hessian/wire';
import type { Logger } from 'pino';
import type { CoordinatorConfig } from './coordinator.js';
import type { JobRun } from './job.js';
import type { EventBody, JobRecord, Store } from './store.js';
import { uploadModelHandler, type UploadLimits } from './upload.js';

const TERMINAL_EVENTS = new Set(['succeeded', 'failed', 'cancelled']);

/** What the handlers need of the coordinator. */
export interface CoordinatorApi {
  readonly cfg: CoordinatorConfig;
  readonly log: Logger;
  readonly store: Store;
  readonly registry: Registry;
  readonly uploads: UploadLimits;
  readonly records: ReadonlyMap<string, JobRecord>;
  readonly runs: ReadonlyMap<string, JobRun>;
  submit(req: SubmitAnalysisRequest__Output): Promise<Job>;
  /** A job's record; NOT_FOUND with a sentence when there is none. */
  record(id: string): JobRecord;
  toJob(r: JobRecord, report?: string): Job;
}

/**
 * Every Coordinator method behind the bearer-token check (when tokens are configured):
 * a call without `authorization: Bearer <token>` or with an unknown token ends with
 * UNAUTHENTICATED and a sentence. The health service is added apart and stays open.
 */
export function authenticated(h: CoordinatorHandlers, auth: TokenAuth, log: Logger): CoordinatorHandlers {
  if (!auth.enabled) return h;
  const gate = callGate((md) => auth.check(md), log, 'unauthenticated call refused');
  return {
    SubmitAnalysis: gate.unary('SubmitAnalysis', h.SubmitAnalysis),
    GetJob: gate.unary('GetJob', h.GetJob),
    CancelJob: gate.unary('CancelJob', h.CancelJob),
    ListJobs: gate.unary('ListJobs', h.ListJobs),
    ListWorkers: gate.unary('ListWorkers', h.ListWorkers),
    WatchJob: gate.serverStream('WatchJob', h.WatchJob),
    UploadModel: gate.clientStream('UploadModel', h.UploadModel),
  };
}

export function coordinatorHandlers(c: CoordinatorApi): CoordinatorHandlers {
  const unary =
    <Req, Res>(f: (req: Req) => Promise<Res>) =>
    (call: { request: Req }, cb: (e: Partial<grpc.ServiceError> | null, r?: Res) => void) => {
      f(call.request).then(
        (r) => cb(null, r),
        (e) => {
          const se = toServiceError(e);
          if (se.code === grpc.status.INTERNAL) c.log.error({ err: e instanceof Error ? e.stack : String(e) }, 'request failed');
          cb(se);
        },
      );
    };
  return {
    SubmitAnalysis: unary((req) => c.submit(req)),
    GetJob: unary(async (req) => {
      const r = c.record(req.id);
      return c.toJob(r, req.includeReport && r.hasReport ? await c.store.getReport(r.id) : '');
    }),
    CancelJob: unary(async (req) => {
      const r = c.record(req.id);
      const run = c.runs.get(r.id);
      if (run) await run.cancel();
      return c.toJob(r);
    }),
    ListJobs: unary(async (req) => {
      const all = [...c.records.values()].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
      return { jobs: all.slice(0, req.limit > 0 ? req.limit : 100).map((r) => c.toJob(r)) };
    }),
    ListWorkers: unary(async () => ({
      workers: [...c.registry.workers.values()].map(
        (w): WorkerInfo => ({
          id: w.id,
          address: w.hb.address,
          backend: w.hb.backend,
          device: w.hb.device,
          capacity: w.hb.capacity,
          running: w.hb.running,
          memoryBytes: w.hb.memory,
          lastHeartbeat: new Date(w.lastSeen).toISOString(),
          cached: w.hb.cached,
        }),
      ),
    })),
    WatchJob: (call) => {
      let stop: (() => void) | null = null;
      let ended = false;
      const finish = () => {
        if (ended) return;
        ended = true;
        stop?.();
        call.end();
      };
      call.on('cancelled', () => {
        ended = true;
        stop?.();
      });
      void (async () => {
        const r = c.record(call.request.id);
        stop = await c.store.watchEvents(r.id, Number(call.request.afterSequence) || 0, (seq, ev: EventBody) => {
          if (ended) return false;
          const out: JobEvent = {
            jobId: r.id,
            sequence: seq,
            time: ev.time,
            type: ev.type,
            message: ev.message ?? '',
            taskId: ev.taskId ?? '',
            worker: ev.worker ?? '',
            progress: ev.progress,
            partialJson: ev.partialJson ?? '',
            state: ev.state ?? 'JOB_STATE_UNSPECIFIED',
          };
          call.write(out);
          if (TERMINAL_EVENTS.has(ev.type)) {
            setImmediate(finish);
            return false;
          }
          return true;
        });
        if (ended) stop();
      })().catch((e) => {
        if (!ended) {
          ended = true;
          call.emit('error', toServiceError(e));
        }
      });
    },
    UploadModel: uploadModelHandler(c.store, c.uploads, c.log),
  };
}
