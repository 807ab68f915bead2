/**
 * The training runs: one TrainSpec per (config, seed), a folder named by the settings, and
 * train / resume / reuse through @hessian/training's public API. A run's status (how many
 * epochs it has, its per-epoch metrics) comes from its latest checkpoint's state.json, so
 * the report can say how far an unfinished run got without touching it.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { latestCheckpoint, listCheckpoints, normalizeTrainSpec, readState, resume, train, type EpochMetrics, type PartialTrainSpec, type TrainOptions, type TrainSpec } from '@hessian/training';
import { epochsOf, sweepEpochs, type Config, type Settings } from './protocol.js';

/** The settings a run is made of (hashed for its folder name: fields later added to TrainSpec with defaults do not move it). */
export function partialSpecFor(S: Settings, config: Config, seed: number): PartialTrainSpec {
  const htr = config === 'htr' || config === 'htr-middle';
  return {
    model: S.model,
    modelSeed: seed,
    seed,
    data: S.trainData,
    testData: S.testData,
    pad: S.pad,
    normalize: S.normalize,
    augment: S.augment,
    epochs: epochsOf(S, config),
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
      start: config === 'htr-middle' ? S.htrStartMiddle : S.htrStart,
    },
  };
}

export function trainSpecFor(S: Settings, config: Config, seed: number): TrainSpec {
  return normalizeTrainSpec(partialSpecFor(S, config, seed));
}

export function hash(x: unknown): string {
  return createHash('sha256').update(JSON.stringify(x)).digest('hex').slice(0, 10);
}

/** Run folder: every setting but the epoch count names it (a longer run extends a shorter one; cosine depends on it). */
export function runDirFor(S: Settings, config: Config, seed: number): string {
  const spec = partialSpecFor(S, config, seed);
  const key = { ...spec, epochs: S.schedule.startsWith('cosine') ? spec.epochs : null };
  return path.join(S.work, 'runs', `${config}-seed${seed}-${hash(key)}`);
}

export interface RunStatus {
  config: Config;
  seed: number;
  dir: string;
  /** epochs completed (0: only the initial weights, -1: not started) */
  done: number;
  total: number;
  complete: boolean;
  metrics: EpochMetrics[];
  trainSeconds: number;
}

/** How far a run got, from its latest checkpoint (nothing is changed). */
export async function runStatus(S: Settings, config: Config, seed: number): Promise<RunStatus> {
  const dir = runDirFor(S, config, seed);
  const total = epochsOf(S, config);
  const last = await latestCheckpoint(dir).catch(() => null);
  if (!last) return { config, seed, dir, done: -1, total, complete: false, metrics: [], trainSeconds: 0 };
  const { state } = await readState(last.dir);
  return { config, seed, dir, done: state.epoch, total, complete: state.epoch >= total, metrics: state.metrics.slice(0, total), trainSeconds: state.seconds };
}

/** Deletes checkpoints that neither a sweep nor a resume needs (all but the latest and the sweep epochs). */
export async function pruneCheckpoints(S: Settings, config: Config, dir: string, swept: ReadonlySet<number>): Promise<void> {
  const want = new Set(sweepEpochs(S, config).filter((e) => !swept.has(e)));
  const cps = await listCheckpoints(dir);
  const latest = cps[cps.length - 1]?.epoch;
  for (const c of cps) if (c.epoch !== latest && !want.has(c.epoch)) await fs.rm(c.dir, { recursive: true, force: true });
}

export function fmtDur(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const r = Math.max(0, Math.round(s));
  const h = Math.floor(r / 3600);
  const m = Math.floor((r % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(r % 60).padStart(2, '0')}s` : `${r % 60}s`;
}

/** Trains, resumes or reuses one run; `log` gets one line per epoch. */
export async function ensureRun(S: Settings, config: Config, seed: number, log: (line: string) => void, onEpoch?: (epoch: number) => Promise<void>): Promise<RunStatus> {
  const dir = runDirFor(S, config, seed);
  const tag = `[${config} seed ${seed}]`;
  const spec = trainSpecFor(S, config, seed);
  const before = await runStatus(S, config, seed);
  if (before.complete) return before;
  let prev = before.trainSeconds;
  let eta: number | null = null;
  const opts: TrainOptions = {
    backend: S.backend as TrainOptions['backend'],
    onStart: (i) => log(`${tag} ${before.done >= 0 ? `resuming after epoch ${before.done}` : 'training'}: ${i.examples} examples, backend ${i.backend}${spec.htr.gamma > 0 ? `, HTR blocks ${i.blocks.join(',')}` : ''} (${dir})`),
    onProgress: (p) => {
      eta = p.etaSeconds;
    },
    onEpoch: (m) => {
      const dt = m.seconds - prev;
      prev = m.seconds;
      const reg = m.reg === null ? '' : `  reg ${m.reg.toPrecision(3)} (${m.regSteps} steps)`;
      log(`${tag} epoch ${m.epoch}/${spec.epochs}  loss ${m.trainLoss.toFixed(4)}  test err ${(100 * (1 - m.testAcc)).toFixed(2)}%${reg}  ${dt.toFixed(0)} s  run ETA ${fmtDur(m.epoch >= spec.epochs ? 0 : (eta ?? NaN))}`);
    },
  };
  // The trainer's onEpoch is synchronous; pruning waits for the next epoch (or the end).
  let chain = Promise.resolve();
  const user = opts.onEpoch!;
  opts.onEpoch = (m) => {
    user(m);
    if (onEpoch) chain = chain.then(() => onEpoch(m.epoch));
  };
  if (before.done >= 0) await resume(dir, { ...opts, epochs: spec.epochs });
  else await train(spec, dir, opts);
  await chain;
  return runStatus(S, config, seed);
}
