/**
 * What the experiment runs: the four configurations, the paper's numbers, the three presets
 * (`paper`, the authors' protocol and the default; `short`, the former 6-epoch default;
 * `quick`, the smoke run of the tests) and the flags that override them.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { UserError } from '@hessian/linalg';

export const CONFIGS = ['sgd', 'l2', 'htr', 'htr-middle'] as const;
export type Config = (typeof CONFIGS)[number];

export const CONFIG_LABELS: Record<Config, { label: string; short: string; color: string }> = {
  sgd: { label: 'SGD', short: 'SGD', color: '#1f77b4' },
  l2: { label: 'SGD + L2 (weight decay)', short: 'SGD+L2', color: '#ff7f0e' },
  htr: { label: 'SGD + HTR (all layers)', short: 'SGD+HTR', color: '#2ca02c' },
  'htr-middle': { label: 'SGD + HTR (middle layers)', short: 'SGD+HTR mid', color: '#d62728' },
};

/**
 * The authors' code README (LeNet + FashionMNIST, test error in %, mean +- sd over 3 reruns).
 * No number is given there for HTR on the middle layers of LeNet on Fashion-MNIST.
 */
export const PAPER: Record<Config, { mean: number; sd: number } | null> = {
  sgd: { mean: 5.43, sd: 0.1 },
  l2: { mean: 5.41, sd: 0.16 },
  htr: { mean: 4.78, sd: 0.15 },
  'htr-middle': null,
};

/** The paper's row for a config, when the runs are LeNet (the authors' numbers are for LeNet only). */
export function paperRow(S: { model: string }, c: Config): { mean: number; sd: number } | null {
  return S.model.startsWith('zoo:lenet') ? PAPER[c] : null;
}

export type Preset = 'paper' | 'short' | 'quick' | 'depth';

/** The network's name for titles: LeNet for the paper's presets, VGG-11 for the depth one, else the spec. */
export function modelName(model: string): string {
  if (/^zoo:lenet/.test(model)) return 'LeNet';
  const vgg = /^zoo:vgg11(?:\?.*\bwidth=([0-9.]+))?/.exec(model);
  if (vgg) return vgg[1] && Number(vgg[1]) !== 1 ? `VGG-11 (width x${vgg[1]})` : 'VGG-11';
  return model;
}

export interface Settings {
  preset: Preset;
  out: string;
  work: string;
  configs: Config[];
  seeds: number[];
  model: string;
  trainData: string;
  testData: string;
  pad: number;
  normalize: 'none' | 'mean-std';
  augment: string;
  epochs: number;
  /** epochs of the htr-middle config (the authors: 40) */
  epochsMiddle: number;
  batchSize: number;
  lr: number;
  momentum: number;
  schedule: string;
  weightDecay: number;
  gamma: number;
  htrProbes: number;
  htrFreq: number;
  htrStart: number;
  /** HTR start of the htr-middle config (the authors: 20) */
  htrStartMiddle: number;
  convention: 'layer' | 'weights-only';
  backend: string;
  parallel: number;
  /** analyze checkpoints 0, every, 2*every, ... (and the last) */
  sweepEvery: number;
  sweepData: string;
  sweepPerClass: number;
  sweepProbes: number;
  sweepLanczos: number;
  densityRuns: number;
  densityGrid: number;
  sweep: boolean;
  /** delete checkpoints no sweep needs, keeping the latest (for committing a resumable state) */
  prune: boolean;
  /** no training or analysis: the report of what --work holds */
  reportOnly: boolean;
  /** no training: analyze the sweep checkpoints the runs have so far (e.g. beside a training process) */
  sweepOnly: boolean;
  /** this process trains and sweeps one CONFIG:SEED (a --parallel child) */
  child: { config: Config; seed: number } | null;
}

/** experiments/paper-fmnist (this file is dist/src/protocol.js there) */
export const HERE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

type PresetSettings = Omit<Settings, 'out' | 'work' | 'backend' | 'parallel' | 'sweep' | 'prune' | 'reportOnly' | 'sweepOnly' | 'child' | 'preset'>;

// The authors' README command for LeNet + FashionMNIST, with their data pipeline. The other
// presets say only how they differ from it (its key order is the one results.json shows).
const PAPER_PRESET: PresetSettings = {
  configs: [...CONFIGS],
  seeds: [0, 1, 2, 3, 4],
  model: 'zoo:lenet-32',
  trainData: 'fashion-mnist:train',
  testData: 'fashion-mnist:test',
  pad: 2,
  normalize: 'mean-std',
  augment: 'flip,rotate:15',
  epochs: 30,
  epochsMiddle: 40,
  batchSize: 256,
  lr: 0.01,
  momentum: 0.9,
  schedule: 'milestones:10,20:0.25',
  weightDecay: 1e-4,
  gamma: 1e-3,
  htrProbes: 10,
  htrFreq: 50,
  htrStart: 10,
  htrStartMiddle: 20,
  convention: 'layer',
  sweepEvery: 5,
  sweepData: 'fashion-mnist:train',
  sweepPerClass: 10,
  sweepProbes: 50,
  sweepLanczos: 60,
  densityRuns: 2,
  densityGrid: 1000,
};

const PRESETS: Record<Preset, PresetSettings> = {
  paper: PAPER_PRESET,
  // The former default of run.mjs: 6 epochs, no pipeline, HTR after 2 epochs.
  short: {
    ...PAPER_PRESET,
    seeds: [0, 1, 2],
    model: 'zoo:lenet',
    pad: 0,
    normalize: 'none',
    augment: '',
    epochs: 6,
    epochsMiddle: 6,
    batchSize: 128,
    schedule: 'constant',
    weightDecay: 5e-4,
    htrStart: 2,
    htrStartMiddle: 2,
    sweepEvery: 2,
  },
  // Smoke run: the paper's pipeline on 256 examples, one epoch, HTR at every step.
  quick: {
    ...PAPER_PRESET,
    seeds: [0, 1],
    trainData: 'fashion-mnist:train[0:256]',
    testData: 'fashion-mnist:test[0:256]',
    epochs: 1,
    epochsMiddle: 1,
    batchSize: 64,
    schedule: 'constant',
    htrProbes: 1,
    htrFreq: 1,
    htrStart: 0,
    htrStartMiddle: 0,
    sweepEvery: 1,
    sweepData: 'fashion-mnist:train[0:256]',
    sweepPerClass: 1,
    sweepProbes: 2,
    sweepLanczos: 6,
    densityRuns: 1,
    densityGrid: 100,
  },
  // Issue 15 item 4: the ESD-distance-vs-depth profile on a deeper network (VGG-11 at 1/8 width,
  // 9 parameterized layers), plain SGD with the paper's pipeline.
  depth: {
    ...PAPER_PRESET,
    configs: ['sgd'],
    seeds: [0, 1, 2],
    model: 'zoo:vgg11?width=0.125&input=32x32x1',
    epochs: 15,
    epochsMiddle: 15,
    batchSize: 128,
    schedule: 'milestones:10:0.25',
    htrStart: 5,
    htrStartMiddle: 5,
  },
};

export const HELP = `node experiments/paper-fmnist/dist/src/main.js [flags]

LeNet on Fashion-MNIST (arXiv:2012.03801): SGD, SGD+L2, SGD+HTR (all layers), SGD+HTR (middle
layers), several seeds each, every run swept through the Hessian analysis at every
--sweep-every-th checkpoint; writes REPORT.md (claims, verdicts, numbers), results.json and SVGs.
Resumable: rerun the same command; --report-only rewrites the report from what --work holds.

  --preset P           paper (default: the authors' protocol) | short (6 epochs) | quick (smoke)
                       | depth (VGG-11 at 1/8 width, SGD: the ESD-distance-vs-depth profile)
  --quick              = --preset quick
  --out DIR            report folder (default experiments/paper-fmnist/results-PRESET)
  --work DIR           runs and sweeps (default OUT/work)
  --configs LIST       subset of ${CONFIGS.join(',')}
  --model SPEC         (paper: zoo:lenet-32; depth: zoo:vgg11?width=0.125&input=32x32x1)
  --train-data SPEC    --test-data SPEC
  --seeds LIST         e.g. 0,1,2,3,4 (seed s: initial weights, data order, augmentation, probes)
  --epochs N           (paper: 30)        --epochs-middle N  htr-middle epochs (paper: 40)
  --batch-size N       --lr X   --momentum X   --schedule S   --weight-decay X (the L2 config)
  --gamma X            --htr-probes K   --htr-freq N   --htr-start E   --htr-start-middle E
  --backend B          auto | native | cpu | wasm | webgpu (default auto or $HESSIAN_BACKEND)
  --parallel P         P runs at once in child processes (default 1)
  --sweep-every N      analyze checkpoints 0, N, 2N, ... and the last (paper preset: 5)
  --sweep-per-class K  analysis examples per class (paper: 10)   --sweep-probes N (Hutchinson, 50)
  --sweep-lanczos N    Lanczos steps, top-1 and SLQ (60)          --density-runs N (SLQ runs, 2)
  --no-sweep           train only
  --prune              delete checkpoints no sweep needs (keeps the latest: resumable, small)
  --report-only        no training or analysis; the report says how far each run got
  --sweep-only         no training: analyze the sweep checkpoints the runs have so far
  -h, --help
`;

function num(values: Record<string, string | boolean | undefined>, name: string, dflt: number, int = false, min = -Infinity): number {
  const v = values[name];
  if (v === undefined || typeof v === 'boolean') return dflt;
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || (int && !Number.isInteger(x)) || x < min)
    throw new UserError(`--${name}: expected ${int ? 'a whole number' : 'a number'}${min > -Infinity ? ` >= ${min}` : ''}, got ${JSON.stringify(v)}`);
  return x;
}

function list(v: string | boolean | undefined, name: string, dflt: number[]): number[] {
  if (v === undefined || typeof v === 'boolean') return dflt;
  const parts = v.split(',').map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) throw new UserError(`--${name}: "${v}" is not a comma-separated list of whole numbers, e.g. 0,1,2`);
  return [...new Set(parts.map(Number))];
}

const STRING_FLAGS = ['preset', 'out', 'work', 'configs', 'model', 'train-data', 'test-data', 'seeds', 'epochs', 'epochs-middle', 'batch-size', 'lr', 'momentum', 'schedule', 'weight-decay', 'gamma', 'htr-probes', 'htr-freq', 'htr-start', 'htr-start-middle', 'backend', 'parallel', 'sweep-every', 'sweep-per-class', 'sweep-probes', 'sweep-lanczos', 'density-runs', 'child'] as const;
const BOOL_FLAGS = ['quick', 'no-sweep', 'prune', 'report-only', 'sweep-only', 'help'] as const;

/** Parses the command line; null when --help was asked. */
export function parseSettings(argv: string[]): Settings | null {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const f of STRING_FLAGS) options[f] = { type: 'string' };
  for (const f of BOOL_FLAGS) options[f] = { type: 'boolean' };
  options.help.short = 'h';
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options, allowPositionals: false }).values;
  } catch (e) {
    throw new UserError(`${(e as Error).message}; see --help`);
  }
  if (values.help) return null;
  const presetName = values.quick ? 'quick' : ((values.preset as string | undefined) ?? 'paper');
  if (!(presetName in PRESETS)) throw new UserError(`--preset: must be paper, short, quick or depth, got ${JSON.stringify(presetName)}`);
  const preset = presetName as Preset;
  const d = PRESETS[preset];
  const configs = typeof values.configs === 'string' ? [...new Set(values.configs.split(',').map((s) => s.trim()))] : [...d.configs];
  for (const c of configs) if (!(CONFIGS as readonly string[]).includes(c)) throw new UserError(`--configs: unknown config ${JSON.stringify(c)}; choose from ${CONFIGS.join(', ')}`);
  const seeds = list(values.seeds, 'seeds', d.seeds);
  if (seeds.length === 0) throw new UserError('--seeds: give at least one seed');
  const out = path.resolve(typeof values.out === 'string' ? values.out : path.join(HERE, `results-${preset}`));
  let child: Settings['child'] = null;
  if (typeof values.child === 'string') {
    const [c, s] = values.child.split(':');
    if (!(CONFIGS as readonly string[]).includes(c) || !/^\d+$/.test(s ?? '')) throw new UserError(`--child: expected CONFIG:SEED, got ${JSON.stringify(values.child)}`);
    child = { config: c as Config, seed: Number(s) };
  }
  const epochs = num(values, 'epochs', d.epochs, true, 1);
  return {
    ...d,
    preset,
    out,
    work: path.resolve(typeof values.work === 'string' ? values.work : path.join(out, 'work')),
    configs: configs as Config[],
    seeds,
    model: typeof values.model === 'string' ? values.model : d.model,
    trainData: typeof values['train-data'] === 'string' ? values['train-data'] : d.trainData,
    testData: typeof values['test-data'] === 'string' ? values['test-data'] : d.testData,
    epochs,
    epochsMiddle: num(values, 'epochs-middle', values.epochs !== undefined && values['epochs-middle'] === undefined ? Math.max(epochs, d.epochsMiddle - d.epochs + epochs) : d.epochsMiddle, true, 1),
    batchSize: num(values, 'batch-size', d.batchSize, true, 1),
    lr: num(values, 'lr', d.lr, false, 0),
    momentum: num(values, 'momentum', d.momentum, false, 0),
    schedule: typeof values.schedule === 'string' ? values.schedule : d.schedule,
    weightDecay: num(values, 'weight-decay', d.weightDecay, false, 0),
    gamma: num(values, 'gamma', d.gamma, false, 0),
    htrProbes: num(values, 'htr-probes', d.htrProbes, true, 1),
    htrFreq: num(values, 'htr-freq', d.htrFreq, true, 1),
    htrStart: num(values, 'htr-start', d.htrStart, true, 0),
    htrStartMiddle: num(values, 'htr-start-middle', d.htrStartMiddle, true, 0),
    backend: typeof values.backend === 'string' ? values.backend : (process.env.HESSIAN_BACKEND ?? 'auto'),
    parallel: num(values, 'parallel', 1, true, 1),
    sweepEvery: num(values, 'sweep-every', d.sweepEvery, true, 1),
    sweepPerClass: num(values, 'sweep-per-class', d.sweepPerClass, true, 1),
    sweepProbes: num(values, 'sweep-probes', d.sweepProbes, true, 1),
    sweepLanczos: num(values, 'sweep-lanczos', d.sweepLanczos, true, 2),
    densityRuns: num(values, 'density-runs', d.densityRuns, true, 1),
    sweep: values['no-sweep'] !== true,
    prune: values.prune === true,
    reportOnly: values['report-only'] === true,
    sweepOnly: values['sweep-only'] === true,
    child,
  };
}

/** Epochs of a config's runs. */
export function epochsOf(S: Settings, c: Config): number {
  return c === 'htr-middle' ? S.epochsMiddle : S.epochs;
}

/** The checkpoints a config's runs are analyzed at: 0, every, 2*every, ..., and the last. */
export function sweepEpochs(S: Settings, c: Config): number[] {
  const n = epochsOf(S, c);
  const out: number[] = [];
  for (let e = 0; e <= n; e += S.sweepEvery) out.push(e);
  if (out[out.length - 1] !== n) out.push(n);
  return out;
}

export function machine(): { cpus: number; cpuModel: string; node: string; os: string } {
  return { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version, os: `${os.type()} ${os.release()} ${os.arch()}` };
}
