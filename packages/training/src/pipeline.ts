/**
 * The statistics of `--normalize mean-std`: the pixel mean and standard deviation of the
 * training set (every value of every example, before padding, float64), computed once when a
 * run starts and stored in its run.json, so the test set, a resumed run, the workers and the
 * sweeps all normalize with the same two numbers.
 */
import { loadDataset, meanStd, type Model } from '@hessian/engine';
import { TRAIN_DATA_SEED } from './gradient.js';
import type { TrainSpec } from './spec.js';

/** The spec with `stats` filled in when it normalizes and has none yet. */
export async function withDataStats(spec: TrainSpec, model: Model, root?: string): Promise<TrainSpec> {
  if (spec.normalize !== 'mean-std' || spec.stats) return spec;
  const shape = model.inputShape.length === 3 && spec.pad > 0 ? [model.inputShape[0] - 2 * spec.pad, model.inputShape[1] - 2 * spec.pad, model.inputShape[2]] : model.inputShape;
  const data = await loadDataset(spec.data, { seed: TRAIN_DATA_SEED, inputShape: shape, numClasses: model.outputSize, ...(root ? { root } : {}) });
  return { ...spec, stats: meanStd(data.x) };
}
