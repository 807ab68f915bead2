/**
 * What the analysis tests against exact answers share: the explicit matrix of a scope's
 * operator (from the engine's unit-vector helper), and the prepare / exact answers / embedded
 * run / dispose fixture of a describe block.
 */
import { after, before } from 'node:test';
import { symmetrize } from '@hessian/linalg';
import type { OperatorKind } from '@hessian/engine';
import { explicitMatrix } from '@hessian/engine/test/helpers';
import { prepare, runAnalysis, type Prepared, type Report, type AnalysisSpec } from '../src/index.js';
import { scopeOf } from '../src/scope.js';

/** A scope's explicit matrix (n x n, row-major) and its trace. */
export interface Explicit {
  m: Float64Array;
  n: number;
  trace: number;
}

/**
 * The explicit matrix of a scope's operator (layer convention) from products with unit vectors,
 * symmetrized: float32 products equal their transpose only to rounding, and the dense
 * eigensolvers want an exactly symmetric matrix.
 */
export async function explicitScope(p: Prepared, scope: string, kind: OperatorKind = 'hessian'): Promise<Explicit> {
  const op = p.engine.operator(kind, scopeOf(scope, 'layer'));
  const n = op.dim;
  const m = await explicitMatrix(op);
  symmetrize(m, n);
  let trace = 0;
  for (let i = 0; i < n; i++) trace += m[i * n + i];
  return { m, n, trace };
}

/** Filled by `before`: the prepared model, the exact answer of the full network and of every layer, the embedded report. */
export class AgainstExact<T> {
  prepared!: Prepared;
  report!: Report;
  readonly exact = new Map<string, T>();
}

/** Registers before/after in the calling describe: prepare `spec`, `exactOf` every scope (full, then each layer), run the analysis; dispose after. */
export function againstExact<T>(spec: AnalysisSpec, exactOf: (p: Prepared, scope: string) => Promise<T>): AgainstExact<T> {
  const f = new AgainstExact<T>();
  before(async () => {
    f.prepared = await prepare(spec, 'cpu');
    for (const g of ['full', ...f.prepared.model.groups('layer').map((x) => x.name)]) f.exact.set(g, await exactOf(f.prepared, g));
    f.report = await runAnalysis(spec, { backend: 'cpu' });
  });
  after(() => {
    f.prepared.engine.dispose();
    f.prepared.model.dispose();
  });
  return f;
}
