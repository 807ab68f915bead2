/**
 * Traces without probes: tr(A) = sum of the exact diagonal, which the engine computes by
 * extended backpropagation (the `hessianDiagonal` capability; one pass for every layer, exact
 * for a scope when its verdict says so: piecewise-linear path to the logits).
 *
 *  - `--trace-method exact-diagonal`: that or a UserError that says why it is not exact;
 *  - `--trace-method auto` (default): the exact diagonal where it is exact, else Hutchinson
 *    with the spec's probes and target (the same chunks and prefix rule as `hutchinson`); the
 *    probe chunks are planned too and skipped once the diagonal is known to be exact, so the
 *    choice needs nothing of the model at plan time. The report says which ran and why.
 * Scopes that exact-block covers get their trace from there (nothing planned here).
 */
import { UserError, summarizeTrace, traceSamples } from '@hessian/linalg';
import type { TraceReport } from '../report.js';
import { exactDecision } from './exact-rule.js';
import { traceChunksUsed } from './hutchinson.js';
import type { Estimator, ResultBase, ScopeView, TaskBase } from './types.js';

type Name = 'exact-diagonal' | 'auto';

export interface DiagonalTraceTask extends TaskBase {
  kind: Name;
  /** -1: the exact diagonal; 0, 1, ...: Hutchinson chunks (auto only) */
  index: number;
  probes: number;
}

export interface DiagonalTraceResult extends ResultBase {
  kind: Name;
  /** index -1: whether the diagonal was exact, its sum, and why */
  exact?: boolean;
  sum?: number;
  why?: string;
  /** chunks: Rademacher samples v^T A v */
  samples?: number[];
}

type View = ScopeView<DiagonalTraceTask, DiagonalTraceResult>;

function diagonalResult(view: View): DiagonalTraceResult | undefined {
  const t = view.tasks.find((x) => x.index === -1);
  return t && view.result(t.id);
}

function chunksOf(view: View): (number[] | undefined)[] {
  return view.tasks.filter((t) => t.index >= 0).map((t) => view.result(t.id)?.samples);
}

function make<N extends Name>(name: N): Estimator<DiagonalTraceTask, DiagonalTraceResult, { quantity: 'trace'; name: N }> {
  return {
    name,
    method: { quantity: 'trace', name },
    fields: { index: { int: [-1, 1e7] }, probes: { int: [0, 1e6] } },
    planScope(spec, scope, ctx) {
      const t = spec.trace;
      if (!t || t.method !== name || exactDecision(spec, scope, ctx.operator).exact) return [];
      const base = { kind: name, scope: scope.name, operator: ctx.operator };
      const out: Omit<DiagonalTraceTask, 'seed'>[] = [{ ...base, id: `${scope.name}/${ctx.operator}/trace/diagonal`, index: -1, probes: 0, cost: 1 }];
      if (name === 'auto') {
        for (let i = 0, done = 0; done < t.probes; i++) {
          const probes = Math.min(t.chunk, t.probes - done);
          out.push({ ...base, id: `${scope.name}/${ctx.operator}/trace/${i}`, index: i, probes, cost: probes });
          done += probes;
        }
      }
      return out;
    },
    async run(task, { op, rng, compute, scope }) {
      if (task.index >= 0) return { samples: await traceSamples(op, { probes: task.probes, rng }) };
      const s = scope(task.scope);
      let why: string;
      if (!compute.hessianDiagonal || !compute.curvatureVerdict) why = 'not exact: this runner has no diagonal by backpropagation';
      else if (task.operator === 'residual') why = 'not exact: the diagonal by backpropagation covers H and G, not the residual';
      else {
        const v = compute.curvatureVerdict(s);
        if (task.operator === 'gauss-newton' ? v.ggn : v.exact) {
          const d = await compute.hessianDiagonal(s, task.operator);
          let sum = 0;
          for (const x of d) sum += x;
          return { exact: true, sum, why: v.why.replace(/^not exact: .*/, 'exact: the Gauss-Newton diagonal by backpropagation') };
        }
        why = v.why;
      }
      if (name === 'exact-diagonal') throw new UserError(`--trace-method exact-diagonal: scope ${task.scope} is ${why}; use --trace-method auto (falls back to Hutchinson) or hutchinson.`);
      return { exact: false, why };
    },
    skippable(task, view) {
      if (task.index < 0) return false;
      if (diagonalResult(view)?.exact) return true;
      const target = view.spec.trace?.targetRelStderr ?? 0;
      if (target <= 0) return false;
      const { used, satisfied } = traceChunksUsed(chunksOf(view), target);
      return satisfied && task.index >= used;
    },
    combine(view) {
      const d = diagonalResult(view);
      if (!d) return {};
      if (d.exact) {
        const trace: TraceReport = { method: 'exact', mean: d.sum ?? 0, stderr: 0, probes: 0, hvps: 0, why: d.why };
        return { trace };
      }
      const chunks = chunksOf(view);
      const { used } = traceChunksUsed(chunks, view.spec.trace?.targetRelStderr ?? 0);
      if (used === 0) return {};
      const s = summarizeTrace(chunks.slice(0, used).flat() as number[]);
      const hvps = view.tasks.filter((t) => t.index >= 0).slice(0, used).reduce((a, t) => a + (view.result(t.id)?.hvps ?? 0), 0);
      const trace: TraceReport = { method: 'hutchinson', mean: s.mean, stderr: s.stderr, probes: s.probes, hvps, why: `${d.why ?? 'not exact'}; Hutchinson` };
      return { trace };
    },
    partial(_task, view) {
      const d = diagonalResult(view);
      if (d?.exact) return { trace: { mean: d.sum, stderr: 0, probes: 0, method: 'exact' }, final: true };
      const chunks = chunksOf(view);
      const { used, satisfied } = traceChunksUsed(chunks, view.spec.trace?.targetRelStderr ?? 0);
      const samples = chunks.slice(0, used).flatMap((c) => c ?? []);
      if (samples.length === 0) return null;
      const s = summarizeTrace(samples);
      return { trace: { mean: s.mean, stderr: s.stderr, probes: s.probes }, final: d !== undefined && (satisfied || used === chunks.length) };
    },
  };
}

export const exactDiagonal = make('exact-diagonal');
export const traceAuto = make('auto');
