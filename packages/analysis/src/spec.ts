/**
 * AnalysisSpec: what a user asks for. `normalizeSpec` fills defaults and validates every
 * field, throwing a UserError whose sentence names the field and what to change, so the
 * CLI and the coordinator reject bad input the same way before any work starts.
 */
import { UserError } from '@hessian/linalg';
import { methodNames, REGISTRY, type MethodName } from './estimators/registry.js';

export type LayerSelection =
  | { select: 'all' }
  | { select: 'middle' }
  | { select: 'names'; names: string[] }
  | { select: 'regex'; pattern: string };

export type Convention = 'layer' | 'weights-only';
/** Top-k methods: the registered estimators tagged `topK` ('lanczos' | 'power'). */
export type EigenMethod = MethodName<'topK'>;
/** Trace methods: the registered estimators tagged `trace` ('auto' | 'exact-diagonal' | 'hutchinson' | 'hutch++'). */
export type TraceMethod = MethodName<'trace'>;
export type DensityPreset = 'pyhessian' | 'papyan';
export type LossName = 'cross-entropy' | 'mse';

export interface TopKSpec {
  k: number;
  method: EigenMethod;
  /** Lanczos: relative residual; power: relative change of the eigenvalue (PyHessian). */
  tol: number;
  /** Lanczos steps or power iterations per eigenvalue. */
  maxIter: number;
}

export interface TraceSpec {
  method: TraceMethod;
  /** Probe budget (Hutchinson) or matvec budget (Hutch++). */
  probes: number;
  /** Stop a scope's Hutchinson estimate once stderr <= target * |mean| (0 = use the whole budget). */
  targetRelStderr: number;
  /** Probes per task: the unit of distribution and of early stopping. */
  chunk: number;
  /** Also estimate every layer's trace from full-network probes (one HVP gives all layers). */
  fromFullProbes: boolean;
}

export interface DensitySpec {
  runs: number;
  steps: number;
  preset: DensityPreset;
  gridPoints: number;
}

export interface AnalysisSpec {
  model: string;
  /** Seed of a zoo model's initial weights (ignored for model.json files). */
  modelSeed: number;
  data: string;
  /** Balanced subset: the first k examples of each class within the selection (0 = off). */
  perClass: number;
  loss: LossName;
  layers: LayerSelection;
  convention: Convention;
  /** Analyze the full network too (needed for layer-to-full similarity). */
  full: boolean;
  topK: TopKSpec | null;
  trace: TraceSpec | null;
  density: DensitySpec | null;
  /** Also analyze the Gauss-Newton part G and the residual H - G. */
  gaussNewton: boolean;
  /** Distances between each layer's ESD and the full network's (needs density and full). */
  similarity: boolean;
  /** Micro-batch size for HVPs (0 = whole batch at once); changes memory, not results beyond float rounding. */
  batchSize: number;
  seed: number;
  /**
   * Scopes of at most this many parameters are computed exactly (dense block, float64
   * eigendecomposition) when building costs no more than estimating (estimators/exact-rule.ts); 0 = never.
   */
  exactMax: number;
}

export type PartialSpec = Partial<Omit<AnalysisSpec, 'topK' | 'trace' | 'density'>> & {
  model: string;
  topK?: Partial<TopKSpec> | null;
  trace?: Partial<TraceSpec> | null;
  density?: Partial<DensitySpec> | null;
};

/** PyHessian's defaults (power iteration maxIter=100 tol=1e-3, Hutchinson 100 probes, density iter=100 n_v=1). */
export const PYHESSIAN_PRESET = {
  topK: { k: 1, method: 'power', tol: 1e-3, maxIter: 100 },
  trace: { method: 'hutchinson', probes: 100, targetRelStderr: 0, chunk: 10, fromFullProbes: false },
  density: { runs: 1, steps: 100, preset: 'pyhessian', gridPoints: 10000 },
} as const;

export const DEFAULTS = {
  data: 'fashion-mnist:train[0:256]',
  exactMax: 1000,
  topK: { k: 3, method: 'lanczos' as EigenMethod, tol: 1e-4, maxIter: 100 },
  trace: { method: 'auto' as TraceMethod, probes: 100, targetRelStderr: 0, chunk: 10, fromFullProbes: false },
  density: { runs: 5, steps: 80, preset: 'papyan' as DensityPreset, gridPoints: 1000 },
};

/** Lanczos steps per SLQ run; PyHessian uses 100, Papyan 80: beyond 1000 the quadrature gains nothing visible. */
export const MAX_DENSITY_STEPS = 1000;

function bad(field: string, message: string): never {
  throw new UserError(`${field}: ${message}`, 'INVALID_ARGUMENT');
}

function positiveInt(field: string, v: unknown, max = 1e9): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
    bad(field, `must be a positive whole number, got ${JSON.stringify(v)}`);
  if (v > max) bad(field, `must be at most ${max}, got ${v}`);
  return v;
}

function nonNegInt(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    bad(field, `must be zero or a positive whole number, got ${JSON.stringify(v)}`);
  return v;
}

function positiveNumber(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) bad(field, `must be a positive number, got ${JSON.stringify(v)}`);
  return v;
}

function oneOf<T extends string>(field: string, v: unknown, options: readonly T[]): T {
  if (typeof v !== 'string' || !options.includes(v as T))
    bad(field, `must be one of ${options.join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

/** Parses the CLI's --layers value: all | middle | /regex/ | name,name,... */
export function parseLayerSelection(text: string): LayerSelection {
  const t = text.trim();
  if (t === '' ) bad('layers', 'is empty; give all, middle, a comma-separated list of layer names or /regex/');
  if (t === 'all') return { select: 'all' };
  if (t === 'middle') return { select: 'middle' };
  if (t.length >= 2 && t.startsWith('/') && t.endsWith('/')) return { select: 'regex', pattern: t.slice(1, -1) };
  const names = t.split(',').map((s) => s.trim());
  if (names.some((n) => n === '')) bad('layers', `"${text}" has an empty name; separate layer names with single commas`);
  return { select: 'names', names };
}

export function normalizeSpec(p: PartialSpec): AnalysisSpec {
  if (typeof p.model !== 'string' || p.model.trim() === '')
    bad('model', 'is required: give zoo:NAME (see `hessctl models`) or the path of a model.json');
  const layers: LayerSelection = p.layers ?? { select: 'all' };
  if (layers.select === 'names') {
    if (!Array.isArray(layers.names) || layers.names.length === 0) bad('layers', 'names the layers to analyze but the list is empty');
  } else if (layers.select === 'regex') {
    try {
      new RegExp(layers.pattern);
    } catch {
      bad('layers', `/${layers.pattern}/ is not a valid regular expression`);
    }
  } else if (layers.select !== 'all' && layers.select !== 'middle') {
    bad('layers', 'must select all, middle, names or regex');
  }
  const topK =
    p.topK === null
      ? null
      : (() => {
          const t = { ...DEFAULTS.topK, ...(p.topK ?? {}) };
          const r = {
            k: positiveInt('top-k', t.k, 1000),
            method: oneOf('eig-method', t.method, methodNames('topK')),
            tol: positiveNumber('eig-tol', t.tol),
            maxIter: positiveInt('eig-max-iter', t.maxIter, 100000),
          };
          // Lanczos finds at most one eigenvalue per step (a layer smaller than k is analyzed
          // for all its eigenvalues: plan caps k and the steps at its size).
          if (r.method === 'lanczos' && r.k > r.maxIter)
            bad('top-k', `${r.k} is more than --eig-max-iter ${r.maxIter} (Lanczos finds at most one eigenvalue per step); lower --top-k or raise --eig-max-iter`);
          return r;
        })();
  const trace =
    p.trace === null
      ? null
      : (() => {
          const t = { ...DEFAULTS.trace, ...(p.trace ?? {}) };
          const probes = positiveInt('trace-probes', t.probes, 1e7);
          const method = oneOf('trace-method', t.method, methodNames('trace'));
          const target = t.targetRelStderr ?? 0;
          if (typeof target !== 'number' || !Number.isFinite(target) || target < 0)
            bad('trace-target', `must be a relative standard error >= 0 (e.g. 0.01), got ${JSON.stringify(target)}`);
          return {
            method,
            probes,
            targetRelStderr: target,
            chunk: positiveInt('trace-chunk', t.chunk, 1e6),
            fromFullProbes: Boolean(t.fromFullProbes),
          };
        })();
  const density =
    p.density === null
      ? null
      : (() => {
          const d = { ...DEFAULTS.density, ...(p.density ?? {}) };
          const preset = oneOf('density-preset', d.preset, ['pyhessian', 'papyan'] as const);
          return {
            runs: positiveInt('density-runs', d.runs, 10000),
            // Each step is one HVP and (with full reorthogonalization) one more basis vector.
            steps: positiveInt('density-steps', d.steps, MAX_DENSITY_STEPS),
            preset,
            gridPoints: positiveInt('density-grid', d.gridPoints ?? (preset === 'pyhessian' ? 10000 : 1000), 1e6),
          };
        })();
  const full = p.full ?? true;
  const similarity = p.similarity ?? (density !== null && full);
  if (similarity && (density === null || !full))
    bad('similarity', 'needs the density and the full network: drop --no-density / --no-full or turn similarity off');
  if (!topK && !trace && !density) bad('quantities', 'nothing to compute: ask for at least one of top-k, trace or density');
  const seed = p.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) bad('seed', `must be a whole number in [0, 4294967295], got ${JSON.stringify(seed)}`);
  const modelSeed = p.modelSeed ?? 0;
  if (!Number.isInteger(modelSeed) || modelSeed < 0) bad('model-seed', `must be a whole number >= 0, got ${JSON.stringify(modelSeed)}`);
  const spec: AnalysisSpec = {
    model: p.model.trim(),
    modelSeed,
    data: typeof p.data === 'string' && p.data.trim() !== '' ? p.data.trim() : DEFAULTS.data,
    perClass: nonNegInt('per-class', p.perClass ?? 0),
    loss: oneOf('loss', p.loss ?? 'cross-entropy', ['cross-entropy', 'mse'] as const),
    layers,
    convention: oneOf('convention', p.convention ?? 'layer', ['layer', 'weights-only'] as const),
    full,
    topK,
    trace,
    density,
    gaussNewton: Boolean(p.gaussNewton),
    similarity,
    batchSize: nonNegInt('batch-size', p.batchSize ?? 0),
    seed,
    exactMax: nonNegInt('exact-max', p.exactMax ?? DEFAULTS.exactMax),
  };
  // What only an estimator knows it cannot run (e.g. hutch++ below 3 products).
  for (const e of REGISTRY) e.checkSpec?.(spec);
  return spec;
}
