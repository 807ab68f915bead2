/**
 * The cluster's GradientProvider: each step sends the weights and one shard of the minibatch
 * to a worker per shard (TrainGradient), and sums the replies weighted by shard size
 * (shards.ts). A shard whose worker dies, times out or fails internally is redone on another
 * worker; the run fails, with one sentence, only on the request's own fault (a UserError
 * from the worker) or when no worker is left.
 */
import * as grpc from '@grpc/grpc-js';
import { isUserError, UserError } from '@hessian/linalg';
import { TRAIN_DATA_SEED, trainDataSpec, type GradientProvider, type GradientSource, type HtrStepSpec, type ShardResult, type StepRequest } from '@hessian/training';
import { fromServiceError, toChunks, VectorAssembler, type PrepareReply__Output, type PrepareRequest, type TrainGradientHeader, USER_STATUS_CODES } from '@hessian/wire';
import type { Logger } from 'pino';
import type { PoolWorker, WorkerPool } from './pool.js';
import { combineShards, splitShards } from './shards.js';

export interface ClusterGradientOptions {
  pool: WorkerPool;
  /** the fixed number of shards of every minibatch */
  shards: number;
  log: Logger;
  /** the run folder (logs, and the sentence when the run stops) */
  runDir: string;
  /** deadline of one shard's call; past it the shard is redone elsewhere */
  callTimeoutMs: number;
  /** how long a shard waits for a worker when none is available before the run fails */
  waitMs: number;
  /** called before the provider computes anything (the cluster trainer records the shard count) */
  onReady?: () => Promise<void>;
}

/** Errors the request caused (the worker's UserErrors): retrying elsewhere cannot help. */
function isRequestFault(e: unknown): boolean {
  const code = (e as Partial<grpc.ServiceError>)?.code;
  return typeof code === 'number' && USER_STATUS_CODES.has(code);
}

function describe(e: unknown): string {
  const err = e as Partial<grpc.ServiceError>;
  if (typeof err?.code === 'number') return `${grpc.status[err.code] ?? err.code}: ${err.details || err.message}`;
  return e instanceof Error ? e.message : String(e);
}

function toProtoHtr(h: HtrStepSpec): NonNullable<TrainGradientHeader['htr']> {
  return { gamma: h.gamma, probes: h.probes, layers: h.layers, convention: h.convention, dist: h.dist, seed: h.seed, step: h.step };
}

function prepareOn(w: PoolWorker, req: PrepareRequest, timeoutMs: number): Promise<PrepareReply__Output> {
  return new Promise((resolve, reject) => w.client.Prepare(req, { deadline: Date.now() + timeoutMs }, (e, r) => (e || !r ? reject(e ?? new Error('empty Prepare reply')) : resolve(r))));
}

/** One shard's step on one worker: header and weights out, result and gradient back. */
function callShard(w: PoolWorker, header: TrainGradientHeader, theta: Float32Array, timeoutMs: number): Promise<ShardResult> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (f: () => void) => {
      if (!settled) {
        settled = true;
        f();
      }
    };
    const call = w.client.TrainGradient({ deadline: Date.now() + timeoutMs });
    let result: { loss: number; hasReg: boolean; reg: number; correct: number; examples: number } | null = null;
    const asm = new VectorAssembler();
    call.on('data', (r: { result?: typeof result; gradient?: Parameters<VectorAssembler['add']>[0] | null }) => {
      try {
        if (r.result) result = r.result;
        else if (r.gradient) asm.add(r.gradient);
      } catch (e) {
        call.cancel();
        settle(() => reject(e));
      }
    });
    call.on('error', (e) => settle(() => reject(e)));
    call.on('end', () =>
      settle(() => {
        if (!result || !asm.complete) return reject(new Error(`worker ${w.id} ended the TrainGradient stream before the whole gradient arrived`));
        resolve({ loss: result.loss, ...(result.hasReg ? { reg: result.reg } : {}), correct: result.correct, examples: result.examples, grad: asm.result() });
      }),
    );
    call.write({ header });
    for (const c of toChunks(theta)) call.write({ weights: c });
    call.end();
  });
}

export function clusterGradients(o: ClusterGradientOptions): GradientSource {
  return async (ctx) => {
    const { spec, model, trainData } = ctx;
    const prepare: PrepareRequest = {
      jobId: `train:${o.runDir}`,
      // The worker loads the training set exactly as packages/training does (seed 1), and the
      // model's architecture (its weights come with every step).
      spec: { model: spec.model, modelSeed: spec.modelSeed, data: trainDataSpec(spec), seed: TRAIN_DATA_SEED, convention: spec.convention },
      training: true,
    };
    await prepareAll(o, prepare, model.paramCount, trainData.shape[0]);
    await o.onReady?.();
    const provider: GradientProvider = {
      description: `cluster: ${o.pool.available().length} workers, ${o.shards} shards per minibatch`,
      gradient: async (req: StepRequest) => {
        const theta = model.getFlatParams();
        const parts = splitShards(req.indices, o.shards);
        const results = await Promise.all(parts.map((idx, j) => (idx.length === 0 ? null : runShard(o, j, req, idx, theta, prepare))));
        return combineShards(
          results.filter((r): r is ShardResult => r !== null),
          model.paramCount,
        );
      },
      close: () => Promise.resolve(),
    };
    return provider;
  };
}

/** Prepares the training data on every available worker (in parallel) and checks it matches the trainer's. */
async function prepareAll(o: ClusterGradientOptions, req: PrepareRequest, params: number, examples: number): Promise<void> {
  await o.pool.waitForAny(o.waitMs);
  const ws = o.pool.available();
  if (ws.length === 0) throw noWorkers(o, 'to prepare the training data on');
  const errors: string[] = [];
  await Promise.all(
    ws.map(async (w) => {
      try {
        const r = await prepareOn(w, req, o.callTimeoutMs);
        if (Number(r.params) !== params) throw new UserError(`worker ${w.id} built model ${req.spec?.model} with ${r.params} parameters, the trainer's has ${params}; give the workers the same model`, 'FAILED_PRECONDITION');
        if (r.totalExamples !== examples) throw new UserError(`worker ${w.id} has ${r.totalExamples} training examples for --data ${req.spec?.data}, the trainer ${examples}; give the workers the same data`, 'FAILED_PRECONDITION');
      } catch (e) {
        if (isUserError(e)) throw e;
        if (isRequestFault(e)) throw fromServiceError(e);
        errors.push(`${w.id}: ${describe(e)}`);
        o.pool.suspect(w, `Prepare failed: ${describe(e)}`);
      }
    }),
  );
  if (o.pool.available().length === 0) throw noWorkers(o, 'to prepare the training data on', errors.join('; '));
  o.log.info({ run: o.runDir, workers: o.pool.available().map((w) => w.id), shards: o.shards }, 'training data prepared on the workers');
}

function noWorkers(o: ClusterGradientOptions, what: string, last?: string): UserError {
  return new UserError(
    `Training stopped: no worker is left ${what}${last ? ` (last error: ${last})` : ''}; start workers (hessctl cluster up, or services/worker) and continue with --resume from the last checkpoint in ${o.runDir}/checkpoints.`,
    'FAILED_PRECONDITION',
  );
}

/** Shard j of a step: on worker (j + attempt) mod W, redone on another worker after a failure that is not the request's. */
async function runShard(o: ClusterGradientOptions, j: number, req: StepRequest, idx: Int32Array, theta: Float32Array, prepare: PrepareRequest): Promise<ShardResult> {
  const header: TrainGradientHeader = { prepare, indices: Array.from(idx), htr: req.htr ? toProtoHtr(req.htr) : null, run: o.runDir, step: req.step, augment: req.augment ?? null };
  const failedOn = new Set<string>();
  let last = '';
  // Bounded so that an error every worker repeats (a bug, not a lost worker) ends the run.
  const maxAttempts = Math.max(3, 2 * o.pool.available().length + 1);
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    await o.pool.waitForAny(o.waitMs);
    const ws = o.pool.available();
    if (ws.length === 0) throw noWorkers(o, `to compute shard ${j} of step ${req.step + 1}`, last);
    // Prefer a worker this shard has not failed on; the base choice spreads shards over workers.
    const fresh = ws.filter((w) => !failedOn.has(w.id));
    const choices = fresh.length > 0 ? fresh : ws;
    const w = choices[(j + attempt) % choices.length];
    try {
      const t0 = performance.now();
      const r = await callShard(w, header, theta, o.callTimeoutMs);
      if (r.examples !== idx.length) throw new Error(`worker ${w.id} answered for ${r.examples} examples, the shard has ${idx.length}`);
      o.log.debug({ step: req.step + 1, shard: j, worker: w.id, examples: idx.length, ms: performance.now() - t0 }, 'shard done');
      return r;
    } catch (e) {
      if (isRequestFault(e)) throw fromServiceError(e);
      last = `${w.id}: ${describe(e)}`;
      failedOn.add(w.id);
      o.pool.suspect(w, describe(e));
      o.log.warn({ step: req.step + 1, shard: j, worker: w.id, attempt: attempt + 1, err: describe(e) }, 'shard failed; redoing it on another worker');
    }
  }
  throw new UserError(`Training stopped: shard ${j} of step ${req.step + 1} failed ${maxAttempts} times (last error: ${last}); see the workers' logs, then continue with --resume from the last checkpoint in ${o.runDir}/checkpoints.`, 'FAILED_PRECONDITION');
}
