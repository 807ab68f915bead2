#!/usr/bin/env node
/**
 * Reproduction of arXiv:2012.03801 (layerwise Hessian spectra and the Hessian-trace
 * regularizer, HTR) for LeNet on Fashion-MNIST: trains SGD, SGD + L2, SGD + HTR (all layers)
 * and SGD + HTR (middle layers) over several seeds, sweeps one seed of each through the
 * Hessian analysis, and writes REPORT.md, results.json and a few SVG figures into --out.
 *
 * Plain Node ESM over the built workspace packages (run `npx tsc -b` first). Resumable: run
 * folders and sweeps live under --work; a finished run or sweep is reused, an interrupted
 * run resumes from its last checkpoint. See README.md in this folder.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { normalizeSpec } from '@hessian/analysis';
import { isUserError, UserError } from '@hessian/linalg';
import { esc, fmtSig, lineChart, panel, svgDoc, writeFileAtomic } from '@hessian/report';
import { latestCheckpoint, listCheckpoints, normalizeTrainSpec, readState, resume, runSweep, train } from '@hessian/training';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const SCRIPT = path.relative(ROOT, fileURLToPath(import.meta.url));
const RESULTS_SCHEMA = 'hessian-cluster/paper-fmnist/v1';

/**
 * The authors' code README (LeNet + FashionMNIST, test error in %, mean +- sd over reruns).
 * No number is given there for HTR on the middle layers of LeNet on Fashion-MNIST.
 */
const PAPER = {
  sgd: { mean: 5.43, sd: 0.1 },
  l2: { mean: 5.41, sd: 0.16 },
  htr: { mean: 4.78, sd: 0.15 },
  'htr-middle': null,
};
/** The authors' settings for these rows (their README, 30-epoch variant; `-reruns 3`). */
const PAPER_SETTINGS = {
  epochs: 30,
  epochsMiddle: 40,
  batchSize: 256,
  lr: 0.01,
  schedule: 'step at epochs 10 and 20, x0.25',
  weightDecay: 1e-4,
  htrStart: 10,
  htrStartMiddle: 20,
  gamma: 1e-3,
  freq: 50,
  probes: 10,
  reruns: 3,
};

const CONFIGS = {
  sgd: { label: 'SGD', short: 'SGD' },
  l2: { label: 'SGD + L2 (weight decay)', short: 'SGD+L2' },
  htr: { label: 'SGD + HTR (all layers)', short: 'SGD+HTR' },
  'htr-middle': { label: 'SGD + HTR (middle layers)', short: 'SGD+HTR mid' },
};
const COLORS = { sgd: '#1f77b4', l2: '#ff7f0e', htr: '#2ca02c', 'htr-middle': '#d62728' };

const HELP = `node ${SCRIPT} [flags]

LeNet on Fashion-MNIST: SGD, SGD+L2, SGD+HTR (all layers), SGD+HTR (middle layers), several
seeds each; then one Hessian sweep per config; writes REPORT.md, results.json and SVGs to --out.

  --out DIR            report folder (default experiments/paper-fmnist/results)
  --work DIR           run folders, checkpoints and sweeps (default $TMPDIR/hessian-paper-fmnist)
  --quick              scaled-down smoke version (256 examples, 1 epoch, 2 seeds, tiny sweep)
  --configs LIST       subset of sgd,l2,htr,htr-middle (default all four)
  --seeds LIST         seeds, e.g. 0,1,2 (default 0,1,2); seed s = shuffling, probes and init
  --epochs N           epochs per run (default 6)
  --batch-size N       (default 128)      --lr X            (default 0.01)
  --momentum X         (default 0.9)      --schedule S      constant | step:E[:F] | cosine[:MIN] (default constant)
  --weight-decay X     for the L2 config (default 5e-4)
  --gamma X            HTR strength (default 1e-3)
  --htr-probes K       (default 10)       --htr-freq N      every N steps (default 50)
  --htr-start E        plain epochs before HTR starts (default 2)
  --convention C       layer | weights-only, for HTR blocks and the analysis (default layer)
  --train-data SPEC    (default fashion-mnist:train)   --test-data SPEC (default fashion-mnist:test)
  --backend B          auto | native | cpu | ... (default auto, or $HESSIAN_BACKEND)
  --parallel P         train P runs at once in child processes (default 1)
  --sweep-seed S       which seed's runs are swept (default: the first of --seeds)
  --sweep-data SPEC    examples of the analysis (default fashion-mnist:train[0:256])
  --sweep-epochs LIST  checkpoints for trace / top eigenvalue (default all)
  --esd-epochs LIST    checkpoints for the ESD and its distances (default: the last)
  --sweep-probes N     Hutchinson probes per scope (default 50)
  --sweep-lanczos N    Lanczos steps: top eigenvalue max and ESD steps (default 60)
  --density-runs N     SLQ runs per scope (default 2)
  --sweep-workers N    analysis worker threads (default 1)
  --no-sweep           training and the test-error table only
  -h, --help
`;

// ------------------------------------------------------------------ flags

function parseFlags(argv) {
  const { values } = parseArgs({
    args: argv,
    allowPositionals: false,
    options: {
      out: { type: 'string' },
      work: { type: 'string' },
      quick: { type: 'boolean' },
      configs: { type: 'string' },
      seeds: { type: 'string' },
      epochs: { type: 'string' },
      'batch-size': { type: 'string' },
      lr: { type: 'string' },
      momentum: { type: 'string' },
      schedule: { type: 'string' },
      'weight-decay': { type: 'string' },
      gamma: { type: 'string' },
      'htr-probes': { type: 'string' },
      'htr-freq': { type: 'string' },
      'htr-start': { type: 'string' },
      convention: { type: 'string' },
      'train-data': { type: 'string' },
      'test-data': { type: 'string' },
      backend: { type: 'string' },
      parallel: { type: 'string' },
      'sweep-seed': { type: 'string' },
      'sweep-data': { type: 'string' },
      'sweep-epochs': { type: 'string' },
      'esd-epochs': { type: 'string' },
      'sweep-probes': { type: 'string' },
      'sweep-lanczos': { type: 'string' },
      'density-runs': { type: 'string' },
      'sweep-workers': { type: 'string' },
      'no-sweep': { type: 'boolean' },
      child: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  return values;
}

function numFlag(values, name, dflt, { int = false, min = -Infinity } = {}) {
  const v = values[name];
  if (v === undefined) return dflt;
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || (int && !Number.isInteger(x)) || x < min)
    throw new UserError(`--${name}: expected ${int ? 'a whole number' : 'a number'}${min > -Infinity ? ` >= ${min}` : ''}, got ${JSON.stringify(v)}`);
  return x;
}

function listFlag(values, name, dflt) {
  const v = values[name];
  if (v === undefined) return dflt;
  const parts = v.split(',').map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) throw new UserError(`--${name}: "${v}" is not a comma-separated list of whole numbers, e.g. 0,1,2`);
  return [...new Set(parts.map(Number))];
}

function settingsFrom(values) {
  const quick = values.quick === true;
  const d = quick
    ? { epochs: 1, seeds: [0, 1], trainData: 'fashion-mnist:train[0:256]', testData: 'fashion-mnist:test[0:256]', htrStart: 0, htrFreq: 1, probes: 1 }
    : { epochs: 6, seeds: [0, 1, 2], trainData: 'fashion-mnist:train', testData: 'fashion-mnist:test', htrStart: 2, htrFreq: 50, probes: 10 };
  const sd = quick
    ? { data: 'fashion-mnist:train[0:64]', probes: 4, chunk: 2, lanczos: 8, runs: 1, grid: 200 }
    : { data: 'fashion-mnist:train[0:256]', probes: 50, chunk: 10, lanczos: 60, runs: 2, grid: 1000 };
  const configs = values.configs === undefined ? Object.keys(CONFIGS) : [...new Set(values.configs.split(',').map((s) => s.trim()))];
  for (const c of configs) if (!(c in CONFIGS)) throw new UserError(`--configs: unknown config ${JSON.stringify(c)}; choose from ${Object.keys(CONFIGS).join(', ')}`);
  const seeds = listFlag(values, 'seeds', d.seeds);
  if (seeds.length === 0) throw new UserError('--seeds: give at least one seed');
  const convention = values.convention ?? 'layer';
  if (convention !== 'layer' && convention !== 'weights-only') throw new UserError(`--convention: must be layer or weights-only, got ${JSON.stringify(convention)}`);
  const sweepSeed = numFlag(values, 'sweep-seed', seeds[0], { int: true, min: 0 });
  if (!seeds.includes(sweepSeed)) throw new UserError(`--sweep-seed: ${sweepSeed} is not among --seeds ${seeds.join(',')}`);
  return {
    quick,
    out: path.resolve(values.out ?? path.join(HERE, 'results')),
    work: path.resolve(values.work ?? path.join(os.tmpdir(), 'hessian-paper-fmnist')),
    configs,
    seeds,
    epochs: numFlag(values, 'epochs', d.epochs, { int: true, min: 1 }),
    batchSize: numFlag(values, 'batch-size', 128, { int: true, min: 1 }),
    lr: numFlag(values, 'lr', 0.01, { min: 0 }),
    momentum: numFlag(values, 'momentum', 0.9, { min: 0 }),
    schedule: values.schedule ?? 'constant',
    weightDecay: numFlag(values, 'weight-decay', 5e-4, { min: 0 }),
    gamma: numFlag(values, 'gamma', 1e-3, { min: 0 }),
    htrProbes: numFlag(values, 'htr-probes', d.probes, { int: true, min: 1 }),
    htrFreq: numFlag(values, 'htr-freq', d.htrFreq, { int: true, min: 1 }),
    htrStart: numFlag(values, 'htr-start', d.htrStart, { int: true, min: 0 }),
    convention,
    trainData: values['train-data'] ?? d.trainData,
    testData: values['test-data'] ?? d.testData,
    backend: values.backend ?? process.env.HESSIAN_BACKEND ?? 'auto',
    parallel: numFlag(values, 'parallel', 1, { int: true, min: 1 }),
    sweep: values['no-sweep'] !== true,
    sweepSeed,
    sweepData: values['sweep-data'] ?? sd.data,
    sweepEpochs: listFlag(values, 'sweep-epochs', null),
    esdEpochs: listFlag(values, 'esd-epochs', null),
    sweepProbes: numFlag(values, 'sweep-probes', sd.probes, { int: true, min: 1 }),
    sweepChunk: sd.chunk,
    sweepLanczos: numFlag(values, 'sweep-lanczos', sd.lanczos, { int: true, min: 2 }),
    densityRuns: numFlag(values, 'density-runs', sd.runs, { int: true, min: 1 }),
    densityGrid: sd.grid,
    sweepWorkers: numFlag(values, 'sweep-workers', 1, { int: true, min: 1 }),
  };
}

// ------------------------------------------------------------------ runs

function trainSpecFor(S, config, seed) {
  const htr = config === 'htr' || config === 'htr-middle';
  return normalizeTrainSpec({
    model: 'zoo:lenet',
    modelSeed: seed,
    seed,
    data: S.trainData,
    testData: S.testData,
    epochs: S.epochs,
    batchSize: S.batchSize,
    lr: S.lr,
    momentum: S.momentum,
    schedule: S.schedule,
    weightDecay: config === 'l2' ? S.weightDecay : 0,
    convention: S.convention,
    htr: {
      gamma: htr ? S.gamma : 0,
      probes: S.htrProbes,
      layers: config === 'htr-middle' ? 'middle' : 'all',
      freq: S.htrFreq,
      start: S.htrStart,
    },
  });
}

function hash(x) {
  return createHash('sha256').update(JSON.stringify(x)).digest('hex').slice(0, 10);
}

/** Run folder: the settings except the epoch count (a longer run extends a shorter one) name it. */
function runDirFor(S, config, seed) {
  const spec = trainSpecFor(S, config, seed);
  const key = { ...spec, epochs: spec.schedule.startsWith('cosine') ? spec.epochs : null };
  return path.join(S.work, 'runs', `${config}-seed${seed}-${hash(key)}`);
}

async function exists(p) {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

function fmtDur(s) {
  if (!Number.isFinite(s)) return '?';
  s = Math.max(0, Math.round(s));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

function log(line) {
  process.stderr.write(line + '\n');
}

/**
 * Epoch-time model for the overall ETA: the mean seen so far per (config, HTR epoch or not);
 * HTR epochs not seen yet are estimated from a plain epoch plus ~0.1 s per third-order product.
 */
class Eta {
  constructor(S, jobs) {
    this.S = S;
    this.jobs = jobs; // [{config, seed}]
    this.seen = new Map(); // key -> [sum, count]
    this.done = new Map(); // job key -> epochs done
    this.blocks = { htr: 5, 'htr-middle': 3 };
  }
  key(config, htrEpoch) {
    return htrEpoch ? `${config}/htr` : 'plain';
  }
  record(config, htrEpoch, seconds) {
    const k = this.key(config, htrEpoch);
    const [s, n] = this.seen.get(k) ?? [0, 0];
    this.seen.set(k, [s + seconds, n + 1]);
  }
  epochTime(config, epochIndex) {
    const htrEpoch = (config === 'htr' || config === 'htr-middle') && this.S.gamma > 0 && epochIndex >= this.S.htrStart;
    const got = this.seen.get(this.key(config, htrEpoch));
    if (got) return got[0] / got[1];
    const plain = this.seen.get('plain');
    if (!plain) return NaN;
    const p = plain[0] / plain[1];
    if (!htrEpoch) return p;
    const steps = Math.ceil(this.examples / this.S.batchSize);
    return p + (steps / this.S.htrFreq) * this.S.htrProbes * this.blocks[config] * 0.1;
  }
  remaining() {
    let t = 0;
    for (const j of this.jobs) {
      const d = this.done.get(`${j.config}/${j.seed}`) ?? 0;
      for (let e = d; e < this.S.epochs; e++) t += this.epochTime(j.config, e);
    }
    return t;
  }
}

/** Trains (or resumes, or skips) one run; returns its metrics for the first S.epochs epochs. */
async function ensureRun(S, config, seed, eta, quiet = false) {
  const dir = runDirFor(S, config, seed);
  const tag = `[${config} seed ${seed}]`;
  const spec = trainSpecFor(S, config, seed);
  const hasRunFile = await exists(path.join(dir, 'run.json'));
  let last = hasRunFile ? await latestCheckpoint(dir) : null;
  if (hasRunFile && last === null) {
    log(`${tag} ${dir} holds no complete checkpoint (interrupted before the first one): starting it again`);
    await fs.rm(dir, { recursive: true, force: true });
  }
  let prevSeconds = 0;
  let lastEta = null;
  const opts = {
    backend: S.backend,
    onStart: (info) => {
      eta.examples = info.examples;
      if (info.blocks.length && (config === 'htr' || config === 'htr-middle')) eta.blocks[config] = info.blocks.length;
      log(`${tag} ${last ? `resuming at epoch ${last.epoch}` : 'training'}: ${info.examples} examples, backend ${info.backend}${info.blocks.length && spec.htr.gamma > 0 ? `, HTR blocks ${info.blocks.join(',')}` : ''}`);
    },
    onProgress: (p) => {
      lastEta = p.etaSeconds;
    },
    onEpoch: (m) => {
      const dt = m.seconds - prevSeconds;
      prevSeconds = m.seconds;
      eta.record(config, config.startsWith('htr') && spec.htr.gamma > 0 && m.epoch - 1 >= spec.htr.start, dt);
      eta.done.set(`${config}/${seed}`, m.epoch);
      const reg = m.reg === null ? '' : `  reg ${fmtSig(m.reg, 3)} (${m.regSteps} steps)`;
      log(
        `${tag} epoch ${m.epoch}/${S.epochs}  train loss ${m.trainLoss.toFixed(4)}  test err ${(100 * (1 - m.testAcc)).toFixed(2)}%${reg}  ` +
          `${dt.toFixed(1)} s  run ETA ${fmtDur(m.epoch >= S.epochs ? 0 : (lastEta ?? NaN))}  total ETA ~${fmtDur(eta.remaining())}`,
      );
    },
  };
  if (last && last.epoch >= S.epochs) {
    eta.done.set(`${config}/${seed}`, S.epochs);
    if (!quiet) log(`${tag} done already (${last.epoch} epochs in ${dir}): reused`);
  } else if (last) {
    prevSeconds = (await readState(last.dir)).state.seconds;
    await resume(dir, { ...opts, epochs: S.epochs });
  } else {
    last = null;
    await train(spec, dir, opts);
  }
  const cps = await listCheckpoints(dir);
  const cp = cps.find((c) => c.epoch === S.epochs);
  if (!cp) throw new Error(`${dir}: no checkpoint for epoch ${S.epochs} after training`);
  const { state } = await readState(cp.dir);
  return { config, seed, dir, metrics: state.metrics.slice(0, S.epochs), trainSeconds: state.seconds };
}

function childArgs(argv, config, seed) {
  const out = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--child') {
      i++;
      continue;
    }
    if (argv[i].startsWith('--child=')) continue;
    out.push(argv[i]);
  }
  return [...out, '--child', `${config}:${seed}`];
}

async function trainAll(S, argv) {
  const jobs = [];
  for (const seed of S.seeds) for (const config of S.configs) jobs.push({ config, seed });
  const eta = new Eta(S, jobs);
  if (S.parallel <= 1) {
    const out = [];
    for (const j of jobs) out.push(await ensureRun(S, j.config, j.seed, eta));
    return out;
  }
  // Child processes (tfjs runs one op at a time per process): each trains one run and exits.
  let next = 0;
  const failures = [];
  const worker = async () => {
    while (next < jobs.length) {
      const j = jobs[next++];
      const code = await new Promise((resolve) => {
        const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...childArgs(argv, j.config, j.seed)], { stdio: ['ignore', 'ignore', 'inherit'] });
        child.on('exit', (c, sig) => resolve(c ?? (sig ? 128 : 1)));
        child.on('error', () => resolve(1));
      });
      if (code !== 0) failures.push(`${j.config} seed ${j.seed} (exit ${code})`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(S.parallel, jobs.length) }, worker));
  if (failures.length) throw new Error(`training failed for ${failures.join(', ')}; rerun the same command to resume`);
  const out = [];
  for (const j of jobs) out.push(await ensureRun(S, j.config, j.seed, eta, true)); // all finished: reads them
  return out;
}

// ------------------------------------------------------------------ sweeps

function curvatureAnalysis(S) {
  return {
    data: S.sweepData,
    layers: { select: 'all' },
    convention: S.convention,
    full: true,
    topK: { k: 1, method: 'lanczos', tol: 1e-3, maxIter: S.sweepLanczos },
    trace: { method: 'hutchinson', probes: S.sweepProbes, chunk: S.sweepChunk },
    density: null,
    similarity: false,
    seed: 0,
  };
}

function esdAnalysis(S) {
  return {
    data: S.sweepData,
    layers: { select: 'all' },
    convention: S.convention,
    full: true,
    topK: null,
    trace: null,
    density: { runs: S.densityRuns, steps: S.sweepLanczos, preset: 'papyan', gridPoints: S.densityGrid },
    similarity: true,
    seed: 0,
  };
}

/** runSweep, or the sweep.json of an identical earlier sweep (same run, analysis and epochs). */
async function ensureSweep(S, run, kind, analysis, epochs) {
  const { model: _m, ...norm } = normalizeSpec({ ...analysis, model: 'zoo:lenet' });
  void _m;
  const dir = path.join(S.work, 'sweeps', `${path.basename(run.dir)}-${kind}-${hash({ norm, epochs })}`);
  const file = path.join(dir, 'sweep.json');
  const tag = `[sweep ${run.config} seed ${run.seed} ${kind}]`;
  if (await exists(file)) {
    log(`${tag} done already (${dir}): reused`);
    return { sweep: JSON.parse(await fs.readFile(file, 'utf8')), dir, reused: true };
  }
  const t0 = performance.now();
  let lastEta = null;
  const sweep = await runSweep(run.dir, analysis, dir, {
    epochs,
    backend: S.backend,
    workers: S.sweepWorkers,
    onCheckpoint: (c) => {
      const el = (performance.now() - t0) / 1000;
      const eta = c.index > 0 ? (el / c.index) * (c.total - c.index) : null;
      log(`${tag} checkpoint epoch ${c.epoch} (${c.index + 1}/${c.total})  ${el.toFixed(0)} s so far${eta === null ? '' : `  ETA ${fmtDur(eta)}`}`);
    },
    onProgress: (p) => {
      lastEta = p.etaSeconds;
    },
  });
  void lastEta;
  log(`${tag} ${sweep.epochs.length} checkpoints in ${sweep.seconds.toFixed(1)} s`);
  return { sweep, dir, reused: false };
}

// ------------------------------------------------------------------ statistics

function mean(xs) {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

/** Sample standard deviation (n - 1); 0 for one value. */
function sd(xs) {
  if (xs.length < 2) return xs.length ? 0 : NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

function ranks(xs) {
  const idx = xs.map((v, i) => [v, i]).sort((a, b) => a[0] - b[0]);
  const r = new Array(xs.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1][0] === idx[i][0]) j++;
    for (let k = i; k <= j; k++) r[idx[k][1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

function spearman(xs, ys) {
  if (xs.length < 3) return NaN;
  const a = ranks(xs);
  const b = ranks(ys);
  const ma = mean(a);
  const mb = mean(b);
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - ma) * (b[i] - mb);
    da += (a[i] - ma) ** 2;
    db += (b[i] - mb) ** 2;
  }
  return da > 0 && db > 0 ? num / Math.sqrt(da * db) : NaN;
}

const TREND_TOL = 0.05;

/**
 * Does a quantity fall as training proceeds? Over the trained checkpoints (epoch >= 1):
 * change = (last - first) / |first|; rho = Spearman(epoch, value). "falls" when the value
 * drops by more than max(5%, 2 standard errors) and rho < 0 (or fewer than 3 points);
 * "rises" symmetrically; otherwise "flat/mixed".
 */
function trend(epochs, values, errs) {
  const pts = epochs.map((e, i) => ({ e, v: values[i], s: errs?.[i] ?? 0 })).filter((p) => p.e >= 1 && p.v !== null && Number.isFinite(p.v));
  const at0 = epochs.indexOf(0) >= 0 ? values[epochs.indexOf(0)] : null;
  if (pts.length < 2) return { verdict: 'n/a', first: null, last: null, change: null, rho: null, peakEpoch: null, epoch0: at0 };
  const first = pts[0];
  const last = pts[pts.length - 1];
  const change = (last.v - first.v) / Math.abs(first.v);
  const tol = Math.max(TREND_TOL, (2 * Math.hypot(first.s, last.s)) / Math.abs(first.v));
  const rho = spearman(
    pts.map((p) => p.e),
    pts.map((p) => p.v),
  );
  const few = pts.length < 3;
  const verdict = change < -tol && (few || rho < 0) ? 'falls' : change > tol && (few || rho > 0) ? 'rises' : 'flat/mixed';
  const peak = pts.reduce((a, b) => (b.v > a.v ? b : a));
  return { verdict, first: first.v, firstEpoch: first.e, last: last.v, lastEpoch: last.e, change, rho: Number.isFinite(rho) ? rho : null, peakEpoch: peak.e, epoch0: at0 };
}

function summarize(S, runs) {
  const out = {};
  for (const c of S.configs) {
    const rs = runs.filter((r) => r.config === c);
    const finalErr = rs.map((r) => 100 * (1 - r.metrics[r.metrics.length - 1].testAcc));
    const perEpoch = [];
    for (let e = 0; e < S.epochs; e++) {
      const xs = rs.map((r) => 100 * (1 - r.metrics[e].testAcc));
      perEpoch.push({ epoch: e + 1, mean: mean(xs), sd: sd(xs) });
    }
    const p = PAPER[c];
    const m = mean(finalErr);
    out[c] = {
      label: CONFIGS[c].label,
      seeds: rs.map((r) => r.seed),
      testError: finalErr,
      mean: m,
      sd: sd(finalErr),
      perEpoch,
      regSteps: rs.map((r) => r.metrics.reduce((a, x) => a + x.regSteps, 0)),
      paper: p,
      minusPaper: p ? m - p.mean : null,
    };
  }
  // Gain over plain SGD (ours and the paper's), with the standard error of a difference of means.
  const base = out.sgd;
  for (const c of S.configs) {
    const o = out[c];
    if (!base || c === 'sgd') {
      o.vsSgd = null;
      continue;
    }
    const se = Math.sqrt(o.sd ** 2 / o.testError.length + base.sd ** 2 / base.testError.length);
    o.vsSgd = { diff: o.mean - base.mean, se, paperDiff: PAPER[c] ? PAPER[c].mean - PAPER.sgd.mean : null };
  }
  return out;
}

function curvatureTrends(sweeps) {
  const out = {};
  for (const [c, s] of Object.entries(sweeps)) {
    out[c] = s.curvature.scopes.map((sc) => ({
      scope: sc.name,
      kind: sc.kind,
      depth: sc.depth,
      trace: trend(sc.epochs, sc.trace, sc.traceStderr),
      top: trend(sc.epochs, sc.top, null),
    }));
  }
  return out;
}

/** Distances of each layer's ESD to the full network's at the last ESD checkpoint. */
function distances(sweeps) {
  const out = {};
  for (const [c, s] of Object.entries(sweeps)) {
    const rep = s.esdReport;
    const layers = rep.scopes
      .filter((x) => x.kind !== 'full')
      .map((x) => {
        const h = x.operators.find((o) => o.operator === 'hessian');
        return { layer: x.name, depth: x.depth, params: x.params, wasserstein1: h?.similarity?.wasserstein1 ?? null, jensenShannon: h?.similarity?.jensenShannon ?? null };
      });
    const verdict = (metric) => {
      const ok = layers.filter((l) => l[metric] !== null && Number.isFinite(l[metric]));
      if (ok.length < 3) return null;
      const closest = ok.reduce((a, b) => (b[metric] < a[metric] ? b : a));
      const middle = ok.filter((l) => l.depth !== null && l.depth > 0 && l.depth < 1);
      const ends = ok.filter((l) => !middle.includes(l));
      const mMid = mean(middle.map((l) => l[metric]));
      const mEnds = mean(ends.map((l) => l[metric]));
      return { closest: closest.layer, closestDepth: closest.depth, closestIsMiddle: middle.includes(closest), meanMiddle: mMid, meanEnds: mEnds, middleCloserOnAverage: mMid < mEnds };
    };
    out[c] = { epoch: s.esdEpoch, layers, wasserstein1: verdict('wasserstein1'), jensenShannon: verdict('jensenShannon') };
  }
  return out;
}

// ------------------------------------------------------------------ figures

function testErrorFigure(S, summary) {
  const series = [];
  for (const c of S.configs) {
    const s = summary[c];
    series.push({ label: `${CONFIGS[c].short} (ours)`, x: s.perEpoch.map((p) => p.epoch), y: s.perEpoch.map((p) => p.mean), yErr: s.perEpoch.map((p) => p.sd), color: COLORS[c] });
  }
  for (const c of S.configs) {
    const p = PAPER[c];
    if (p) series.push({ label: `${CONFIGS[c].short} (paper, 30 ep.)`, x: [1, S.epochs], y: [p.mean, p.mean], color: COLORS[c], dash: '6 4', marker: 'none' });
  }
  return lineChart(series, {
    title: `LeNet on Fashion-MNIST: test error (mean \u00b1 sd over ${S.seeds.length} seeds)`,
    subtitle: 'dashed: the paper\u2019s final test error after 30 epochs (authors\u2019 README)',
    xLabel: 'epoch',
    yLabel: 'test error (%)',
  });
}

function legendSvg(items, x, y, width) {
  const parts = [];
  let cx = x;
  let cy = y;
  for (const it of items) {
    const w = 44 + it.label.length * 6.6;
    if (cx + w > x + width) {
      cx = x;
      cy += 16;
    }
    parts.push(`<line x1="${cx}" y1="${cy - 4}" x2="${cx + 22}" y2="${cy - 4}" stroke="${it.color}" stroke-width="2"/>`);
    parts.push(`<text x="${cx + 27}" y="${cy}" font-size="11">${esc(it.label)}</text>`);
    cx += w;
  }
  return { svg: parts.join(''), height: cy - y + 16 };
}

/** Small multiples: one panel per scope (full network first), one curve per config. */
function perScopeFigure(S, sweeps, pick, errPick, title, yLabel) {
  const configs = S.configs.filter((c) => sweeps[c]);
  const scopes = sweeps[configs[0]].curvature.scopes.map((s) => s.name);
  const cols = 3;
  const rows = Math.ceil(scopes.length / cols);
  const pw = 300;
  const ph = 230;
  const width = cols * pw + 20;
  const lg = legendSvg(
    configs.map((c) => ({ label: CONFIGS[c].label, color: COLORS[c] })),
    20,
    60,
    width - 40,
  );
  const top = 60 + lg.height;
  const parts = [`<text x="${width / 2}" y="22" font-size="14" font-weight="bold" text-anchor="middle">${esc(title)}</text>`];
  parts.push(`<text x="${width / 2}" y="38" font-size="11" fill="#666" text-anchor="middle">${esc(`seed ${S.sweepSeed}, ${S.sweepData}, convention ${S.convention}`)}</text>`);
  parts.push(lg.svg);
  scopes.forEach((name, i) => {
    const series = configs.map((c) => {
      const sc = sweeps[c].curvature.scopes.find((s) => s.name === name);
      const y = pick(sc);
      const keep = y.map((v, k) => (v === null || !Number.isFinite(v) ? -1 : k)).filter((k) => k >= 0);
      const e = errPick ? errPick(sc) : null;
      return { label: CONFIGS[c].short, x: keep.map((k) => sc.epochs[k]), y: keep.map((k) => y[k]), yErr: e ? keep.map((k) => e[k] ?? 0) : undefined, color: COLORS[c], marker: 'circle', markerSize: 3 };
    });
    const positive = series.every((s) => s.y.every((v) => v > 0));
    const p = panel({
      x: 10 + (i % cols) * pw,
      y: top + Math.floor(i / cols) * ph,
      width: pw,
      height: ph,
      id: `scope-${i}-${yLabel.replace(/[^a-z]/gi, '')}`,
      title: name === 'full' ? 'full network' : `layer ${name}`,
      xLabel: 'epoch',
      yLabel,
      series,
      logY: positive,
    });
    parts.push(p.svg);
  });
  return svgDoc(width, top + rows * ph + 6, parts.join('\n'), title);
}

function distanceFigure(S, dist) {
  const configs = S.configs.filter((c) => dist[c]);
  const pw = 440;
  const width = 2 * pw + 20;
  const height = 440;
  const lg = legendSvg(
    configs.map((c) => ({ label: CONFIGS[c].label, color: COLORS[c] })),
    20,
    60,
    width - 40,
  );
  const top = 60 + lg.height;
  const title = 'Distance of each layer\u2019s ESD to the full network\u2019s, by depth';
  const build = (metric) =>
    configs.map((c, j) => {
      const ls = dist[c].layers.filter((l) => l[metric] !== null && l.depth !== null);
      return { label: CONFIGS[c].short, x: ls.map((l) => l.depth), y: ls.map((l) => l[metric]), color: COLORS[c], marker: 'circle', markerSize: 4, pointLabels: j === 0 ? ls.map((l) => l.layer) : undefined };
    });
  const common = { y: top, width: pw, height: height - top - 4, xDomain: [-0.06, 1.12], xLabel: 'normalized depth (0 = first layer, 1 = last)', yIncludeZero: true };
  const a = panel({ ...common, x: 10, id: 'dist-w1', title: 'Wasserstein-1 distance', yLabel: 'W1 to full network', series: build('wasserstein1') });
  const b = panel({ ...common, x: 10 + pw, id: 'dist-js', title: 'Jensen-Shannon divergence', yLabel: 'JS to full network (nats)', series: build('jensenShannon') });
  const epochs = [...new Set(configs.map((c) => dist[c].epoch))].join(', ');
  const parts = [
    `<text x="${width / 2}" y="22" font-size="14" font-weight="bold" text-anchor="middle">${esc(title)}</text>`,
    `<text x="${width / 2}" y="38" font-size="11" fill="#666" text-anchor="middle">${esc(`epoch ${epochs}, seed ${S.sweepSeed}, ${S.sweepData}`)}</text>`,
    lg.svg,
    a.svg,
    b.svg,
  ];
  return svgDoc(width, height, parts.join('\n'), title);
}

// ------------------------------------------------------------------ report

const f2 = (x) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(2));
const sig = (x, d = 3) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : fmtSig(x, d));
const pct = (x) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : `${x > 0 ? '+' : ''}${(100 * x).toFixed(0)}%`);
const signed = (x) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : `${x > 0 ? '+' : ''}${x.toFixed(2)}`);

function shellQuote(a) {
  return /^[A-Za-z0-9_./:=,@+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

function renderReport(R) {
  const { settings: S, summary, trends, distances: D } = R;
  const L = [];
  L.push(`# LeNet on Fashion-MNIST: reproducing arXiv:2012.03801${S.quick ? ' (QUICK smoke run: numbers mean nothing)' : ''}`);
  L.push('');
  L.push(`Generated by \`${SCRIPT}\` on ${R.createdAt.slice(0, 10)}. Regenerate with:`);
  L.push('');
  L.push('```sh');
  L.push('npx tsc -b');
  L.push(R.command);
  L.push('```');
  L.push('');
  L.push(
    `Wall time of that invocation: **${fmtDur(R.wallSeconds)}** (${R.wallSeconds.toFixed(0)} s)` +
      (R.reused.runs || R.reused.sweeps ? `, reusing ${R.reused.runs} finished run(s) and ${R.reused.sweeps} sweep(s) from --work` : '') +
      `. Compute recorded in the runs and sweeps: training ${fmtDur(R.compute.trainSeconds)}, sweeps ${fmtDur(R.compute.sweepSeconds)}.` +
      ` Machine: ${R.machine.cpus}x ${R.machine.cpuModel}, Node ${R.machine.node}, backend ${R.machine.backend}.`,
  );
  L.push('');
  L.push('## Settings');
  L.push('');
  L.push('| | ours | authors\u2019 README (LeNet + FashionMNIST) |');
  L.push('|---|---|---|');
  L.push(`| model | \`zoo:lenet\` (conv 6@5x5 same, pool, conv 16@5x5, pool, 120-84-10, ReLU; 61,706 parameters) | their \`LeNet\` (definition not checked here) |`);
  L.push(`| data | \`${S.trainData}\` / \`${S.testData}\`, pixels / 255, no augmentation | torchvision FashionMNIST, their transforms |`);
  L.push(`| epochs | ${S.epochs} | ${PAPER_SETTINGS.epochs} (${PAPER_SETTINGS.epochsMiddle} for HTR middle) |`);
  L.push(`| batch, lr, momentum | ${S.batchSize}, ${S.lr}, ${S.momentum} | ${PAPER_SETTINGS.batchSize}, ${PAPER_SETTINGS.lr}, (their optimizer\u2019s) |`);
  L.push(`| lr schedule | ${S.schedule} | ${PAPER_SETTINGS.schedule} |`);
  L.push(`| L2 config | weight decay ${S.weightDecay} | ${PAPER_SETTINGS.weightDecay} |`);
  L.push(`| HTR | gamma ${S.gamma}, K=${S.htrProbes}, every ${S.htrFreq} steps from epoch index ${S.htrStart} | gamma ${PAPER_SETTINGS.gamma}, K=${PAPER_SETTINGS.probes}, every ${PAPER_SETTINGS.freq} steps from epoch ${PAPER_SETTINGS.htrStart} (middle: ${PAPER_SETTINGS.htrStartMiddle}) |`);
  L.push(`| HTR blocks | all: every layer; middle: parameter tensors floor(n/4)..floor(3n/4), convention \`${S.convention}\` | same rule on their parameter list |`);
  L.push(`| seeds | ${S.seeds.join(', ')} (init, shuffling, probes) | ${PAPER_SETTINGS.reruns} reruns |`);
  L.push('');
  L.push('## Test error (%), final epoch');
  L.push('');
  L.push(`Mean \u00b1 sample standard deviation over seeds. "vs SGD": our difference to plain SGD \u00b1 its standard error, and the paper\u2019s.`);
  L.push('');
  L.push('| config | ours | per seed | paper | ours \u2212 paper | vs SGD (ours) | vs SGD (paper) | HTR steps per run |');
  L.push('|---|---|---|---|---|---|---|---|');
  for (const c of S.configs) {
    const s = summary[c];
    const vs = s.vsSgd;
    L.push(
      `| ${s.label} | **${f2(s.mean)} \u00b1 ${f2(s.sd)}** | ${s.testError.map(f2).join(', ')} | ${s.paper ? `${f2(s.paper.mean)} \u00b1 ${f2(s.paper.sd)}` : '— (not reported)'} | ${signed(s.minusPaper)} | ${vs ? `${signed(vs.diff)} \u00b1 ${f2(vs.se)}` : '—'} | ${vs && vs.paperDiff !== null ? signed(vs.paperDiff) : '—'} | ${[...new Set(s.regSteps)].join(', ')} |`,
    );
  }
  L.push('');
  L.push('![test error](test-error.svg)');
  L.push('');
  if (R.trends) {
    L.push('## Trace and top eigenvalue during training');
    L.push('');
    L.push(
      `Seed ${S.sweepSeed} of each config; Hessian of the mean loss over \`${S.sweepData}\`; Hutchinson trace with ${S.sweepProbes} probes per scope, top eigenvalue by Lanczos (at most ${S.sweepLanczos} steps). ` +
        `Rule (computed): over the trained checkpoints (epoch \u2265 1), *change* = (last \u2212 first) / |first| and \u03c1 = Spearman(epoch, value); **falls** when the drop exceeds max(${100 * TREND_TOL}%, 2 standard errors) and \u03c1 < 0, **rises** symmetrically, else flat/mixed. Epoch 0 (the initial weights) is shown but not part of the rule: a fresh network is flat and its curvature first grows.`,
    );
    L.push('');
    for (const [qty, key] of [
      ['Trace', 'trace'],
      ['Top eigenvalue', 'top'],
    ]) {
      const all = Object.values(trends).flat();
      const n = (v) => all.filter((t) => t[key].verdict === v).length;
      L.push(`**${qty}**: falls in ${n('falls')} of ${all.length} (config, scope) series, rises in ${n('rises')}, flat/mixed in ${n('flat/mixed')}.`);
      for (const c of S.configs) {
        if (!trends[c]) continue;
        const full = trends[c].find((t) => t.kind === 'full');
        const layersFalling = trends[c].filter((t) => t.kind !== 'full' && t[key].verdict === 'falls').map((t) => t.scope);
        L.push(`- ${CONFIGS[c].label}: full network ${full ? full[key].verdict : '—'}; layers falling: ${layersFalling.length ? layersFalling.join(', ') : 'none'} (of ${trends[c].length - 1}).`);
      }
      L.push('');
      L.push(`| config | scope | epoch 0 | first trained | peak at epoch | last | change | \u03c1 | verdict |`);
      L.push('|---|---|---|---|---|---|---|---|---|');
      for (const c of S.configs) {
        if (!trends[c]) continue;
        for (const t of trends[c]) {
          const q = t[key];
          L.push(`| ${CONFIGS[c].short} | ${t.scope} | ${sig(q.epoch0)} | ${sig(q.first)} | ${q.peakEpoch ?? '—'} | ${sig(q.last)} | ${pct(q.change)} | ${q.rho === null ? '—' : q.rho.toFixed(2)} | ${q.verdict} |`);
        }
      }
      L.push('');
    }
    L.push('![trace](trace.svg)');
    L.push('');
    L.push('![top eigenvalue](top-eigenvalue.svg)');
    L.push('');
  }
  if (D) {
    const ep = [...new Set(Object.values(D).map((d) => d.epoch))].join(', ');
    L.push('## Distance of each layer\u2019s ESD to the full network\u2019s, against normalized depth');
    L.push('');
    L.push(
      `Epoch ${ep}, seed ${S.sweepSeed}; ESD by stochastic Lanczos quadrature (${S.densityRuns} runs of ${S.sweepLanczos} steps per scope, papyan preset). W1: Wasserstein-1 on the eigenvalue axis; JS: Jensen-Shannon divergence (nats) on a common grid. Lower = closer. "Middle" = layers with 0 < depth < 1.`,
    );
    L.push('');
    const layerNames = Object.values(D)[0].layers;
    L.push(`| layer | depth | ${S.configs.filter((c) => D[c]).map((c) => `${CONFIGS[c].short} W1 | ${CONFIGS[c].short} JS`).join(' | ')} |`);
    L.push(`|---|---|${S.configs.filter((c) => D[c]).map(() => '---|---').join('|')}|`);
    for (const [i, l] of layerNames.entries()) {
      L.push(`| ${l.layer} | ${f2(l.depth)} | ${S.configs.filter((c) => D[c]).map((c) => `${sig(D[c].layers[i].wasserstein1)} | ${sig(D[c].layers[i].jensenShannon)}`).join(' | ')} |`);
    }
    L.push('');
    L.push('| config | metric | closest layer (depth) | closest is a middle layer | mean middle | mean first+last | middle closer on average |');
    L.push('|---|---|---|---|---|---|---|');
    for (const c of S.configs) {
      if (!D[c]) continue;
      for (const m of ['wasserstein1', 'jensenShannon']) {
        const v = D[c][m];
        if (!v) continue;
        L.push(`| ${CONFIGS[c].short} | ${m === 'wasserstein1' ? 'W1' : 'JS'} | ${v.closest} (${f2(v.closestDepth)}) | ${v.closestIsMiddle ? 'yes' : 'no'} | ${sig(v.meanMiddle)} | ${sig(v.meanEnds)} | ${v.middleCloserOnAverage ? 'yes' : 'no'} |`);
      }
    }
    L.push('');
    L.push('![distance vs depth](esd-distance-vs-depth.svg)');
    L.push('');
  }
  L.push('## Where we differ from the paper and why');
  L.push('');
  for (const line of R.differences) L.push(`- ${line}`);
  L.push('');
  L.push('## Files');
  L.push('');
  L.push(`\`results.json\` (schema \`${RESULTS_SCHEMA}\`): every number above, per-epoch metrics of every run, the sweep series (without ESD grids), settings, machine, wall time. Run folders (checkpoints, metrics.jsonl) and the full sweeps (per-checkpoint reports, ESD figures) stay under \`--work\` (${S.work}), not here.`);
  L.push('');
  return L.join('\n');
}

function differences(R) {
  const { settings: S, summary, trends, distances: D } = R;
  const out = [];
  if (S.quick) out.push('**This is the --quick smoke run** (a few hundred examples, one epoch): it checks that the pipeline works; its numbers say nothing about the paper.');
  const stepsPerEpoch = R.stepsPerEpoch;
  const sgd = summary.sgd;
  if (sgd) {
    const pe = sgd.perEpoch;
    const lastDrop = pe.length >= 2 ? pe[pe.length - 2].mean - pe[pe.length - 1].mean : null;
    const withPaper = S.configs.filter((c) => summary[c].paper);
    const above = withPaper.filter((c) => summary[c].minusPaper > 0);
    out.push(
      `**Absolute error.** Our plain SGD ends at ${f2(sgd.mean)}% test error, ${signed(sgd.minusPaper)} points from the paper\u2019s ${f2(PAPER.sgd.mean)}%. ` +
        `We train ${S.epochs} epoch(s) of ${stepsPerEpoch} steps (batch ${S.batchSize}) at lr ${S.lr} (schedule ${S.schedule}), against ${PAPER_SETTINGS.epochs} epochs of batch ${PAPER_SETTINGS.batchSize} with the lr cut x0.25 at epochs 10 and 20: ` +
        `${Math.round((PAPER_SETTINGS.epochs * Math.ceil(60000 / PAPER_SETTINGS.batchSize)) / Math.max(1, S.epochs * stepsPerEpoch))}x fewer optimizer steps, and no annealing. ` +
        (lastDrop === null
          ? 'With a single epoch there is no slope to judge convergence by. '
          : `SGD\u2019s mean test error changed by ${signed(-lastDrop)} points in the last epoch (${lastDrop > 0.1 ? 'still improving: not converged' : 'about flat'}). `) +
        `${above.length} of ${withPaper.length} configs with a paper row sit above it.`,
    );
  }
  if (sgd)
    out.push(
      `**The paper\u2019s baseline itself.** ${f2(PAPER.sgd.mean)}% is low for a 61k-parameter LeNet-5 on Fashion-MNIST (such networks usually end near 9-10% without augmentation). The authors\u2019 LeNet definition, input normalization and any augmentation were not checked here; a wider network or augmentation would explain part of the gap that training length does not. This is a conjecture, not a measurement.`,
    );
  const htr = summary.htr;
  if (htr && htr.vsSgd) {
    const v = htr.vsSgd;
    const sigf = Math.abs(v.diff) > 2 * v.se;
    out.push(
      `**HTR effect.** The paper reports HTR ${signed(v.paperDiff)} points against SGD; we measure ${signed(v.diff)} \u00b1 ${f2(v.se)} (${sigf ? 'more than' : 'within'} 2 standard errors of zero over ${htr.testError.length} seeds). ` +
        `HTR ran on ${[...new Set(htr.regSteps)].join('/')} steps per run (every ${S.htrFreq} steps from epoch index ${S.htrStart}); the paper\u2019s schedule gives about ${Math.round(((PAPER_SETTINGS.epochs - PAPER_SETTINGS.htrStart) * Math.ceil(60000 / PAPER_SETTINGS.batchSize)) / PAPER_SETTINGS.freq)} regularized steps from epoch ${PAPER_SETTINGS.htrStart}, one third into their run. ` +
        `We start HTR after ${S.htrStart} plain epoch(s), i.e. early in training, because we cannot afford their 10 plain epochs first; the regularizer then acts on a network far from convergence.`,
    );
  }
  const mid = summary['htr-middle'];
  if (mid && mid.vsSgd)
    out.push(
      `**HTR on the middle layers.** No test error for LeNet + Fashion-MNIST is given in the authors\u2019 README (their command uses 40 epochs and HTR from epoch 20); ours is ${f2(mid.mean)} \u00b1 ${f2(mid.sd)} (${signed(mid.vsSgd.diff)} \u00b1 ${f2(mid.vsSgd.se)} vs SGD). With convention \`${S.convention}\`, "middle" covers the blocks listed in the runs\u2019 logs (on lenet \`layer\`: conv2, fc1 and fc2\u2019s kernel).`,
    );
  const l2 = summary.l2;
  if (l2 && l2.vsSgd) out.push(`**L2.** We use weight decay ${S.weightDecay} (the paper\u2019s README: ${PAPER_SETTINGS.weightDecay}); paper ${signed(l2.vsSgd.paperDiff)} vs SGD, ours ${signed(l2.vsSgd.diff)} \u00b1 ${f2(l2.vsSgd.se)}.`);
  if (trends) {
    const all = Object.values(trends).flat();
    const falls = (k) => all.filter((t) => t[k].verdict === 'falls').length;
    const peakLast = all.filter((t) => t.trace.peakEpoch !== null && t.trace.peakEpoch === t.trace.lastEpoch).length;
    const peakFirst = all.filter((t) => t.trace.peakEpoch !== null && t.trace.peakEpoch === t.trace.firstEpoch && t.trace.firstEpoch !== t.trace.lastEpoch).length;
    out.push(
      `**Trace and top eigenvalue.** The paper shows them falling as training proceeds. Here the trace falls in ${falls('trace')} and the top eigenvalue in ${falls('top')} of ${all.length} series over ${S.epochs} epoch(s). ` +
        `${peakLast} of ${all.length} trace series peak at the last checkpoint (still rising when we stop) and ${peakFirst} at the first trained one; the paper’s curves span a run ${Math.round(PAPER_SETTINGS.epochs / S.epochs)}x longer. ` +
        `Our curvature is measured on ${S.sweepData} (the paper\u2019s analysis used a small class-balanced subset, 10 examples per class according to the help of hessctl analyze --per-class) with ${S.sweepProbes} Hutchinson probes; the standard errors are in results.json.`,
    );
  }
  if (D) {
    const cs = Object.keys(D);
    const mids = (m) => cs.filter((c) => D[c][m]?.closestIsMiddle).length;
    const avg = (m) => cs.filter((c) => D[c][m]?.middleCloserOnAverage).length;
    out.push(
      `**ESD distance vs depth.** The paper finds the middle layers\u2019 ESDs closest to the full network\u2019s. Here the closest layer is a middle one in ${mids('wasserstein1')} of ${cs.length} configs by W1 and ${mids('jensenShannon')} of ${cs.length} by JS; the middle layers are closer on average in ${avg('wasserstein1')} (W1) and ${avg('jensenShannon')} (JS) of ${cs.length}. ` +
        `LeNet has five parameterized layers, three of them "middle", so "the closest is a middle layer" happens 3 times in 5 by chance: one seed and one checkpoint cannot support the claim either way. ` +
        `Our ESDs use ${S.densityRuns} SLQ run(s) of ${S.sweepLanczos} steps (PyHessian\u2019s default: 1 run of 100 steps) at epoch ${[...new Set(cs.map((c) => D[c].epoch))].join('/')} of ${S.epochs}.`,
    );
  }
  out.push(`**Seeds.** ${S.seeds.length} seed(s) per config here, ${PAPER_SETTINGS.reruns} reruns in the paper; standard deviations from 2-3 values are themselves uncertain by about \u00b150%.`);
  return out;
}

// ------------------------------------------------------------------ main

async function main() {
  const argv = process.argv.slice(2);
  const values = parseFlags(argv);
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const S = settingsFrom(values);
  if (values.child !== undefined) {
    const [config, seedText] = values.child.split(':');
    if (!(config in CONFIGS) || !/^\d+$/.test(seedText ?? '')) throw new UserError(`--child: expected CONFIG:SEED, got ${JSON.stringify(values.child)}`);
    await ensureRun(S, config, Number(seedText), new Eta(S, [{ config, seed: Number(seedText) }]));
    return 0;
  }
  const t0 = performance.now();
  const command = ['node', SCRIPT, ...argv].map(shellQuote).join(' ');
  log(`paper-fmnist: ${S.configs.length} configs x ${S.seeds.length} seeds, ${S.epochs} epoch(s), work ${S.work}, out ${S.out}`);
  await fs.mkdir(S.work, { recursive: true });
  await fs.mkdir(S.out, { recursive: true });

  // Which runs exist already (for the report's "reused" count).
  let reusedRuns = 0;
  for (const seed of S.seeds)
    for (const config of S.configs) {
      const last = await latestCheckpoint(runDirFor(S, config, seed));
      if (last && last.epoch >= S.epochs) reusedRuns++;
    }
  const runs = await trainAll(S, argv);
  const summary = summarize(S, runs);

  let backend = null;

  let sweeps = null;
  let reusedSweeps = 0;
  let sweepSeconds = 0;
  if (S.sweep) {
    sweeps = {};
    const allEpochs = Array.from({ length: S.epochs + 1 }, (_, i) => i);
    const curvEpochs = S.sweepEpochs ?? allEpochs;
    const esdEpochs = S.esdEpochs ?? [S.epochs];
    for (const e of [...curvEpochs, ...esdEpochs]) if (e > S.epochs) throw new UserError(`--sweep-epochs/--esd-epochs: epoch ${e} is past --epochs ${S.epochs}`);
    for (const c of S.configs) {
      const run = runs.find((r) => r.config === c && r.seed === S.sweepSeed);
      const cur = await ensureSweep(S, run, 'curvature', curvatureAnalysis(S), curvEpochs);
      const esd = await ensureSweep(S, run, 'esd', esdAnalysis(S), esdEpochs);
      reusedSweeps += (cur.reused ? 1 : 0) + (esd.reused ? 1 : 0);
      sweepSeconds += cur.sweep.seconds + esd.sweep.seconds;
      const lastEsd = Math.max(...esd.sweep.epochs);
      const esdReport = JSON.parse(await fs.readFile(path.join(esd.dir, 'reports', `epoch-${String(lastEsd).padStart(3, '0')}.json`), 'utf8'));
      backend ??= esdReport.backend;
      sweeps[c] = { curvature: cur.sweep, esd: esd.sweep, esdEpoch: lastEsd, esdReport, dirs: { curvature: cur.dir, esd: esd.dir } };
    }
  }
  const trends = sweeps ? curvatureTrends(sweeps) : null;
  const dist = sweeps ? distances(sweeps) : null;
  const trainSeconds = runs.reduce((a, r) => a + r.trainSeconds, 0);
  const wallSeconds = (performance.now() - t0) / 1000;
  const R = {
    schema: RESULTS_SCHEMA,
    createdAt: new Date().toISOString(),
    command,
    wallSeconds,
    compute: { trainSeconds, sweepSeconds },
    reused: { runs: reusedRuns, sweeps: reusedSweeps },
    machine: { os: `${os.type()} ${os.release()} ${os.arch()}`, cpuModel: os.cpus()[0]?.model ?? 'unknown', cpus: os.cpus().length, node: process.version, backend: backend ?? S.backend, nativeThreads: process.env.HESSIAN_NATIVE_THREADS ?? null },
    settings: S,
    stepsPerEpoch: runs[0].metrics[0].step,
    paper: { rows: PAPER, settings: PAPER_SETTINGS, source: 'authors\u2019 code README (LeNet + FashionMNIST rows)' },
    summary,
    runs: runs.map((r) => ({ config: r.config, seed: r.seed, runDir: r.dir, trainSeconds: r.trainSeconds, metrics: r.metrics })),
    trends,
    distances: dist,
    sweeps: sweeps
      ? Object.fromEntries(
          Object.entries(sweeps).map(([c, s]) => [
            c,
            {
              seed: S.sweepSeed,
              dirs: s.dirs,
              seconds: { curvature: s.curvature.seconds, esd: s.esd.seconds },
              analysis: { curvature: s.curvature.analysis, esd: s.esd.analysis },
              epochs: s.curvature.epochs,
              scopes: s.curvature.scopes.map((sc) => ({ name: sc.name, kind: sc.kind, depth: sc.depth, epochs: sc.epochs, top: sc.top, topResidual: sc.topResidual, trace: sc.trace, traceStderr: sc.traceStderr })),
              esdEpoch: s.esdEpoch,
              lossValue: s.esdReport.lossValue,
            },
          ]),
        )
      : null,
  };
  R.differences = differences(R);

  const files = [['test-error.svg', testErrorFigure(S, summary)]];
  if (sweeps) {
    files.push(['trace.svg', perScopeFigure(S, sweeps, (s) => s.trace, (s) => s.traceStderr, 'Hessian trace during training (Hutchinson, \u00b1 stderr)', 'trace')]);
    files.push(['top-eigenvalue.svg', perScopeFigure(S, sweeps, (s) => s.top, null, 'Top Hessian eigenvalue during training (Lanczos)', 'lambda_max')]);
    files.push(['esd-distance-vs-depth.svg', distanceFigure(S, dist)]);
  }
  // Remove figures of an earlier invocation that this one does not write (e.g. --no-sweep).
  for (const stale of ['trace.svg', 'top-eigenvalue.svg', 'esd-distance-vs-depth.svg']) if (!files.some(([f]) => f === stale)) await fs.rm(path.join(S.out, stale), { force: true });
  R.wallSeconds = (performance.now() - t0) / 1000;
  R.files = ['REPORT.md', 'results.json', ...files.map(([f]) => f)];
  for (const [f, svg] of files) await writeFileAtomic(path.join(S.out, f), svg);
  await writeFileAtomic(path.join(S.out, 'results.json'), JSON.stringify(R, null, 1) + '\n');
  await writeFileAtomic(path.join(S.out, 'REPORT.md'), renderReport(R));

  log('');
  log(`test error (%), mean +- sd over seeds ${S.seeds.join(',')}:`);
  for (const c of S.configs) {
    const s = summary[c];
    log(`  ${CONFIGS[c].label.padEnd(26)} ${f2(s.mean)} +- ${f2(s.sd)}   paper ${s.paper ? `${f2(s.paper.mean)} +- ${f2(s.paper.sd)}` : '—'}`);
  }
  log(`wrote ${R.files.map((f) => path.join(S.out, f)).join(', ')} in ${fmtDur(R.wallSeconds)}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    if (isUserError(e)) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`${e?.stack ?? e}\n`);
    process.exit(1);
  },
);
