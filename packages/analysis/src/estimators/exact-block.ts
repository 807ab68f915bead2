/**
 * Exact blocks: where exact-rule.ts says building is no dearer than estimating, the scope's
 * operator is formed as a dense matrix — from one factor pass (the engine's `denseBlock`
 * capability: extended backpropagation, exact for the block when the verdict says so) or from
 * unit-vector products — symmetrized, and eigendecomposed in float64. Every quantity is then
 * exact: the trace (sum of eigenvalues), every eigenvalue (top-k with zero residual), and the
 * ESD as the exact spectrum (weights 1/n) smoothed with SLQ's kernel and grid. The other
 * estimators plan nothing for such a scope.
 */
import { smoothDensity, symmetricEigenvalues, symmetrize } from '@hessian/linalg';
import type { DensityReport, EigenReport, TraceReport } from '../report.js';
import { exactDecision, type BlockBuild } from './exact-rule.js';
import type { Estimator, ResultBase, TaskBase } from './types.js';

export interface ExactBlockTask extends TaskBase {
  kind: 'exact-block';
  build: BlockBuild;
  dim: number;
}

export interface ExactBlockResult extends ResultBase {
  kind: 'exact-block';
  /** every eigenvalue, ascending */
  eigenvalues: number[];
  /** how the block was built: 'factor pass' or 'unit-vector products' (and why, when it fell back) */
  source: string;
  /** largest |B_ij - B_ji| before symmetrizing (float32 rounding of the products) */
  asymmetry: number;
}

export const exactBlock: Estimator<ExactBlockTask, ExactBlockResult, null> = {
  name: 'exact-block',
  method: null,
  fields: { build: { oneOf: ['factor-pass', 'unit-vectors'] }, dim: { int: [1, 1e7] } },
  planScope(spec, scope, ctx) {
    const d = exactDecision(spec, scope, ctx.operator);
    if (!d.exact) return [];
    const cost = d.build === 'factor-pass' ? 1 : scope.params;
    return [{ id: `${scope.name}/${ctx.operator}/exact-block`, kind: 'exact-block' as const, scope: scope.name, operator: ctx.operator, build: d.build, dim: scope.params, cost }];
  },
  async run(task, { op, compute, scope }) {
    const n = op.dim;
    const s = scope(task.scope);
    let block: Float64Array | null = null;
    let source = 'unit-vector products';
    if (task.build === 'factor-pass' && compute.denseBlock && compute.curvatureVerdict) {
      const v = compute.curvatureVerdict(s);
      const usable = task.operator === 'gauss-newton' ? v.ggn : v.exact;
      if (usable) {
        block = await compute.denseBlock(task.operator, s);
        source = 'factor pass';
      } else source = `unit-vector products (factor pass ${v.why})`;
    } else if (task.build === 'factor-pass') source = 'unit-vector products (this runner has no factor pass)';
    if (!block) {
      block = new Float64Array(n * n);
      const e = new Float32Array(n);
      for (let j = 0; j < n; j++) {
        e.fill(0);
        e[j] = 1;
        const col = await op.matvec(e);
        for (let i = 0; i < n; i++) block[i * n + j] = col[i];
      }
    }
    const asymmetry = symmetrize(block, n);
    return { eigenvalues: Array.from(symmetricEigenvalues(block, n)), source, asymmetry };
  },
  combine(view) {
    const task = view.tasks[0];
    const r = task && view.result(task.id);
    if (!r) return {};
    const ev = r.eigenvalues;
    const n = ev.length;
    const out: { top?: EigenReport; trace?: TraceReport; density?: DensityReport } = {};
    const t = view.spec.topK;
    if (t) {
      const k = Math.min(t.k, n);
      const values = ev.slice(n - k).reverse();
      out.top = { method: 'exact', values, residuals: values.map(() => 0), converged: true, iterations: 0, hvps: r.hvps };
    }
    if (view.spec.trace) out.trace = { method: 'exact', mean: ev.reduce((a, b) => a + b, 0), stderr: 0, probes: 0, hvps: 0 };
    const d = view.spec.density;
    if (d) {
      const run = { nodes: ev, weights: ev.map(() => 1 / n), steps: n, matvecs: 0 };
      const s = smoothDensity([run], { preset: d.preset, gridPoints: d.gridPoints });
      out.density = {
        method: 'exact',
        preset: d.preset,
        runs: 0,
        steps: 0,
        sigma: s.sigma,
        grid: s.grid,
        density: s.density,
        logDensity: s.logDensity ?? s.density.map((x) => Math.log10(Math.max(x, 1e-12))),
        nodes: ev,
        weights: run.weights,
        hvps: 0,
      };
    }
    return out;
  },
  partial(task, view) {
    const r = view.result(task.id);
    if (!r) return null;
    const n = r.eigenvalues.length;
    return { top: r.eigenvalues.slice(Math.max(0, n - (view.spec.topK?.k ?? 1))).reverse(), trace: { mean: r.eigenvalues.reduce((a, b) => a + b, 0), stderr: 0, method: 'exact' }, final: true };
  },
};
