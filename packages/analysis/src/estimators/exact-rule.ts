/**
 * When a scope is computed exactly instead of estimated: the rule, in one place, so that
 * every estimator plans the same way and the report can say why.
 *
 *   exact when  --exact-max > 0,  n <= --exact-max,  and building the dense block costs no
 *   more than the products the scope's estimates would plan (top-k + trace + density).
 *
 * Building costs one factor pass (C backward passes of the extended backpropagation, no
 * Hessian products) for a Dense / Conv2D / BatchNormalization layer under the Hessian or
 * Gauss-Newton operator; otherwise n unit-vector products. When the factor pass turns out not
 * to be exact for the block (a smooth activation after it), the block is built from n
 * unit-vector products instead: still exact, at most --exact-max products.
 */
import type { OperatorName, OperatorReport } from '../report.js';
import type { PlannedScope } from '../scope.js';
import type { AnalysisSpec } from '../spec.js';

/** Layer classes the factor pass has rules for (engine/src/factor-rules.ts). */
const FACTOR_CLASSES = new Set(['Dense', 'Conv2D', 'Convolution2D', 'BatchNormalization']);

export type BlockBuild = 'factor-pass' | 'unit-vectors';

export interface ExactDecision {
  exact: boolean;
  build: BlockBuild;
  /** 'exact: ...' or 'estimated: ...', one sentence for the report */
  why: string;
}

/** Products the stochastic estimates of one scope and operator plan (their tasks' costs). */
export function plannedEstimateProducts(spec: AnalysisSpec, scope: PlannedScope): number {
  let c = 0;
  const t = spec.topK;
  if (t) c += t.method === 'power' ? t.k * t.maxIter : Math.min(t.maxIter, scope.params) + t.k;
  if (spec.trace) c += spec.trace.probes;
  const d = spec.density;
  if (d) c += d.runs * Math.min(d.steps, scope.params);
  return c;
}

export function exactDecision(spec: AnalysisSpec, scope: PlannedScope, operator: OperatorName): ExactDecision {
  const n = scope.params;
  const max = spec.exactMax;
  const planned = plannedEstimateProducts(spec, scope);
  const factor = scope.kind === 'layer' && FACTOR_CLASSES.has(scope.className) && operator !== 'residual';
  const build: BlockBuild = factor ? 'factor-pass' : 'unit-vectors';
  if (!spec.topK && !spec.trace && !spec.density) return { exact: false, build, why: 'nothing to compute' };
  if (max <= 0) return { exact: false, build, why: 'estimated: --exact-max 0 turns exact blocks off' };
  if (n > max) return { exact: false, build, why: `estimated: ${n} parameters > --exact-max ${max}` };
  if (factor) {
    return { exact: true, build, why: `exact: ${n} <= --exact-max ${max}; dense block from one factor pass (C backward passes; ${n} unit-vector products where backpropagation is not exact for the block) instead of ${planned} planned products` };
  }
  if (n > planned) return { exact: false, build, why: `estimated: building the block takes ${n} products > ${planned} planned for its estimates` };
  return { exact: true, build, why: `exact: ${n} <= --exact-max ${max}; dense block from ${n} unit-vector products <= ${planned} planned for its estimates` };
}

/** The report's `methods`: which method produced each quantity of a scope and operator, and why. */
export function describeMethods(spec: AnalysisSpec, scope: PlannedScope, operator: OperatorName, rep: OperatorReport): NonNullable<OperatorReport['methods']> {
  const d = exactDecision(spec, scope, operator);
  const out: NonNullable<OperatorReport['methods']> = {};
  const because = (method: string) => (method === 'exact' ? d.why : `${d.why}; ${method}`);
  if (rep.top) out.top = { method: rep.top.method, why: because(rep.top.method) };
  if (rep.trace) out.trace = { method: rep.trace.method, why: rep.trace.why ?? because(rep.trace.method) };
  if (rep.density) {
    const m = rep.density.method ?? 'slq';
    out.density = { method: m, why: because(m) };
  }
  return out;
}
