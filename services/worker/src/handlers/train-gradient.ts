/**
 * TrainGradient (the cluster trainer, services/trainer): a header (a PrepareRequest with
 * training = true, the shard's example indices, the step's HTR and augmentation), then the
 * weights; the worker prepares the training data when it does not hold it, runs
 * packages/training's shardGradient in the compute thread and answers the result, then the
 * gradient in chunks.
 */
import * as grpc from '@grpc/grpc-js';
import type { Convention } from '@hessian/engine';
import { UserError } from '@hessian/linalg';
import { toChunks, VectorAssembler, type TrainGradientRequest__Output, type WorkerHandlers } from '@hessian/wire';
import { callError, Cancelled, type WorkerRuntime } from '../runtime.js';

/**
 * One training step on one shard: header (training data, example indices, HTR term), then
 * the weights; answers the result, then the gradient. The call counts as a running task
 * (heartbeats, drain). A caller that gives up (deadline, cancel) ends the call; the step
 * in the compute thread runs to its end (tfjs cannot be interrupted) and is discarded.
 */
export function trainGradientHandler(rt: WorkerRuntime): WorkerHandlers['TrainGradient'] {
  return (call) => {
    let header: TrainGradientRequest__Output['header'] = null;
    let asm: VectorAssembler | null = new VectorAssembler();
    let ended = false;
    const ac = new AbortController();
    const fail = (e: unknown) => {
      if (ended) return;
      ended = true;
      rt.running.delete(ac);
      rt.counters.tasks.inc({ result: 'error' });
      rt.log.warn({ run: header?.run, step: header?.step, err: e instanceof Error ? e.message : String(e) }, 'train step failed');
      call.emit('error', callError(e));
    };
    // Drain (after its grace period) aborts running calls: the trainer redoes the shard elsewhere.
    ac.signal.addEventListener('abort', () => fail(ac.signal.reason), { once: true });
    call.on('cancelled', () => {
      ended = true;
      rt.running.delete(ac);
    });
    call.on('data', (req: TrainGradientRequest__Output) => {
      if (ended) return;
      try {
        if (!header) {
          if (!req.header) throw new UserError('TrainGradient: the first message must be the header (training data, example indices, HTR term)');
          if (rt.draining) throw new Cancelled(grpc.status.UNAVAILABLE, `worker ${rt.id} is draining`);
          header = req.header;
          rt.running.set(ac, { jobId: `train:${header.run}`, taskId: `step ${header.step}` });
          return;
        }
        if (!req.weights || !asm) throw new UserError('TrainGradient: after the header only weight chunks may follow, one vector');
        asm.add(req.weights);
        if (!asm.complete) return;
        const theta = asm.result();
        asm = null;
        void runTrainStep(rt, header, theta).then(({ result, grad }) => {
          if (ended) return;
          ended = true;
          rt.running.delete(ac);
          call.write({ result });
          for (const c of toChunks(grad)) call.write({ gradient: c });
          call.end();
          rt.counters.tasks.inc({ result: 'ok' });
          rt.counters.taskSeconds.inc({}, result.seconds);
        }, fail);
      } catch (e) {
        fail(e);
      }
    });
    call.on('end', () => {
      if (!ended && (!header || asm)) fail(new UserError('TrainGradient: the stream ended before the header and the whole weight vector arrived'));
    });
  };
}

async function runTrainStep(rt: WorkerRuntime, header: NonNullable<TrainGradientRequest__Output['header']>, theta: Float32Array): Promise<{ result: { loss: number; hasReg: boolean; reg: number; correct: number; examples: number; seconds: number }; grad: Float32Array }> {
  if (!header.prepare?.training) throw new UserError('TrainGradient: header.prepare must be a PrepareRequest with training = true');
  const { entry, hit } = await rt.engines.prepare(header.prepare);
  rt.counters.prepares.inc({ cache: hit ? 'hit' : 'miss' });
  entry.users++;
  try {
    const h = header.htr;
    const htr = h
      ? {
          gamma: h.gamma,
          probes: h.probes,
          layers: h.layers,
          convention: (h.convention || 'layer') as Convention,
          dist: (h.dist || 'rademacher') as 'rademacher' | 'gaussian',
          seed: h.seed,
          step: h.step,
        }
      : null;
    if (htr && htr.probes < 1) throw new UserError('TrainGradient: htr.probes must be at least 1');
    if (htr && htr.convention !== 'layer' && htr.convention !== 'weights-only') throw new UserError(`TrainGradient: htr.convention must be layer or weights-only, got ${JSON.stringify(htr.convention)}`);
    if (htr && htr.dist !== 'rademacher' && htr.dist !== 'gaussian') throw new UserError(`TrainGradient: htr.dist must be rademacher or gaussian, got ${JSON.stringify(htr.dist)}`);
    if (theta.length !== entry.thread.info.params) throw new UserError(`TrainGradient: ${theta.length} weights sent, but model ${entry.thread.info.modelName} has ${entry.thread.info.params} parameters`);
    const a = header.augment;
    const r = await entry.thread.train(theta, Int32Array.from(header.indices), htr, a && a.ops !== '' ? { ops: a.ops, seed: a.seed, epoch: a.epoch } : null);
    return { result: { loss: r.loss, hasReg: r.reg !== null, reg: r.reg ?? 0, correct: r.correct, examples: r.examples, seconds: r.seconds }, grad: r.grad };
  } finally {
    entry.users--;
  }
}
