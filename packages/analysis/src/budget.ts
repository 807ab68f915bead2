/**
 * The worker's memory budget and what fits in it (issue #13): the engine (model, data,
 * activations of one micro-batch) is estimated from the model's shapes, and each Lanczos task
 * takes the most accurate mode whose vectors fit in what is left: full reorthogonalization with
 * a float64 basis (top-k's default; SLQ's semi-orthogonal basis is float32 by default), a float32 basis, then bounded memory (local
 * reorthogonalization for SLQ, thick restart for top-k). What fits in no mode is refused before
 * it starts, with a sentence naming the limit and what to change, never an out-of-memory kill.
 */
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { lanczosMemoryBytes, UserError, type BasisStorage, type LanczosMemoryPlan } from '@hessian/linalg';

export interface MemoryBudget {
  bytes: number;
  /** Where the number came from, for messages: 'HESSIAN_WORKER_MEMORY=8G' or '75% of 16 GB'. */
  source: string;
}

const UNITS: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, ki: 2 ** 10, mi: 2 ** 20, gi: 2 ** 30, ti: 2 ** 40 };

/** '8G', '8GiB', '512MiB', '4e9', '4000000000' -> bytes; null when unreadable. */
export function parseByteSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([kmgt]i?)?b?\s*$/i.exec(text);
  if (!m) return null;
  const v = Number(m[1]) * UNITS[(m[2] ?? '').toLowerCase()];
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : null;
}

export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  return `${Math.ceil(n / 1e3)} kB`;
}

/**
 * The memory this process may use: the machine's, or the container's cgroup limit when lower
 * (inside a Kubernetes pod os.totalmem() reports the node).
 */
export function machineMemory(): number {
  let total = totalmem();
  for (const f of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      const v = Number(readFileSync(f, 'utf8').trim());
      if (Number.isFinite(v) && v > 0) total = Math.min(total, v);
    } catch {
      // no such cgroup file ('max' parses as NaN: unlimited)
    }
  }
  return total;
}

/** HESSIAN_WORKER_MEMORY (e.g. 8G), else 75% of the machine's (or container's) memory. */
export function workerMemoryBudget(env: NodeJS.ProcessEnv = process.env, total = machineMemory()): MemoryBudget {
  const raw = env['HESSIAN_WORKER_MEMORY'];
  if (raw !== undefined && raw.trim() !== '') {
    const bytes = parseByteSize(raw);
    if (bytes === null) throw new UserError(`HESSIAN_WORKER_MEMORY must be a size such as 8G, 512MiB or 4000000000, got '${raw}'.`, 'FAILED_PRECONDITION');
    return { bytes, source: `HESSIAN_WORKER_MEMORY=${raw.trim()}` };
  }
  return { bytes: Math.floor(0.75 * total), source: `75% of this machine's ${formatBytes(total)} (set HESSIAN_WORKER_MEMORY to change it)` };
}

/**
 * The budget of one `--workers N` thread: the N threads live in one process beside the main
 * thread's engine, each with its own engine and task vectors, so each gets an equal share of
 * what the main engine leaves. (A worker service's budget is its process's; see services/worker.)
 */
export function threadBudget(budget: MemoryBudget, mainEngineBytes: number, threads: number): MemoryBudget {
  return {
    bytes: Math.max(0, Math.floor((budget.bytes - mainEngineBytes) / threads)),
    source: `one of ${threads} threads' shares of ${formatBytes(budget.bytes)} (${budget.source}) after the main engine's ${formatBytes(mainEngineBytes)}; fewer --workers give each thread more`,
  };
}

/** What the engine estimate needs to know of the model and data. */
export interface EngineShape {
  params: number;
  /** Floats per example of the model input. */
  inputSize: number;
  /** Floats per example over every layer's output (the activations one forward pass keeps). */
  activationsPerExample: number;
  examples: number;
  /** Examples per micro-batch (--batch-size; 0 = all). */
  batchSize: number;
}

/**
 * float32 copies of the parameters alive during a product: the weights, the flat JS copy, v, the
 * gradient, Hv and its JS copy, the tape's intermediates of the double backprop.
 */
const PARAM_COPIES = 8;
/**
 * Bytes per activation float of one micro-batch during an HVP (forward kept for the backward,
 * backward kept for the second backward, and their gradients): measured on resnet18 and lenet
 * with bench/large/hvp.mjs (peak RSS growth / (micro-batch x activations per example) ~= 40 bytes),
 * rounded up.
 */
const ACTIVATION_BYTES = 48;
/** Node, tfjs and the backend's own resident memory. */
const BASE_BYTES = 300e6;

/**
 * Bytes per activation float of every example that R-op products cache (engine/src/rop.ts:
 * layer input, pre-activation, phi', dL/dy, dL/dz): measured 37 MB for lenet on 256 examples
 * (7.6k activations each, 19 bytes), rounded up.
 */
const ROP_CACHE_BYTES = 20;

/** The R-op cache of all examples, at most `cap` (beyond it the engine recomputes per product). */
export function ropCacheBytes(s: EngineShape, cap: number): number {
  return Math.min(cap, s.examples * s.activationsPerExample * ROP_CACHE_BYTES);
}

export function microBatch(s: EngineShape): number {
  return s.batchSize > 0 ? Math.min(s.batchSize, s.examples) : s.examples;
}

/** Estimated peak bytes of a prepared engine computing one product (no Lanczos vectors). */
export function engineBytes(s: EngineShape): number {
  // The data set is held twice: the loaded Float32Array and the engine's per-chunk tensors.
  return BASE_BYTES + s.params * 4 * PARAM_COPIES + 2 * s.examples * s.inputSize * 4 + microBatch(s) * s.activationsPerExample * ACTIVATION_BYTES;
}

/** Largest micro-batch whose activations fit in `bytes` beside the rest of the engine (0: none). */
export function microBatchThatFits(s: EngineShape, bytes: number): number {
  const fixed = engineBytes({ ...s, batchSize: 1 }) - s.activationsPerExample * ACTIVATION_BYTES;
  return Math.max(0, Math.floor((bytes - fixed) / (s.activationsPerExample * ACTIVATION_BYTES)));
}

/**
 * Refuses an engine that would not fit the budget, naming --batch-size (with a value that fits)
 * or fewer examples. Called before the data are loaded (examples from the data spec).
 */
export function checkEngineFits(s: EngineShape, budget: MemoryBudget): void {
  const need = engineBytes(s);
  if (need <= budget.bytes) return;
  const fits = microBatchThatFits(s, 0.8 * budget.bytes);
  const fix =
    fits >= 1 && fits < microBatch(s)
      ? `give --batch-size ${Math.min(fits, 2 ** Math.floor(Math.log2(fits)))} (micro-batches give the same Hessian of the mean loss)`
      : `use fewer examples in --data`;
  throw new UserError(
    `memory: ${s.examples} examples of ${s.params} parameters need about ${formatBytes(need)} on a worker, more than its budget of ${formatBytes(budget.bytes)} (${budget.source}); ${fix}, or raise HESSIAN_WORKER_MEMORY`,
    'INVALID_ARGUMENT',
  );
}

export interface LanczosChoice {
  mode: LanczosMemoryPlan['mode'];
  storage: BasisStorage;
  window?: number;
  maxBasis?: number;
  bytes: number;
}

/**
 * The most accurate Lanczos mode whose vectors fit in `available` bytes, or null. `kind`:
 * 'top-k' (Ritz vectors wanted: thick restart as the bounded mode) or 'density' (coefficients
 * only: local reorthogonalization).
 */
export function chooseLanczos(kind: 'top-k' | 'density', dim: number, steps: number, k: number, available: number): LanczosChoice | null {
  // SLQ keeps its basis semi-orthogonal (partial reorthogonalization: |q_i . q_k| <= ~1e-3), so
  // float32 storage (rounding 6e-8) costs it nothing measurable and halves the bytes of every
  // memory-bound sweep over the basis: float32 is its default; top-k's Ritz vectors stay float64.
  const candidates: Omit<LanczosChoice, 'bytes'>[] = kind === 'density' ? [{ mode: 'full', storage: 'float32' }] : [{ mode: 'full', storage: 'float64' }, { mode: 'full', storage: 'float32' }];
  if (kind === 'density') candidates.push({ mode: 'local', storage: 'float64', window: 2 }, { mode: 'local', storage: 'float32', window: 2 });
  else for (const m of [2 * k + 20, 2 * k + 10, k + 4, k + 2]) if (m < Math.min(steps, dim)) candidates.push({ mode: 'thick-restart', storage: 'float32', maxBasis: m });
  for (const c of candidates) {
    const bytes = lanczosMemoryBytes({ dim, steps, k: kind === 'top-k' ? k : 0, ...c });
    if (bytes <= available) return { ...c, bytes };
  }
  return null;
}

/** Bytes of a task's own vectors in its smallest mode (Lanczos) or as run (trace, power). */
export function taskMinimumBytes(task: { kind: string; k?: number; steps?: number; maxIter?: number }, dim: number): number {
  if (task.kind === 'slq-density') return lanczosMemoryBytes({ dim, steps: task.steps ?? 1, mode: 'local', storage: 'float32', window: 2 });
  if (task.kind === 'lanczos-top-k') {
    const k = task.k ?? 1;
    return lanczosMemoryBytes({ dim, steps: task.maxIter ?? 1, mode: 'thick-restart', storage: 'float32', k, maxBasis: Math.min(k + 2, dim) });
  }
  // Power iteration keeps k float64 vectors; trace estimators a probe and its product.
  if (task.kind === 'power-iteration') return dim * 8 * ((task.k ?? 1) + 3);
  return dim * 8 * 3;
}

/**
 * Refuses a plan with a task whose vectors cannot fit beside the engine in any Lanczos mode
 * (the coordinator runs this at submit with the numbers a worker's Prepare reported).
 */
export function checkPlanFits(
  p: { scopes: { name: string; params: number }[]; tasks: { id: string; scope: string; kind: string; k?: number; steps?: number; maxIter?: number }[] },
  memory: { budgetBytes: number; budgetSource: string; engineBytes: number },
): void {
  const dims = new Map(p.scopes.map((s) => [s.name, s.params]));
  const available = memory.budgetBytes - memory.engineBytes;
  for (const t of p.tasks) {
    const need = taskMinimumBytes(t, dims.get(t.scope) ?? 0);
    if (need <= available) continue;
    throw new UserError(
      `memory: task ${t.id} needs at least ${formatBytes(need)} for its vectors beside the engine's ${formatBytes(memory.engineBytes)} (model, data, one micro-batch), more than a worker's budget of ${formatBytes(memory.budgetBytes)} (${memory.budgetSource}); give a smaller --batch-size or fewer examples, or raise HESSIAN_WORKER_MEMORY on the workers`,
      'INVALID_ARGUMENT',
    );
  }
}

/** chooseLanczos for a running task, or the refusal naming the budget (RESOURCE_EXHAUSTED). */
export function lanczosModeFor(kind: 'top-k' | 'density', dim: number, steps: number, k: number, available: number, taskId: string): LanczosChoice {
  const c = chooseLanczos(kind, dim, steps, k, available);
  if (c) return c;
  throw new UserError(
    `memory: task ${taskId} needs more than the ${formatBytes(Math.max(0, available))} left on this worker after the model and data, even with a bounded Lanczos basis; lower --batch-size or raise HESSIAN_WORKER_MEMORY`,
    'RESOURCE_EXHAUSTED',
  );
}

/** The mode a result records: only one other than the kind's default (chooseLanczos's first), so default reports say nothing. */
export function modeNote(c: LanczosChoice, kind: 'top-k' | 'density' = 'top-k'): { lanczos?: string } {
  const dflt = c.mode === 'full' && c.storage === (kind === 'density' ? 'float32' : 'float64');
  return dflt ? {} : { lanczos: `${c.mode}/${c.storage}${c.maxBasis ? `/basis ${c.maxBasis}` : ''}` };
}
