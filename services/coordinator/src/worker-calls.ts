/**
 * The coordinator's calls to one worker (Prepare, RunTask) and how their failures are
 * classified: a user error fails the job, a lost worker means re-dispatch, anything else is
 * retried elsewhere (job.ts and dispatch.ts decide; this file only calls and classifies).
 */
import * as grpc from '@grpc/grpc-js';
import type { AnalysisSpec, Task, TaskResult } from '@hessian/analysis';
import { isUserError } from '@hessian/linalg';
import { specToProto, USER_STATUS_CODES, type LiveWorker, type PrepareReply__Output, type TaskUpdate__Output } from '@hessian/wire';

export const MAX_FAILURES = 3;
export const MAX_REDISPATCHES = 10;

/** busy: the worker refused a task beyond its capacity (RESOURCE_EXHAUSTED naming HESSIAN_WORKER_CAPACITY): not the task's fault. */
export type Failure = 'user' | 'not-prepared' | 'unavailable' | 'busy' | 'transient';

export function details(e: unknown): string {
  const g = e as Partial<grpc.ServiceError>;
  return (g?.details || g?.message || String(e)) as string;
}

export function classify(e: unknown): Failure {
  if (isUserError(e)) return 'user';
  const code = (e as Partial<grpc.ServiceError>)?.code;
  if (code === grpc.status.FAILED_PRECONDITION && details(e).startsWith('not prepared')) return 'not-prepared';
  if (code === grpc.status.UNAVAILABLE || code === grpc.status.CANCELLED) return 'unavailable';
  if (code === grpc.status.RESOURCE_EXHAUSTED && details(e).includes('HESSIAN_WORKER_CAPACITY')) return 'busy';
  if (code !== undefined && USER_STATUS_CODES.has(code)) return 'user';
  return 'transient';
}

/** gRPC deadline of one Prepare (a large model on a large data set can take minutes). */
const PREPARE_DEADLINE_MS = 300_000;

/** The PrepareRequest of a job's spec (shardCount 0 or 1: the whole batch). */
export function prepareRequest(jobId: string, spec: AnalysisSpec, scope: 'batch' | 'dataset', shardIndex = 0, shardCount = 0) {
  return { jobId, spec: specToProto(spec, scope), modelDigest: spec.model.startsWith('sha256:') ? spec.model : '', shardIndex, shardCount };
}

export function callPrepare(w: LiveWorker, req: ReturnType<typeof prepareRequest> & { check?: boolean }): Promise<PrepareReply__Output> {
  return new Promise((resolve, reject) =>
    w.client.Prepare(req, { deadline: Date.now() + PREPARE_DEADLINE_MS }, (e, r) => (e || !r ? reject(e ?? new Error('empty reply')) : resolve(r))),
  );
}

/** The worker a batch job prepares on first: one that holds the model, else the least loaded. */
export function preferredWorker(ws: LiveWorker[], model: string): LiveWorker {
  return ws.find((x) => x.hb.cached.includes(model)) ?? [...ws].sort((a, b) => a.inflight / a.hb.capacity - b.inflight / b.hb.capacity)[0];
}

/**
 * RunTask on a worker: resolves the task's result. The task crosses as JSON (`task_json`): its
 * fields belong to the estimator that planned it (registry), so a typed proto message would
 * need one message per estimator and a .proto change per new estimator; the worker parses
 * and validates it once (parseTask in @hessian/wire). `onCall` receives the call to cancel it.
 */
export function callRunTask(w: LiveWorker, req: { jobId: string; key: string; task: Task; convention: string }, deadlineS: number, onCall: (cancel: () => void) => void): Promise<TaskResult> {
  return new Promise((resolve, reject) => {
    const call = w.client.RunTask({ jobId: req.jobId, key: req.key, taskJson: JSON.stringify(req.task), convention: req.convention }, { deadline: Date.now() + deadlineS * 1000 });
    onCall(() => call.cancel());
    let result: TaskResult | null = null;
    call.on('data', (u: TaskUpdate__Output) => {
      if (u.update === 'resultJson' && u.resultJson) result = JSON.parse(u.resultJson) as TaskResult;
    });
    call.on('error', reject);
    call.on('end', () => (result ? resolve(result) : reject(Object.assign(new Error('task stream ended without a result'), { code: grpc.status.UNAVAILABLE }))));
  });
}


