/**
 * What the gRPC handlers (handlers/*.ts) share with the service around them: the engine
 * cache, the running calls (for heartbeats, cancel and drain), drain state and metrics.
 * WorkerService implements it; a test can build one without NATS (services/worker/test).
 */
import * as grpc from '@grpc/grpc-js';
import type { Convention } from '@hessian/engine';
import { UserError } from '@hessian/linalg';
import { toServiceError } from '@hessian/wire';
import type { Logger } from 'pino';
import type { EngineCache } from './engines.js';

/** A call ended on purpose: cancelled (job cancel, caller) or refused/ended by a drain (UNAVAILABLE). */
export class Cancelled extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

/** The gRPC error of a thrown value: Cancelled keeps its code; anything else as toServiceError. */
export function callError(e: unknown): Partial<grpc.ServiceError> & { code: grpc.status; details: string } {
  return e instanceof Cancelled ? { code: e.code, details: e.message, message: e.message } : toServiceError(e);
}

type Counter = { inc: (labels?: Record<string, string>, by?: number) => void };

export interface WorkerMetrics {
  /** finished tasks and train steps by result (ok, error, cancelled) */
  tasks: Counter;
  /** operator products, tasks and Hvp streams together */
  hvps: Counter;
  taskSeconds: Counter;
  /** Prepare calls by cache outcome (hit, miss) */
  prepares: Counter;
}

export interface WorkerRuntime {
  readonly id: string;
  readonly log: Logger;
  readonly engines: EngineCache;
  /** Running calls (tasks, train steps): their job and task; aborting the controller ends the call. */
  readonly running: Map<AbortController, { jobId: string; taskId: string }>;
  /** Jobs cancelled on NATS (by id, with the time): their tasks are refused. */
  readonly cancelledJobs: Map<string, number>;
  readonly draining: boolean;
  /** Tasks it runs at once (HESSIAN_WORKER_CAPACITY): RunTask beyond it is RESOURCE_EXHAUSTED. */
  readonly capacity: number;
  readonly backendName: string;
  readonly counters: WorkerMetrics;
}

/** A request's convention ('' means layer); anything else is INVALID_ARGUMENT. */
export function conventionOf(c: string | undefined): Convention {
  const v = c || 'layer';
  if (v !== 'layer' && v !== 'weights-only') throw new UserError(`convention: must be layer or weights-only, got ${JSON.stringify(v)}`, 'INVALID_ARGUMENT');
  return v;
}
