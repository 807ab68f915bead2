/**
 * What a prepared engine costs: its memory (budget.ts's estimate from the model's shapes) and the
 * time of one operator product, measured by a calibration HVP on the first micro-batch and scaled
 * by the number of examples (products are sums over micro-batches). Prepare reports both, so the
 * coordinator and `hessctl analyze --dry-run` can predict a plan's time and bytes before it runs.
 */
import { HessianEngine, sliceBatch, type Batch, type Model } from '@hessian/engine';
import { Rng } from '@hessian/linalg';
import { chooseLanczos, type EngineShape } from './budget.js';
import type { Task } from './plan.js';

// examplesOf lives in examples.ts (no engine there) and is still exported from here.
export { examplesOf } from './examples.js';

/** Floats per example over every layer's output (what a forward pass holds per example). */
export function activationsPerExample(model: Model): number {
  return model.layers().reduce((a, l) => (l.className === 'InputLayer' ? a : a + l.outputShape.reduce((x, y) => x * y, 1)), 0);
}

export function engineShape(model: Model, examples: number, batchSize: number): EngineShape {
  return {
    params: model.paramCount,
    inputSize: model.inputShape.reduce((a, b) => a * b, 1),
    activationsPerExample: activationsPerExample(model),
    examples,
    batchSize,
  };
}

/**
 * Seconds of one full-network Hessian product over the whole batch: one product on the first
 * micro-batch (at most 64 examples, so a Prepare never pays for a whole large product), times
 * examples / micro-batch.
 */
export async function calibrateHvp(model: Model, batch: Batch, batchSize: number, loss: 'cross-entropy' | 'mse'): Promise<number> {
  const n = batch.shape[0];
  const mb = Math.max(1, Math.min(64, batchSize > 0 ? batchSize : n, n));
  const e = new HessianEngine(model, sliceBatch(batch, 0, mb), { loss });
  try {
    const op = e.operator('hessian', { kind: 'full' });
    const v = new Rng(0).gaussian(op.dim);
    // No warm-up product: Prepare (the coordinator's submit check waits for it) pays one product
    // only; the first product's one-time costs make the estimate pessimistic, never optimistic.
    const t0 = performance.now();
    await op.matvec(v);
    return ((performance.now() - t0) / 1000) * (n / mb);
  } finally {
    e.dispose();
  }
}

/** Predicted seconds of a task: its expected products times the seconds of one product. */
export function taskSeconds(task: Pick<Task, 'cost'>, hvpSeconds: number): number {
  return task.cost * hvpSeconds;
}

export interface PlanPrediction {
  tasks: number;
  hvps: number;
  /** Seconds of the whole plan on one worker. */
  seconds: number;
  /** Makespan on N workers (longest-task-first onto the least loaded worker), by N. */
  secondsOn: Record<number, number>;
  /** Largest vector bytes of one task in the mode it will run in. */
  maxTaskBytes: number;
  /** Lanczos modes the tasks will run in, with counts ('full/float64': 12). */
  modes: Record<string, number>;
}

/**
 * Predicted cost of a plan from the calibration product: each task's expected products
 * (`cost`) times the seconds of one product. Layer-block products run the whole forward pass
 * and a backward pass that stops at the block, so they are counted as full products (an upper
 * bound; bench/large measures both).
 */
export function predictPlan(
  p: { scopes: { name: string; params: number }[]; tasks: Task[] },
  hvpSeconds: number,
  available: number,
  workers: number[] = [1, 2, 4, 8, 16],
): PlanPrediction {
  const dims = new Map(p.scopes.map((s) => [s.name, s.params]));
  const modes: Record<string, number> = {};
  let maxTaskBytes = 0;
  let hvps = 0;
  const durations: number[] = [];
  for (const t of p.tasks) {
    const dim = dims.get(t.scope) ?? 0;
    hvps += t.cost;
    durations.push(taskSeconds(t, hvpSeconds));
    let bytes = dim * 8 * 3;
    if (t.kind === 'lanczos-top-k' || t.kind === 'slq-density') {
      const c = t.kind === 'lanczos-top-k' ? chooseLanczos('top-k', dim, t.maxIter, t.k, available) : chooseLanczos('density', dim, t.steps, 0, available);
      const key = c ? `${c.mode}/${c.storage}` : 'does not fit';
      modes[key] = (modes[key] ?? 0) + 1;
      bytes = c?.bytes ?? Infinity;
    }
    maxTaskBytes = Math.max(maxTaskBytes, bytes);
  }
  const sorted = durations.slice().sort((a, b) => b - a);
  const secondsOn: Record<number, number> = {};
  for (const n of workers) {
    const load = new Array<number>(n).fill(0);
    for (const d of sorted) {
      let i = 0;
      for (let j = 1; j < n; j++) if (load[j] < load[i]) i = j;
      load[i] += d;
    }
    secondsOn[n] = Math.max(...load);
  }
  return { tasks: p.tasks.length, hvps, seconds: durations.reduce((a, b) => a + b, 0), secondsOn, maxTaskBytes, modes };
}

/** The range a task's predicted seconds should fall in: long enough to hide dispatch costs, short enough to lose little when a worker dies. */
export const TASK_SECONDS = { min: 0.1, max: 10 } as const;

/**
 * Trace probes per task (`--trace-chunk`) whose predicted time falls in TASK_SECONDS, aiming at
 * about 1 s (the range's geometric middle), or null when the given chunk already does. The
 * chunk is the user's choice, never changed behind their back: its probes' seeds come from the
 * chunk's task id, so another chunk size gives other (equally valid) numbers. `--dry-run` and
 * the coordinator's job log print this advice from the calibration product.
 */
export function traceChunkAdvice(hvpSeconds: number, chunk: number, probes: number): { chunk: number; seconds: number; why: string } | null {
  if (!(hvpSeconds > 0)) return null;
  const seconds = Math.min(chunk, probes) * hvpSeconds;
  if (seconds >= TASK_SECONDS.min && seconds <= TASK_SECONDS.max) return null;
  const best = Math.max(1, Math.min(probes, Math.round(1 / hvpSeconds)));
  if (best === Math.min(chunk, probes)) return null;
  const why =
    seconds > TASK_SECONDS.max
      ? best * hvpSeconds > TASK_SECONDS.max
        ? `one product takes ${hvpSeconds.toFixed(1)} s, so even one probe per task is longer than ${TASK_SECONDS.max} s`
        : `tasks of ${chunk} probes would take ${seconds.toFixed(1)} s each (a lost worker loses that much)`
      : `tasks of ${chunk} probes would take ${(seconds * 1000).toFixed(1)} ms each (dispatch costs more than the work)`;
  return { chunk: best, seconds: best * hvpSeconds, why };
}

/**
 * The gRPC deadline of a task: the configured floor (HESSIAN_TASK_DEADLINE_S), raised to 10x its
 * predicted time from the calibration product, so a long task on a large model (a full-network
 * Lanczos run of 100 products of 100 s) is not killed and retried forever by a fixed deadline.
 */
export function taskDeadlineSeconds(task: Pick<Task, 'cost'>, hvpSeconds: number, floorS: number): number {
  return Math.max(floorS, hvpSeconds > 0 ? 10 * taskSeconds(task, hvpSeconds) : 0);
}
