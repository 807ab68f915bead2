import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng, symmetricWithSpectrum } from '@hessian/linalg';
import type { Scope } from '@hessian/engine';
import { exactDiagonal, traceAuto } from '../../src/estimators/exact-diagonal.js';
import { denseContext, runEstimator } from './helpers.js';

function withDiagonal(exact: (s: Scope) => boolean) {
  const op = symmetricWithSpectrum(Array.from({ length: 30 }, (_, i) => 3 - i / 10), new Rng(8));
  const ctx = denseContext(op, [['a', 12], ['b', 18]]);
  const diag = Float64Array.from({ length: 30 }, (_, i) => op.data[i * 30 + i]);
  ctx.compute.curvatureVerdict = (s) => (exact(s) ? { exact: true, ggn: true, why: 'exact: test' } : { exact: false, ggn: true, why: "not exact: layer 'a' applies tanh" });
  ctx.compute.hessianDiagonal = async (s) => {
    const [{ offset, size }] = ctx.compute.scopeOffsets(s);
    return diag.slice(offset, offset + size);
  };
  const trace = (lo: number, hi: number) => diag.slice(lo, hi).reduce((x, y) => x + y, 0);
  return { ctx, trace };
}

test('trace auto: the exact diagonal where the verdict is exact (probe chunks skipped), Hutchinson elsewhere, each with why', async () => {
  const { ctx, trace } = withDiagonal((s) => s.kind === 'group' && s.group === 'b');
  const run = await runEstimator(traceAuto, { topK: null, trace: { method: 'auto', probes: 20, chunk: 10 }, density: null, similarity: false }, ctx);
  const b = run.fields('b').trace;
  assert.equal(b?.method, 'exact');
  assert.ok(Math.abs((b?.mean ?? 0) - trace(12, 30)) < 1e-9);
  assert.equal(b?.probes, 0);
  const a = run.fields('a').trace;
  assert.equal(a?.method, 'hutchinson');
  assert.equal(a?.probes, 20);
  assert.match(a?.why ?? '', /^not exact: layer 'a' applies tanh; Hutchinson/);
  // the chunks of b are skippable once its diagonal is in
  const chunk = run.tasks.find((t) => t.scope === 'b' && t.id.endsWith('/trace/0'));
  assert.ok(chunk && traceAuto.skippable?.(chunk as never, run.view('b') as never));
});

test('trace exact-diagonal refuses a scope where it is not exact, and auto falls back on a runner without the capability', async () => {
  const { ctx } = withDiagonal(() => false);
  await assert.rejects(runEstimator(exactDiagonal, { topK: null, trace: { method: 'exact-diagonal' }, density: null, similarity: false }, ctx, ['a']), /--trace-method exact-diagonal: scope a is not exact: layer 'a' applies tanh; use --trace-method auto/);
  const bare = withDiagonal(() => true).ctx;
  delete bare.compute.hessianDiagonal;
  const run = await runEstimator(traceAuto, { topK: null, trace: { method: 'auto', probes: 10, chunk: 10 }, density: null, similarity: false }, bare, ['a']);
  assert.match(run.fields('a').trace?.why ?? '', /this runner has no diagonal by backpropagation/);
});
