/** Specs and comparisons shared by the cluster tests. */
import assert from 'node:assert/strict';
import type { PartialSpec, Report } from '@hessian/analysis';

export const BASE: PartialSpec = {
  model: 'zoo:tiny-mlp',
  data: 'synthetic:64',
  topK: { k: 2, maxIter: 30 },
  trace: { probes: 40, chunk: 8, fromFullProbes: true, targetRelStderr: 0.05 },
  density: { runs: 2, steps: 16, gridPoints: 200 },
  seed: 5,
};

export function numbers(r: Report) {
  return r.scopes.map((s) => ({
    name: s.name,
    operators: s.operators.map((o) => ({ operator: o.operator, top: o.top, trace: o.trace, density: o.density, similarity: o.similarity, traceFromFullProbes: o.traceFromFullProbes })),
  }));
}

/** Deep comparison with numbers equal to `tol` relative to the largest magnitude of their array/object; returns the worst relative difference seen. */
export function compareClose(a: unknown, b: unknown, tol: number, where = '$'): number {
  if (typeof a === 'number' && typeof b === 'number') {
    const d = Math.abs(a - b) / Math.max(1e-12, Math.abs(b));
    assert.ok(d <= tol || Math.abs(a - b) <= tol, `${where}: ${a} vs ${b}`);
    return d;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    assert.equal(a.length, b.length, `${where}: lengths`);
    if (a.every((x) => typeof x === 'number')) {
      const scale = Math.max(1e-12, ...b.map((x: number) => Math.abs(x)));
      let worst = 0;
      a.forEach((x: number, i) => {
        const d = Math.abs(x - (b[i] as number)) / scale;
        assert.ok(d <= tol, `${where}[${i}]: ${x} vs ${b[i]} (scale ${scale})`);
        worst = Math.max(worst, d);
      });
      return worst;
    }
    return Math.max(0, ...a.map((x, i) => compareClose(x, b[i], tol, `${where}[${i}]`)));
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), `${where}: keys`);
    return Math.max(0, ...Object.keys(a).map((k) => compareClose((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], tol, `${where}.${k}`)));
  }
  assert.deepEqual(a, b, where);
  return 0;
}
