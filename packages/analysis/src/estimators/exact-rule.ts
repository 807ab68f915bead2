/**
 * When a scope is computed exactly instead of estimated: the rule, in one place, so that
 * every estimator plans the same way and the report can say why.
 *
 *   exact when  --exact-max > 0,  n <= --exact-max (the dense block's memory),  and building
 *   and eigendecomposing the block is predicted to cost no more than the scope's planned
 *   estimates (top-k + trace + density products and their Lanczos work).
 *
 * The prediction is a cost model (`scopeCosts`), deterministic (the coordinator and every
 * worker plan alike, so it uses nothing measured at run time): with N examples, C model
 * outputs, n block parameters and P the parameters a product of the scope passes through (the
 * layer and those after it: block products run from a cached front),
 *
 *   one product      = PRODUCT_OVERHEAD_S + 8 N P / PRODUCT_FLOPS
 *   factor pass      = (1 + C)/2 products + 2 N C n^2 / GEMM_FLOPS   (a forward and C backward
 *                      passes, each about half a product; J^T J per column)
 *   unit vectors     = n products
 *   eigenvalues      = (4/3) n^3 / EIGEN_FLOPS                 (LAPACK dsyevd, or linalg's Householder)
 *   estimates        = planned products + SLQ reorthogonalization (steps^2 n / VECTOR_FLOPS per run)
 *
 * The constants are ratios measured on the shared 2-core machine (bench/race/README.md): only
 * their ratios matter, and the report gives the costs in products of the scope. Convolutions
 * count one output position per weight, which underestimates their products (conv layers then
 * lean to estimation; small ones stay exact, their blocks cost next to nothing).
 * The factor pass applies to Dense / Conv2D / BN layers under the Hessian or Gauss-Newton
 * operator; when it turns out not to be exact for the block (a smooth activation after it),
 * the block is built from n unit-vector products instead: still exact, at most --exact-max.
 */
import type { OperatorName, OperatorReport } from '../report.js';
import type { PlannedScope } from '../scope.js';
import type { AnalysisSpec } from '../spec.js';
import { examplesOf } from '../examples.js';

/** Layer classes the factor pass has rules for (engine/src/factor-rules.ts). */
const FACTOR_CLASSES = new Set(['Dense', 'Conv2D', 'Convolution2D', 'BatchNormalization']);

/** Cost model constants (seconds and flop rates; see the header). */
export const COST_MODEL = {
  PRODUCT_OVERHEAD_S: 5e-3,
  PRODUCT_FLOPS: 1e9,
  GEMM_FLOPS: 2.5e9,
  EIGEN_FLOPS: 1e9,
  VECTOR_FLOPS: 1e9,
  /** examples assumed when the data spec does not say (a file) */
  DEFAULT_EXAMPLES: 256,
} as const;

export type BlockBuild = 'factor-pass' | 'unit-vectors';

function factorable(scope: PlannedScope, operator: OperatorName): boolean {
  return scope.kind === 'layer' && FACTOR_CLASSES.has(scope.className) && operator !== 'residual';
}

export interface ExactDecision {
  exact: boolean;
  build: BlockBuild;
  /** 'exact: ...' or 'estimated: ...', one sentence for the report */
  why: string;
}

/**
 * Products the stochastic estimates of one scope and operator plan (upper bounds: Lanczos may
 * converge and a trace target stop early). A layer's trace under `auto` / `exact-diagonal`
 * comes from the factor pass's diagonal, paid whether or not the block is formed: no products.
 */
export function plannedEstimateProducts(spec: AnalysisSpec, scope: PlannedScope, operator: OperatorName = 'hessian'): number {
  let c = 0;
  const t = spec.topK;
  if (t) c += t.method === 'power' ? t.k * t.maxIter : Math.min(t.maxIter, scope.params) + t.k;
  const diagonal = (spec.trace?.method === 'auto' || spec.trace?.method === 'exact-diagonal') && factorable(scope, operator);
  if (spec.trace && !diagonal) c += spec.trace.probes;
  const d = spec.density;
  if (d) c += d.runs * Math.min(d.steps, scope.params);
  return c;
}

export interface ScopeCosts {
  /** predicted seconds of one product of the scope */
  product: number;
  /** predicted seconds of forming the block (by `build`) and of its eigenvalues */
  exact: number;
  /** predicted seconds of the planned estimates */
  estimate: number;
}

/** The cost model of the header, for one scope built by `build`. */
export function scopeCosts(spec: AnalysisSpec, scope: PlannedScope, build: BlockBuild, operator: OperatorName = 'hessian'): ScopeCosts {
  const M = COST_MODEL;
  const n = scope.params;
  const P = scope.cost?.productParams ?? n;
  const C = scope.cost?.outputs ?? 10;
  const all = examplesOf(spec.data) ?? M.DEFAULT_EXAMPLES;
  const N = spec.perClass > 0 ? Math.min(all, spec.perClass * C) : all;
  const product = M.PRODUCT_OVERHEAD_S + (8 * N * P) / M.PRODUCT_FLOPS;
  const form = build === 'factor-pass' ? ((1 + C) / 2) * product + (2 * N * C * n * n) / M.GEMM_FLOPS : n * product;
  const exact = form + ((4 / 3) * n ** 3) / M.EIGEN_FLOPS;
  const d = spec.density;
  const steps = d ? Math.min(d.steps, n) : 0;
  const reorth = d ? (d.runs * steps * steps * n) / M.VECTOR_FLOPS : 0;
  return { product, exact, estimate: plannedEstimateProducts(spec, scope, operator) * product + reorth };
}

const fmt = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toPrecision(2));

export function exactDecision(spec: AnalysisSpec, scope: PlannedScope, operator: OperatorName): ExactDecision {
  const n = scope.params;
  const max = spec.exactMax;
  const factor = factorable(scope, operator);
  const build: BlockBuild = factor ? 'factor-pass' : 'unit-vectors';
  if (!spec.topK && !spec.trace && !spec.density) return { exact: false, build, why: 'nothing to compute' };
  if (max <= 0) return { exact: false, build, why: 'estimated: --exact-max 0 turns exact blocks off' };
  if (n > max) return { exact: false, build, why: `estimated: ${n} parameters > --exact-max ${max}` };
  const c = scopeCosts(spec, scope, build, operator);
  const how = factor ? `one factor pass (C backward passes; ${n} unit-vector products where backpropagation is not exact for the block)` : `${n} unit-vector products`;
  // costs in products of this scope: the unit a reader can check against the HVP counts
  const cost = `building the block from ${how} and its eigenvalues ~ ${fmt(c.exact / c.product)} products of this scope`;
  const planned = `the planned estimates ~ ${fmt(c.estimate / c.product)} (${plannedEstimateProducts(spec, scope, operator)} products and their Lanczos work)`;
  if (c.exact > c.estimate) return { exact: false, build, why: `estimated: ${cost} > ${planned}` };
  return { exact: true, build, why: `exact: ${n} <= --exact-max ${max}; ${cost} <= ${planned}` };
}

/** The report's `methods`: which method produced each quantity of a scope and operator, and why. */
export function describeMethods(spec: AnalysisSpec, scope: PlannedScope, operator: OperatorName, rep: OperatorReport): NonNullable<OperatorReport['methods']> {
  const d = exactDecision(spec, scope, operator);
  const out: NonNullable<OperatorReport['methods']> = {};
  const because = (method: string) => (method === 'exact' ? d.why : `${d.why}; ${method}`);
  if (rep.top) out.top = { method: rep.top.method, why: because(rep.top.from === 'slq' ? `lanczos: the top Ritz values of the first SLQ run (${rep.top.iterations} steps), converged to the tolerance; ${rep.top.hvps} more products for their residuals` : rep.top.method) };
  if (rep.trace) out.trace = { method: rep.trace.method, why: rep.trace.why ?? because(rep.trace.method) };
  if (rep.density) {
    const m = rep.density.method ?? 'slq';
    out.density = { method: m, why: because(m) };
  }
  return out;
}
