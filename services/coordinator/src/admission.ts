/**
 * Admission of a submitted analysis: the model reference is checked without a worker
 * (validateModel), then, on a live worker, what only the loaded model can tell
 * (SubmitChecker). Both throw the embedded run's sentences as UserErrors.
 */
import * as grpc from '@grpc/grpc-js';
import { checkPlanFits, plan as makePlan, type AnalysisSpec } from '@hessian/analysis';
import { zooInfo, zooModels, type ParamGroup } from '@hessian/engine';
import { UserError } from '@hessian/linalg';
import { DIGEST_RE, fromServiceError, type LiveWorker, type PrepareReply__Output, type Registry } from '@hessian/wire';
import type { Logger } from 'pino';
import type { Store } from './store.js';
import { callPrepare, classify, preferredWorker, prepareRequest } from './worker-calls.js';

/** The submit-time check's outcome: the Prepare to hand to the job (batch scope), or nothing. */
export interface SubmitCheck {
  worker: LiveWorker;
  reply: Promise<PrepareReply__Output>;
}

export async function validateModel(model: string, store: Store): Promise<void> {
  if (model.startsWith('zoo:')) {
    try {
      zooInfo(model.slice(4));
    } catch (e) {
      if (!(e instanceof UserError) || e.code !== 'NOT_FOUND') throw e;
      const names = zooModels().map((m) => m.name);
      throw new UserError(`model: unknown zoo model "${model}"; available: ${names.map((n) => `zoo:${n}`).join(', ')}`, 'NOT_FOUND');
    }
    return;
  }
  if (model.startsWith('sha256:')) {
    if (!DIGEST_RE.test(model)) throw new UserError(`model: "${model}" is not a model digest; digests look like sha256: and 64 lowercase hex digits, as printed by hessctl upload-model`);
    const info = await store.models.info(model);
    if (!info) throw new UserError(`model: ${model} was never uploaded to this cluster; upload it with hessctl upload-model`, 'NOT_FOUND');
    return;
  }
  // A path: read by the workers from their own file systems (a shared volume).
  if (!model.endsWith('.json') && !model.startsWith('/')) throw new UserError(`model: "${model}" is neither zoo:NAME nor sha256:HEX of an uploaded model nor an absolute model.json path on the workers; upload the model with hessctl upload-model`);
}

export class SubmitChecker {
  /** Submit-time Prepares in flight, by (worker, spec, shards): concurrent identical submissions share one. */
  private checking = new Map<string, Promise<PrepareReply__Output>>();

  constructor(
    private readonly registry: Registry,
    private readonly log: Logger,
    /** seconds to wait for the worker's Prepare (undefined: 5; 0: no check) */
    private readonly submitCheckS: number | undefined,
    private readonly counter: { inc: (labels?: Record<string, string>) => void },
  ) {}

  /**
   * The submit-time check of what only the loaded model can tell (layer names, data that does
   * not fit the model, a model that fails to load): one live worker prepares the job's engine
   * (the worker caches it, and the job adopts this Prepare, so the work is not wasted), then
   * `plan` runs on its parameter groups, giving the embedded run's sentence. A user error from
   * either is thrown (INVALID_ARGUMENT / NOT_FOUND / FAILED_PRECONDITION). The job is accepted
   * unchecked, and checked again when it starts, when no worker is live (the queue lets jobs
   * wait for workers), when the Prepare takes longer than `submitCheckS`, or when it fails for
   * a reason that is not the user's (worker lost, internal error).
   */
  async check(jobId: string, spec: AnalysisSpec, scope: 'batch' | 'dataset', shards = 0): Promise<SubmitCheck | null> {
    const limitMs = (this.submitCheckS ?? 5) * 1000;
    if (!(limitMs > 0)) return null;
    const ws = this.registry.available();
    if (ws.length === 0) {
      this.counter.inc({ result: 'no-worker' });
      this.log.info({ jobId, model: spec.model }, 'no live worker: spec accepted unchecked, checked when the job starts');
      return null;
    }
    // Dataset scope: shard 0 of the job's shards (--shards, else as many as there are live workers),
    // on the first in id order, which is what the job prepares there when it starts with the same workers.
    const shardCount = scope === 'dataset' ? shards || ws.length : 0;
    const w = scope === 'dataset' ? ws[0] : preferredWorker(ws, spec.model);
    const req = { ...prepareRequest(jobId, spec, scope, 0, shardCount), check: true };
    const key = JSON.stringify([w.id, req.spec, shardCount]);
    let reply = this.checking.get(key);
    if (!reply) {
      const p = callPrepare(w, req);
      reply = p;
      this.checking.set(key, p);
      const drop = () => {
        if (this.checking.get(key) === p) this.checking.delete(key);
      };
      p.then(drop, drop);
    }
    const adopt = scope === 'batch' ? { worker: w, reply } : null;
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      reply.then(
        (r) => ({ r }),
        (e: unknown) => ({ e }),
      ),
      new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), limitMs))),
    ]);
    clearTimeout(timer);
    const log = this.log.child({ jobId, workerId: w.id, model: spec.model });
    if (outcome === null) {
      this.counter.inc({ result: 'timeout' });
      log.info({ seconds: limitMs / 1000 }, 'spec check still preparing: accepted unchecked (HESSIAN_SUBMIT_CHECK_S), checked when the job starts');
      return adopt;
    }
    if ('e' in outcome) {
      if (classify(outcome.e) === 'user') {
        this.counter.inc({ result: 'refused' });
        const u = fromServiceError(outcome.e);
        log.info({ err: u instanceof Error ? u.message : String(u) }, 'spec refused at submit by the worker check');
        throw u;
      }
      this.counter.inc({ result: 'error' });
      log.warn({ err: (outcome.e as Partial<grpc.ServiceError>)?.details ?? String(outcome.e) }, 'spec check failed on the worker: accepted unchecked, checked when the job starts');
      return null;
    }
    try {
      const planned = makePlan(spec, JSON.parse(outcome.r.groupsJson) as ParamGroup[]);
      // Workers that predate the memory fields report a budget of 0: nothing to check against.
      if (outcome.r.memoryBudgetBytes > 0)
        checkPlanFits(planned, { budgetBytes: outcome.r.memoryBudgetBytes, budgetSource: outcome.r.memoryBudgetSource, engineBytes: outcome.r.engineBytes });
    } catch (e) {
      this.counter.inc({ result: 'refused' });
      log.info({ err: e instanceof Error ? e.message : String(e) }, 'spec refused at submit by the worker check');
      throw e;
    }
    this.counter.inc({ result: 'passed' });
    return adopt;
  }
}
