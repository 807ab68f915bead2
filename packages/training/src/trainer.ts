/**
 * The training loop: minibatch SGD (momentum, weight decay, schedule) on CE + gamma * HTR,
 * checkpoints every epoch, a JSON-lines metrics log, resume, the NaN stop. One loop for the
 * embedded and the cluster trainer: only `TrainOptions.gradients` (gradient.ts) differs.
 *
 * Run folder:
 *   run.json                      the TrainSpec (a resumed run uses it, not new flags)
 *   metrics.jsonl                 {kind:'step'|'epoch'|'start'|'stopped', ...} one per line
 *   checkpoints/epoch-NNN/        NNN = epochs completed; epoch-000 = the initial weights
 *
 * Determinism: the shuffle of epoch e uses Rng(deriveSeed(seed, 'shuffle/e')), the probes
 * of global step s Rng(deriveSeed(seed, 'htr/s')); with the weights and the momentum buffer
 * restored bit for bit, a resumed run computes exactly what an uninterrupted one does.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { tf } from '@hessian/engine';
import { initBackend, loadModel, lossSum, modelNeedsConv, type BackendName, type Dataset, type Model } from '@hessian/engine';
import { deriveSeed, Rng, UserError } from '@hessian/linalg';
import { writeFileAtomic } from '@hessian/report';
import {
  checkpointName,
  cleanTemporary,
  latestCheckpoint,
  readState,
  STATE_SCHEMA,
  writeCheckpoint,
  type CheckpointHooks,
  type EpochMetrics,
  type TrainState,
} from './checkpoint.js';
import { embeddedGradients, htrStepSpec, loadTrainingData, TEST_DATA_SEED, TRAIN_DATA_SEED, type GradientSource, type ShardResult } from './gradient.js';
import { makeInput, parseLayerSet, selectBlocks, type HtrBlock } from './htr.js';
import { Sgd } from './optimizer.js';
import { learningRate, parseSchedule } from './schedule.js';
import { checkAugment, parseAugment } from './augment.js';
import { withDataStats } from './pipeline.js';
import { htrActive, testDataSpec, trainDataSpec, TRAIN_SPEC_SCHEMA, withPipelineDefaults, type TrainSpec } from './spec.js';

export interface TrainProgress {
  /** 1-based epoch being trained */
  epoch: number;
  epochs: number;
  /** steps done in this epoch */
  step: number;
  stepsPerEpoch: number;
  globalStep: number;
  loss: number;
  /** last regularizer value computed (null: none yet) */
  reg: number | null;
  /** running training accuracy of this epoch */
  acc: number;
  /** test accuracy after the last completed epoch (null before the first) */
  testAcc: number | null;
  lr: number;
  elapsedSeconds: number;
  etaSeconds: number | null;
}

export interface TrainOptions {
  backend?: BackendName;
  /** stop after this many epochs in this session (an interruption, for tests) */
  maxEpochs?: number;
  onStart?: (info: StartInfo) => void;
  onProgress?: (p: TrainProgress) => void;
  onEpoch?: (m: EpochMetrics) => void;
  hooks?: CheckpointHooks;
  /** Fashion-MNIST folder etc. */
  dataRoot?: string;
  /**
   * Where the minibatch gradients come from (default: this process). The cluster trainer
   * (services/trainer) passes one that asks workers; everything else in the loop is shared.
   */
  gradients?: GradientSource;
}

export interface StartInfo {
  backend: string;
  backendDetail: string;
  params: number;
  examples: number;
  testExamples: number;
  startEpoch: number;
  blocks: string[];
  /** where gradients are computed: 'embedded' or the provider's description (workers, shards) */
  gradients: string;
}

export interface TrainResult {
  runDir: string;
  /** epochs completed in total */
  epochs: number;
  steps: number;
  metrics: EpochMetrics[];
  lastCheckpoint: string;
  seconds: number;
}

export const RUN_FILE = 'run.json';
export const METRICS_FILE = 'metrics.jsonl';

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

/** Mean CE and accuracy of the model on a data set (forward in chunks). */
export async function evaluate(model: Model, data: Dataset, chunk = 1000): Promise<{ loss: number; acc: number }> {
  const n = data.shape[0];
  let loss = 0;
  let correct = 0;
  for (let s = 0; s < n; s += chunk) {
    const m = Math.min(chunk, n - s);
    const idx = Int32Array.from({ length: m }, (_, i) => s + i);
    const input = makeInput(data, model.inputShape, model.outputSize, idx);
    const [l, c] = tf.tidy(() => {
      const logits = model.forward(model.paramTensors(), input.x) as tf.Tensor2D;
      const ls = lossSum('cross-entropy', logits, input.y, n);
      const cc = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(input.y, 1)), 'int32'));
      return [ls, cc];
    });
    loss += (await l.data())[0];
    correct += (await c.data())[0];
    tf.dispose([l, c, input.x, input.y]);
  }
  return { loss, acc: correct / n };
}

function allFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

/** Starts a new run in runDir (which must not hold one). */
export async function train(spec: TrainSpec, runDir: string, opts: TrainOptions = {}): Promise<TrainResult> {
  if ((await latestCheckpoint(runDir)) !== null) {
    throw new UserError(`--out ${runDir} already holds a training run; pass --resume to continue it, or choose another --out folder.`, 'FAILED_PRECONDITION');
  }
  // run.json without any checkpoint: a start that died before its initial checkpoint (epoch-000)
  // was written. Nothing was trained, so starting again is lossless; without this a restarted
  // trainer pod could neither resume (no checkpoint) nor start (folder taken).
  if (await exists(path.join(runDir, RUN_FILE))) {
    await fs.rm(path.join(runDir, RUN_FILE), { force: true });
    await fs.rm(path.join(runDir, METRICS_FILE), { force: true });
  }
  parseSchedule(spec.schedule);
  parseLayerSet(spec.htr.layers);
  const info = await initBackend(opts.backend, { needsConv: modelNeedsConv(spec.model) });
  const model = await loadModel(spec.model, { seed: spec.modelSeed });
  try {
    return await loop(await withDataStats(withPipelineDefaults(spec), model, opts.dataRoot), runDir, model, null, null, info, opts);
  } finally {
    model.dispose();
  }
}

/** Reads a run's spec (run.json). */
export async function readRunSpec(runDir: string): Promise<TrainSpec> {
  let spec: TrainSpec;
  try {
    spec = JSON.parse(await fs.readFile(path.join(runDir, RUN_FILE), 'utf8')) as TrainSpec;
  } catch {
    throw new UserError(`--run/--out ${runDir} holds no training run (no readable ${RUN_FILE}); give the --out folder of a hessctl train run.`, 'NOT_FOUND');
  }
  if (spec.schema !== TRAIN_SPEC_SCHEMA) throw new UserError(`${path.join(runDir, RUN_FILE)} has schema ${JSON.stringify(spec.schema)}, expected ${TRAIN_SPEC_SCHEMA}.`, 'FAILED_PRECONDITION');
  return withPipelineDefaults(spec);
}

/**
 * Continues the run in runDir from its last complete checkpoint. `epochs` may raise the
 * total number of epochs (recorded in run.json); everything else comes from run.json.
 */
export async function resume(runDir: string, opts: TrainOptions & { epochs?: number } = {}): Promise<TrainResult> {
  const saved = await readRunSpec(runDir);
  const spec: TrainSpec = { ...saved, epochs: opts.epochs ?? saved.epochs };
  const last = await latestCheckpoint(runDir);
  if (!last) throw new UserError(`Run ${runDir} has no complete checkpoint to resume from; start it again without --resume in a new --out folder.`, 'FAILED_PRECONDITION');
  await cleanTemporary(runDir);
  const { state, momentum } = await readState(last.dir);
  if (state.epoch >= spec.epochs) {
    throw new UserError(`Run ${runDir} already completed ${state.epoch} of ${spec.epochs} epochs; pass a larger --epochs to train on.`, 'FAILED_PRECONDITION');
  }
  if (spec.epochs !== saved.epochs) await writeFileAtomic(path.join(runDir, RUN_FILE), JSON.stringify(spec, null, 1) + '\n');
  const info = await initBackend(opts.backend, { needsConv: modelNeedsConv(spec.model) });
  const model = await loadModel(last.dir);
  try {
    // Metrics past the checkpoint belong to the lost part of the interrupted session.
    const file = path.join(runDir, METRICS_FILE);
    const text = (await exists(file)) ? await fs.readFile(file, 'utf8') : '';
    const kept = text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .filter((l) => {
        try {
          const r = JSON.parse(l) as { kind: string; step?: number; epoch?: number };
          if (r.kind === 'step') return (r.step ?? 0) <= state.step;
          if (r.kind === 'epoch') return (r.epoch ?? 0) <= state.epoch;
          return r.kind === 'start';
        } catch {
          return false;
        }
      });
    await writeFileAtomic(file, kept.map((l) => l + '\n').join(''));
    return await loop(spec, runDir, model, state, momentum, info, opts);
  } finally {
    model.dispose();
  }
}

async function loop(
  spec: TrainSpec,
  runDir: string,
  model: Model,
  state: TrainState | null,
  momentum: Float32Array | null,
  info: { name: string; detail: string },
  opts: TrainOptions,
): Promise<TrainResult> {
  const schedule = parseSchedule(spec.schedule);
  const blocks: HtrBlock[] = selectBlocks(model, parseLayerSet(spec.htr.layers), spec.convention);
  const trainData = await loadTrainingData(trainDataSpec(spec), model, TRAIN_DATA_SEED, opts.dataRoot, 'data');
  const testData = await loadTrainingData(testDataSpec(spec), model, TEST_DATA_SEED, opts.dataRoot, 'test-data');
  checkAugment(parseAugment(spec.augment), trainData);
  const n = trainData.shape[0];
  const stepsPerEpoch = Math.ceil(n / spec.batchSize);
  const sgd = new Sgd(model.paramCount, { momentum: spec.momentum, weightDecay: spec.weightDecay });
  if (momentum) {
    if (momentum.length !== model.paramCount) throw new UserError(`Checkpoint momentum buffer has ${momentum.length} entries but the model has ${model.paramCount} parameters; the checkpoint is damaged.`, 'FAILED_PRECONDITION');
    sgd.buf = momentum;
  }
  let epoch = state?.epoch ?? 0;
  let step = state?.step ?? 0;
  const metrics: EpochMetrics[] = state ? state.metrics.slice() : [];
  const priorSeconds = state?.seconds ?? 0;
  const metricsFile = path.join(runDir, METRICS_FILE);
  let pending: string[] = [];
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    await fs.appendFile(metricsFile, text);
  };
  const t0 = performance.now();
  const seconds = (): number => priorSeconds + (performance.now() - t0) / 1000;
  const makeState = (): TrainState => ({ schema: STATE_SCHEMA, epoch, step, seed: spec.seed, momentum: sgd.buf !== null, seconds: seconds(), metrics, spec });

  // Created before a new run writes anything: a cluster provider that finds no worker (or a
  // worker that refuses the spec) fails here and leaves --out free for a corrected retry.
  const provider = await (opts.gradients ?? embeddedGradients)({ spec, model, blocks, trainData });
  let lastCheckpoint = path.join(runDir, 'checkpoints', checkpointName(epoch));
  const sessionStartStep = step;
  const stopAt = opts.maxEpochs !== undefined ? Math.min(spec.epochs, epoch + opts.maxEpochs) : spec.epochs;
  let lastReg: number | null = null;
  let lastTestAcc = metrics.length ? metrics[metrics.length - 1].testAcc : null;
  try {
    opts.onStart?.({
      gradients: provider.description ?? 'embedded',
      backend: info.name,
      backendDetail: info.detail,
      params: model.paramCount,
      examples: n,
      testExamples: testData.shape[0],
      startEpoch: epoch,
      blocks: blocks.map((b) => b.name),
    });
    pending.push(JSON.stringify({ kind: 'start', epoch, step, backend: info.name, resumed: state !== null, time: new Date().toISOString() }) + '\n');
    if (!state) {
      await fs.mkdir(runDir, { recursive: true });
      await writeFileAtomic(path.join(runDir, RUN_FILE), JSON.stringify(spec, null, 1) + '\n');
      await fs.writeFile(path.join(runDir, METRICS_FILE), '');
      lastCheckpoint = await writeCheckpoint(runDir, model, null, makeState(), opts.hooks);
    }
    while (epoch < stopAt) {
      const lr = learningRate(schedule, spec.lr, epoch, spec.epochs);
      const perm = new Rng(deriveSeed(spec.seed, `shuffle/${epoch}`)).permutation(n);
      let lossSumEpoch = 0;
      let correct = 0;
      let seen = 0;
      let regSum = 0;
      let regSteps = 0;
      for (let b = 0; b < stepsPerEpoch; b++) {
        const idx = perm.subarray(b * spec.batchSize, Math.min(n, (b + 1) * spec.batchSize));
        // The provider computes at the model's current weights (embedded: this model; cluster: sent to the workers).
        const r: ShardResult = await provider.gradient({
          epoch,
          step,
          indices: idx,
          htr: htrActive(spec, epoch, step) ? htrStepSpec(spec, step) : null,
          augment: spec.augment ? { ops: spec.augment, seed: spec.seed, epoch } : null,
        });
        const g = r.grad;
        const where = `epoch ${epoch + 1}, step ${step + 1} (lr ${+lr.toPrecision(6)})`;
        const bad = !Number.isFinite(r.loss)
          ? `the loss became ${r.loss}`
          : r.reg !== undefined && !Number.isFinite(r.reg)
            ? `the Hessian-trace regularizer became ${r.reg}`
            : !allFinite(g)
              ? 'the gradient became non-finite'
              : null;
        const theta = model.getFlatParams();
        let stop = bad;
        if (!stop) {
          sgd.step(theta, g, lr);
          if (!allFinite(theta)) stop = 'the weights became non-finite after the update';
        }
        if (stop) {
          pending.push(JSON.stringify({ kind: 'stopped', epoch: epoch + 1, step: step + 1, reason: stop, seconds: seconds() }) + '\n');
          await flush();
          throw new UserError(
            `Training stopped: ${stop} at ${where}; the last good checkpoint is ${lastCheckpoint} (lower --lr${spec.htr.gamma > 0 ? ' or --htr-gamma' : ''} and train again from it with --model ${path.join(lastCheckpoint, 'model.json')}).`,
            'FAILED_PRECONDITION',
          );
        }
        model.setFlatParams(theta);
        step++;
        const m = idx.length;
        lossSumEpoch += r.loss * m;
        correct += r.correct;
        seen += m;
        if (r.reg !== undefined) {
          lastReg = r.reg;
          regSum += r.reg;
          regSteps++;
        }
        pending.push(
          JSON.stringify({ kind: 'step', step, epoch: epoch + 1, loss: r.loss, ...(r.reg !== undefined ? { reg: r.reg } : {}), acc: r.correct / m, lr, seconds: seconds() }) + '\n',
        );
        if (pending.length >= 50) await flush();
        if (opts.onProgress) {
          const done = step - sessionStartStep;
          const remaining = (stopAt - epoch) * stepsPerEpoch - (b + 1);
          const el = (performance.now() - t0) / 1000;
          opts.onProgress({
            epoch: epoch + 1,
            epochs: spec.epochs,
            step: b + 1,
            stepsPerEpoch,
            globalStep: step,
            loss: r.loss,
            reg: lastReg,
            acc: correct / seen,
            testAcc: lastTestAcc,
            lr,
            elapsedSeconds: el,
            etaSeconds: done > 0 ? (el / done) * remaining : null,
          });
        }
      }
      epoch++;
      const test = await evaluate(model, testData);
      lastTestAcc = test.acc;
      const em: EpochMetrics = {
        kind: 'epoch',
        epoch,
        step,
        lr,
        trainLoss: lossSumEpoch / seen,
        trainAcc: correct / seen,
        testLoss: test.loss,
        testAcc: test.acc,
        reg: regSteps ? regSum / regSteps : null,
        regSteps,
        seconds: seconds(),
      };
      metrics.push(em);
      pending.push(JSON.stringify(em) + '\n');
      await flush();
      lastCheckpoint = await writeCheckpoint(runDir, model, sgd.buf, makeState(), opts.hooks);
      opts.onEpoch?.(em);
    }
  } finally {
    await flush().catch(() => undefined);
    await provider.close();
  }
  return { runDir, epochs: epoch, steps: step, metrics, lastCheckpoint, seconds: seconds() };
}
