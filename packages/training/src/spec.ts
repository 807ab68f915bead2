/**
 * TrainSpec: what a training run is. `normalizeTrainSpec` fills the defaults and validates
 * every field, throwing a UserError whose one sentence names the flag and what to change.
 * Stored as DIR/run.json, so a resumed run continues with exactly the same settings.
 */
import { splitTransform, withTransform, type DataTransform } from '@hessian/engine';
import { UserError } from '@hessian/linalg';
import { formatAugment, parseAugment } from './augment.js';
import { formatLayerSet, parseLayerSet, type LayerSet, type ProbeDist } from './htr.js';
import { formatSchedule, parseSchedule } from './schedule.js';

export const TRAIN_SPEC_SCHEMA = 'hessian-cluster/train-spec/v1';

export interface HtrSpec {
  /** 0 = regularizer off */
  gamma: number;
  /** Hutchinson probes K per block and step */
  probes: number;
  /** all | middle | name,name,... */
  layers: string;
  /** applied at global steps s with s % freq == 0 ... */
  freq: number;
  /** ... from the epoch with 0-based index `start` on (the paper's sp), i.e. after `start` plain epochs */
  start: number;
  dist: ProbeDist;
}

export interface TrainSpec {
  schema: typeof TRAIN_SPEC_SCHEMA;
  model: string;
  /** seed of a zoo model's initial weights */
  modelSeed: number;
  data: string;
  testData: string;
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  /** constant | step:EVERY[:FACTOR] | cosine[:MIN] */
  schedule: string;
  htr: HtrSpec;
  convention: 'layer' | 'weights-only';
  /** shuffling (per epoch) and probes (per step) derive from it */
  seed: number;
  /** zero pixels added on each side of every image, training and test (0: none) */
  pad: number;
  /** mean-std: (x - mean) / std with the training set's statistics (`stats`), training and test */
  normalize: 'none' | 'mean-std';
  /** the training set's pixel mean and standard deviation (before padding), computed when a run starts */
  stats?: { mean: number; std: number };
  /** random augmentation of training examples, drawn per epoch: '' | flip,rotate:DEG,crop:PIX (augment.ts) */
  augment: string;
}

export type PartialTrainSpec = Partial<Omit<TrainSpec, 'htr' | 'schema'>> & { model: string; htr?: Partial<HtrSpec> };

/** The paper's code: freq=50, sp=15, gamma=1e-3, K=10 (gamma defaults to 0 here: plain SGD unless asked). */
export const TRAIN_DEFAULTS = {
  data: 'fashion-mnist:train',
  testData: 'fashion-mnist:test',
  epochs: 20,
  batchSize: 128,
  lr: 0.01,
  momentum: 0.9,
  weightDecay: 0,
  schedule: 'constant',
  htr: { gamma: 0, probes: 10, layers: 'all', freq: 50, start: 15, dist: 'rademacher' as ProbeDist },
  convention: 'layer' as const,
  seed: 0,
  pad: 0,
  normalize: 'none' as const,
  augment: '',
};

function bad(flag: string, msg: string): never {
  throw new UserError(`--${flag}: ${msg}`);
}

function int(flag: string, v: unknown, min: number, max = 1e9): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(flag, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return v;
}

function num(flag: string, v: unknown, min: number, strict = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (strict && v === min))
    bad(flag, `must be a finite number ${strict ? 'above' : 'at least'} ${min}, got ${JSON.stringify(v)}`);
  return v;
}

export function normalizeTrainSpec(p: PartialTrainSpec): TrainSpec {
  if (typeof p.model !== 'string' || p.model.trim() === '') throw new UserError('--model is required: give zoo:NAME (see `hessctl models`) or the path of a model.json');
  const h = { ...TRAIN_DEFAULTS.htr, ...(p.htr ?? {}) };
  const dist = h.dist;
  if (dist !== 'rademacher' && dist !== 'gaussian') bad('htr-probe-dist', `must be rademacher or gaussian, got ${JSON.stringify(dist)}`);
  const conv = p.convention ?? TRAIN_DEFAULTS.convention;
  if (conv !== 'layer' && conv !== 'weights-only') bad('convention', `must be layer or weights-only, got ${JSON.stringify(conv)}`);
  const schedule = formatSchedule(parseSchedule(p.schedule ?? TRAIN_DEFAULTS.schedule));
  const layers = formatLayerSet(parseLayerSet(String(h.layers)));
  const normalize = p.normalize ?? TRAIN_DEFAULTS.normalize;
  if (normalize !== 'none' && normalize !== 'mean-std') bad('normalize', `must be mean-std or none, got ${JSON.stringify(normalize)}`);
  const momentum = num('momentum', p.momentum ?? TRAIN_DEFAULTS.momentum, 0);
  if (momentum >= 1) bad('momentum', `must be below 1, got ${momentum}`);
  const pipeline = (p.pad ?? 0) > 0 || normalize !== 'none';
  const str = (flag: string, v: unknown, d: string): string => {
    if (v === undefined) return d;
    if (typeof v !== 'string' || v.trim() === '') bad(flag, 'is empty; give a data spec such as fashion-mnist:train[0:1000]');
    // --pad/--normalize write the spec's options themselves; both at once would drop one.
    if (pipeline && splitTransform(v.trim()).options !== null) bad(flag, `"${v.trim()}" has its own preprocessing options; give them either as --pad/--normalize or after '?' in the data spec, not both`);
    return v.trim();
  };
  return {
    schema: TRAIN_SPEC_SCHEMA,
    model: p.model.trim(),
    modelSeed: int('model-seed', p.modelSeed ?? 0, 0, 0xffffffff),
    data: str('data', p.data, TRAIN_DEFAULTS.data),
    testData: str('test-data', p.testData, TRAIN_DEFAULTS.testData),
    epochs: int('epochs', p.epochs ?? TRAIN_DEFAULTS.epochs, 1, 100000),
    batchSize: int('batch-size', p.batchSize ?? TRAIN_DEFAULTS.batchSize, 1, 1e7),
    lr: num('lr', p.lr ?? TRAIN_DEFAULTS.lr, 0, true),
    momentum,
    weightDecay: num('weight-decay', p.weightDecay ?? TRAIN_DEFAULTS.weightDecay, 0),
    schedule,
    htr: {
      gamma: num('htr-gamma', h.gamma, 0),
      probes: int('htr-probes', h.probes, 1, 10000),
      layers,
      freq: int('htr-freq', h.freq, 1),
      start: int('htr-start', h.start, 0),
      dist,
    },
    convention: conv,
    seed: int('seed', p.seed ?? TRAIN_DEFAULTS.seed, 0, 0xffffffff),
    pad: int('pad', p.pad ?? TRAIN_DEFAULTS.pad, 0, 1000),
    normalize,
    ...(normalize === 'mean-std' && p.stats ? { stats: checkStats(p.stats) } : {}),
    augment: formatAugment(parseAugment(typeof p.augment === 'string' ? p.augment : TRAIN_DEFAULTS.augment)),
  };
}

function checkStats(s: { mean: number; std: number }): { mean: number; std: number } {
  if (!Number.isFinite(s.mean) || !Number.isFinite(s.std) || s.std <= 0) bad('normalize', `the stored statistics mean ${s.mean}, std ${s.std} are not a finite mean and a positive standard deviation`);
  return { mean: s.mean, std: s.std };
}

/** The preprocessing of a run's training and test data (pad; normalization once the statistics are known). */
export function dataTransform(spec: TrainSpec): DataTransform {
  return { pad: spec.pad ?? 0, ...(spec.normalize === 'mean-std' && spec.stats ? { normalize: spec.stats } : {}) };
}

function transformed(data: string, spec: TrainSpec): string {
  if (spec.normalize === 'mean-std' && !spec.stats) throw new Error('internal: the training statistics are computed before the data is loaded');
  const t = dataTransform(spec);
  return t.pad === 0 && !t.normalize ? data : withTransform(data, t);
}

/** The data spec the run trains on: --data with the run's padding and normalization (what workers load too). */
export function trainDataSpec(spec: TrainSpec): string {
  return transformed(spec.data, spec);
}

/** The data spec of the run's test set: --test-data with the same preprocessing as the training set. */
export function testDataSpec(spec: TrainSpec): string {
  return transformed(spec.testData, spec);
}

/** A run.json written before the data pipeline existed has no pad/normalize/augment: they were off. */
export function withPipelineDefaults(spec: TrainSpec): TrainSpec {
  return { ...spec, pad: spec.pad ?? 0, normalize: spec.normalize ?? 'none', augment: spec.augment ?? '' };
}

/** Whether the regularizer runs at global step `step` (0-based) of epoch index `epoch` (0-based). */
export function htrActive(spec: TrainSpec, epoch: number, step: number): boolean {
  return spec.htr.gamma > 0 && epoch >= spec.htr.start && step % spec.htr.freq === 0;
}

/**
 * A sentence when the regularizer is asked for (gamma > 0) but will never run in this run:
 * it starts at epoch index `start` and the run's epochs are 0 .. epochs-1 (`--htr-start`
 * defaults to the paper's 15, longer than a short run). null when it runs, or is off.
 */
export function htrWillNotRun(spec: TrainSpec): string | null {
  if (spec.htr.gamma <= 0 || spec.htr.start < spec.epochs) return null;
  return `HTR starts at epoch ${spec.htr.start} (--htr-start) but the run has ${spec.epochs} epoch${spec.epochs === 1 ? '' : 's'}: the regularizer (--htr-gamma ${spec.htr.gamma}) will not run; set --htr-start below ${spec.epochs} (0: from the first epoch)`;
}

export type { LayerSet };
