/**
 * Where a training step's gradient comes from. The loop (trainer.ts) is the same for the
 * embedded trainer and the cluster trainer (services/trainer); only the `GradientProvider`
 * differs: the embedded one computes the minibatch in this process, the cluster one sends
 * the weights and shards of the minibatch to workers, which call `shardGradient` (this
 * module) on their shard, and sums the replies weighted by shard size.
 *
 * Both sides use `shardGradient` and `htrTerm`, so a one-shard cluster step computes exactly
 * what the embedded step computes (same ops, same probes, same order).
 */
import { tf } from '@hessian/engine';
import { loadDataset, parseDataSpec, type Dataset, type Model } from '@hessian/engine';
import { deriveSeed, Rng, UserError } from '@hessian/linalg';
import { Augmenter, type AugmentStep } from './augment.js';
import { drawProbes, flattenGrads, makeInput, objective, parseLayerSet, selectBlocks, type HtrBlock, type HtrTerm, type ProbeDist } from './htr.js';
import type { TrainSpec } from './spec.js';

/** What the workers need to rebuild a step's HTR term (the probes are drawn there from the seed). */
export interface HtrStepSpec {
  gamma: number;
  probes: number;
  /** all | middle | name,name,... */
  layers: string;
  convention: 'layer' | 'weights-only';
  dist: ProbeDist;
  /** the run's seed: probes of global step s come from Rng(deriveSeed(seed, 'htr/s')) */
  seed: number;
  /** global step, 0-based */
  step: number;
}

/** The HTR term of one step: the same probes wherever it is built (embedded, or on every shard's worker). */
export function htrTerm(blocks: HtrBlock[], h: HtrStepSpec): HtrTerm {
  return { blocks, probes: drawProbes(blocks, h.probes, h.dist, new Rng(deriveSeed(h.seed, `htr/${h.step}`))), gamma: h.gamma };
}

/** The HTR settings of global step `step` of a run. */
export function htrStepSpec(spec: TrainSpec, step: number): HtrStepSpec {
  return { gamma: spec.htr.gamma, probes: spec.htr.probes, layers: spec.htr.layers, convention: spec.convention, dist: spec.htr.dist, seed: spec.seed, step };
}

/** Blocks of a layer set, cached per (layers, convention): a worker serves many steps of one run. */
export class BlockCache {
  private cache = new Map<string, HtrBlock[]>();
  constructor(private readonly model: Model) {}
  get(layers: string, convention: 'layer' | 'weights-only'): HtrBlock[] {
    const k = `${convention}\n${layers}`;
    let b = this.cache.get(k);
    if (!b) {
      b = selectBlocks(this.model, parseLayerSet(layers), convention);
      this.cache.set(k, b);
    }
    return b;
  }
}

/** A shard's (or a whole minibatch's) result: mean quantities over its examples. */
export interface ShardResult {
  /** mean cross-entropy over the examples */
  loss: number;
  /** the regularizer's value (before gamma) when an HTR term was given */
  reg?: number;
  correct: number;
  examples: number;
  /** gradient of mean CE + gamma * reg, model.params order */
  grad: Float32Array;
}

/** An augmentation to apply to a shard's examples: the data set's augmenter and the step's draws. */
export interface ShardAugment {
  augmenter: Augmenter;
  step: AugmentStep;
}

/** Loss, regularizer and gradient of CE + gamma * HTR on examples `idx` of `data` (augmented when asked), at the model's current weights. */
export async function shardGradient(model: Model, data: Dataset, idx: ArrayLike<number>, term?: HtrTerm, augment?: ShardAugment): Promise<ShardResult> {
  const input = makeInput(data, model.inputShape, model.outputSize, idx, augment ? (xs) => augment.augmenter.apply(augment.step, idx, xs) : undefined);
  let r;
  try {
    r = await objective(model, input, term);
  } finally {
    tf.dispose([input.x, input.y]);
  }
  try {
    return { loss: r.loss, ...(r.reg !== undefined ? { reg: r.reg } : {}), correct: r.correct, examples: idx.length, grad: await flattenGrads(model, r.grads) };
  } finally {
    tf.dispose(r.grads);
  }
}

/** One step's request to a provider. */
export interface StepRequest {
  /** 0-based epoch index and global step */
  epoch: number;
  step: number;
  /** the minibatch: indices into the training set, in order */
  indices: Int32Array;
  /** the step's HTR settings; null: plain CE */
  htr: HtrStepSpec | null;
  /** the step's augmentation (the epoch's draws); null or absent: none */
  augment?: AugmentStep | null;
}

/** A provider of minibatch gradients at the model's current weights (the loop sets them before each step). */
export interface GradientProvider {
  /** for the start line, e.g. '3 workers, 3 shards' (default 'embedded') */
  readonly description?: string;
  gradient(req: StepRequest): Promise<ShardResult>;
  close(): Promise<void>;
}

/** What a provider may use: the loop's model (current weights), blocks and training data. */
export interface GradientContext {
  spec: TrainSpec;
  model: Model;
  blocks: HtrBlock[];
  trainData: Dataset;
}

export type GradientSource = (ctx: GradientContext) => Promise<GradientProvider>;

/** The embedded provider: the whole minibatch in this process. */
export const embeddedGradients: GradientSource = (ctx) => {
  const augmenter = new Augmenter(ctx.trainData);
  return Promise.resolve({
    gradient: (req: StepRequest) =>
      shardGradient(ctx.model, ctx.trainData, req.indices, req.htr ? htrTerm(ctx.blocks, req.htr) : undefined, req.augment ? { augmenter, step: req.augment } : undefined),
    close: () => Promise.resolve(),
  });
};

/**
 * A training or test set, checked against the model (one UserError naming the flag when it
 * does not fit). The training set uses seed 1 and the test set seed 2 (synthetic: same rule,
 * other examples); workers load the training set with this same function.
 */
export async function loadTrainingData(spec: string, model: Model, seed: number, root: string | undefined, flag: string): Promise<Dataset> {
  // Synthetic images are generated at the size before the spec's padding.
  const pad = parseDataSpec(spec).transform?.pad ?? 0;
  const s = model.inputShape;
  const inputShape = pad > 0 && s.length === 3 && s[0] > 2 * pad && s[1] > 2 * pad ? [s[0] - 2 * pad, s[1] - 2 * pad, s[2]] : s;
  const data = await loadDataset(spec, { seed, inputShape, numClasses: model.outputSize, ...(root ? { root } : {}) });
  const want = model.inputShape.reduce((a, b) => a * b, 1);
  const got = data.shape.slice(1).reduce((a, b) => a * b, 1);
  if (want !== got)
    throw new UserError(
      `--${flag}: examples of shape [${data.shape.slice(1).join(', ')}]${pad > 0 ? ` (padded by ${pad})` : ''} do not fit model input [${model.inputShape.join(', ')}]; ${pad > 0 ? 'give a model for the padded size (zoo:lenet-32 for Fashion-MNIST with --pad 2) or change --pad' : 'choose data made for this model'}`,
    );
  const maxLabel = data.labels.reduce((m, l) => Math.max(m, l), 0);
  if (maxLabel >= model.outputSize) throw new UserError(`--${flag}: label ${maxLabel} is out of range for a model with ${model.outputSize} outputs; choose data made for this model`);
  return data;
}

/** Seeds of the two data sets (documented in the README: synthetic data differs by seed only). */
export const TRAIN_DATA_SEED = 1;
export const TEST_DATA_SEED = 2;
