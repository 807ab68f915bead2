/**
 * How many examples a data spec selects, from the spec alone. Kept apart from cost.ts (which
 * times products on an engine) so that the spec grammar and the estimator registry load without
 * TensorFlow.js: `@hessian/analysis/spec` (hessctl's commands that never compute).
 */
import { parseDataSpec } from '@hessian/engine/data-spec';

/**
 * The number of examples a data spec selects, when it is known without reading files
 * (synthetic sets, Fashion-MNIST, explicit [start:end] slices); null otherwise.
 */
export function examplesOf(dataSpec: string): number | null {
  const p = parseDataSpec(dataSpec);
  const start = p.start ?? 0;
  const size = p.source.kind === 'synthetic' ? p.source.n : p.source.kind === 'fashion-mnist' ? (p.source.split === 'train' ? 60000 : 10000) : null;
  const end = p.end ?? size;
  return end === null ? null : Math.max(0, Math.min(end, size ?? end) - start);
}
