/**
 * Checkpoints: DIR/checkpoints/epoch-NNN/ with model.json + weights.bin (tfjs LayersModel,
 * loadable by loadModel and tf.loadLayersModel), momentum.bin (the SGD buffer, float32
 * little-endian, absent before the first step) and state.json (written last).
 *
 * Atomicity: everything is written into a hidden temporary folder next to the final one,
 * which is then renamed into place (one rename on one file system). A crash at any point
 * leaves either the complete new checkpoint or none; `latestCheckpoint` only sees complete
 * ones, and leftover temporary folders are removed by `cleanTemporary`.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Model } from '@hessian/engine';
import { UserError } from '@hessian/linalg';
import type { TrainSpec } from './spec.js';

export const STATE_SCHEMA = 'hessian-cluster/train-state/v1';

export interface EpochMetrics {
  kind: 'epoch';
  epoch: number;
  step: number;
  lr: number;
  trainLoss: number;
  trainAcc: number;
  testLoss: number;
  testAcc: number;
  /** mean regularizer value over the epoch's regularized steps (null: none ran) */
  reg: number | null;
  regSteps: number;
  seconds: number;
}

export interface TrainState {
  schema: typeof STATE_SCHEMA;
  /** epochs completed (0 = the initial weights) */
  epoch: number;
  /** optimizer steps completed */
  step: number;
  /** shuffling and probes derive from (seed, epoch, step): no generator state to save */
  seed: number;
  /** whether momentum.bin holds the SGD buffer */
  momentum: boolean;
  /** training seconds so far (wall clock, this and earlier sessions) */
  seconds: number;
  metrics: EpochMetrics[];
  spec: TrainSpec;
}

export interface CheckpointHooks {
  /** Called after each file is written into the temporary folder (tests simulate crashes here). */
  afterFile?: (file: string) => void | Promise<void>;
}

export function checkpointName(epoch: number): string {
  return `epoch-${String(epoch).padStart(3, '0')}`;
}

export function checkpointsDir(runDir: string): string {
  return path.join(runDir, 'checkpoints');
}

export async function writeCheckpoint(runDir: string, model: Model, buf: Float32Array | null, state: TrainState, hooks: CheckpointHooks = {}): Promise<string> {
  const root = checkpointsDir(runDir);
  await fs.mkdir(root, { recursive: true });
  const final = path.join(root, checkpointName(state.epoch));
  const tmp = path.join(root, `.tmp-${checkpointName(state.epoch)}-${process.pid}-${randomUUID()}`);
  try {
    await model.save(tmp);
    await hooks.afterFile?.('model.json');
    if (buf) {
      await fs.writeFile(path.join(tmp, 'momentum.bin'), Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
      await hooks.afterFile?.('momentum.bin');
    }
    await fs.writeFile(path.join(tmp, 'state.json'), JSON.stringify(state, null, 1));
    await hooks.afterFile?.('state.json');
    await fs.rm(final, { recursive: true, force: true });
    await fs.rename(tmp, final);
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
  return final;
}

/** Removes temporary folders left by a crash during a checkpoint write. */
export async function cleanTemporary(runDir: string): Promise<void> {
  const root = checkpointsDir(runDir);
  let names: string[];
  try {
    names = await fs.readdir(root);
  } catch {
    return;
  }
  for (const n of names) if (n.startsWith('.tmp-')) await fs.rm(path.join(root, n), { recursive: true, force: true });
}

/** Complete checkpoints of a run, by epoch. */
export async function listCheckpoints(runDir: string): Promise<{ epoch: number; dir: string }[]> {
  let names: string[];
  try {
    names = await fs.readdir(checkpointsDir(runDir));
  } catch {
    return [];
  }
  const out: { epoch: number; dir: string }[] = [];
  for (const n of names) {
    const m = /^epoch-(\d+)$/.exec(n);
    if (!m) continue;
    const dir = path.join(checkpointsDir(runDir), n);
    try {
      await fs.access(path.join(dir, 'state.json'));
      out.push({ epoch: Number(m[1]), dir });
    } catch {
      // not a checkpoint written by us
    }
  }
  return out.sort((a, b) => a.epoch - b.epoch);
}

export async function latestCheckpoint(runDir: string): Promise<{ epoch: number; dir: string } | null> {
  const all = await listCheckpoints(runDir);
  return all.length ? all[all.length - 1] : null;
}

export async function readState(dir: string): Promise<{ state: TrainState; momentum: Float32Array | null }> {
  let state: TrainState;
  try {
    state = JSON.parse(await fs.readFile(path.join(dir, 'state.json'), 'utf8')) as TrainState;
  } catch (e) {
    throw new UserError(`Checkpoint ${dir} has no readable state.json (${(e as Error).message}); resume from another checkpoint or start a new run.`, 'FAILED_PRECONDITION');
  }
  if (state.schema !== STATE_SCHEMA) throw new UserError(`Checkpoint ${dir} has state schema ${JSON.stringify(state.schema)}, expected ${STATE_SCHEMA}.`, 'FAILED_PRECONDITION');
  let momentum: Float32Array | null = null;
  if (state.momentum) {
    const b = await fs.readFile(path.join(dir, 'momentum.bin'));
    const copy = new Uint8Array(b.byteLength);
    copy.set(b);
    momentum = new Float32Array(copy.buffer);
  }
  return { state, momentum };
}
