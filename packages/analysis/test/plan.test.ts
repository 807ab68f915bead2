import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isUserError } from '@hessian/linalg';
import { normalizeSpec, parseLayerSelection, plan, selectLayers, traceChunksUsed, MIN_TRACE_PROBES } from '../src/index.js';
import type { ParamGroup } from '@hessian/engine';

let offset = 0;
const groups: ParamGroup[] = ['conv1', 'conv2', 'dense1', 'dense2', 'dense3'].map((name, i) => {
  const size = 100 * (i + 1);
  const tensors = [
    { name: `${name}/kernel`, offset, size: size - 10 },
    { name: `${name}/bias`, offset: offset + size - 10, size: 10 },
  ];
  offset += size;
  return { name, className: i < 2 ? 'Conv2D' : 'Dense', size, tensors };
});

test('plan gives unique ids, seeds that depend only on (job seed, task id), and the full scope first', () => {
  const spec = normalizeSpec({ model: 'zoo:lenet', seed: 7, trace: { method: 'hutchinson' }, exactMax: 0 });
  const p = plan(spec, groups);
  const ids = p.tasks.map((t) => t.id);
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual(
    p.scopes.map((s) => s.name),
    ['full', 'conv1', 'conv2', 'dense1', 'dense2', 'dense3'],
  );
  assert.equal(p.scopes[0].params, 1500);
  // Re-planning gives identical seeds; another job seed changes them all.
  const again = plan(spec, groups);
  assert.deepEqual(again.tasks.map((t) => t.seed), p.tasks.map((t) => t.seed));
  const other = plan(normalizeSpec({ model: 'zoo:lenet', seed: 8, trace: { method: 'hutchinson' }, exactMax: 0 }), groups);
  const same = other.tasks.filter((t, i) => t.seed === p.tasks[i].seed).length;
  assert.equal(same, 0);
  // Trace chunks cover exactly the probe budget.
  const chunks = p.tasks.filter((t) => t.kind === 'hutchinson' && t.scope === 'conv1');
  assert.equal(chunks.reduce((s, t) => s + (t.kind === 'hutchinson' ? t.probes : 0), 0), spec.trace!.probes);
});

test('middle follows the paper: floor(n/4) .. floor(3n/4)', () => {
  const spec = normalizeSpec({ model: 'x', layers: { select: 'middle' } });
  assert.deepEqual(selectLayers(spec, groups).map((g) => g.name), ['conv2', 'dense1']);
  assert.deepEqual(selectLayers(spec, groups.slice(0, 1)).map((g) => g.name), ['conv1']);
  assert.deepEqual(selectLayers(spec, groups.slice(0, 4)).map((g) => g.name), ['conv2', 'dense1']);
});

test('layer names and regexes select in model order; unknown names are a user error listing the valid ones', () => {
  const byName = normalizeSpec({ model: 'x', layers: parseLayerSelection('dense2,conv1') });
  assert.deepEqual(selectLayers(byName, groups).map((g) => g.name), ['conv1', 'dense2']);
  const byRe = normalizeSpec({ model: 'x', layers: parseLayerSelection('/^dense[12]$/') });
  assert.deepEqual(selectLayers(byRe, groups).map((g) => g.name), ['dense1', 'dense2']);
  assert.throws(
    () => selectLayers(normalizeSpec({ model: 'x', layers: parseLayerSelection('conv9') }), groups),
    (e) => isUserError(e) && /conv9/.test(e.message) && /conv1, conv2, dense1/.test(e.message),
  );
  assert.throws(() => selectLayers(normalizeSpec({ model: 'x', layers: parseLayerSelection('/zzz/') }), groups), (e) => isUserError(e) && /matches no layer/.test(e.message));
});

test('normalizeSpec rejects bad fields with a sentence naming the field', () => {
  const cases: [Parameters<typeof normalizeSpec>[0], RegExp][] = [
    [{ model: '' }, /^model: is required/],
    [{ model: 'x', topK: { k: 0 } }, /^top-k: must be a positive/],
    [{ model: 'x', trace: { probes: -3 } }, /^trace-probes: must be a positive/],
    [{ model: 'x', density: { runs: 1.5 } }, /^density-runs: must be a positive/],
    [{ model: 'x', density: { preset: 'nope' as never } }, /^density-preset: must be one of pyhessian, papyan/],
    [{ model: 'x', convention: 'kernel' as never }, /^convention: must be one of layer, weights-only/],
    [{ model: 'x', perClass: -1 }, /^per-class/],
    [{ model: 'x', topK: null, trace: null, density: null }, /nothing to compute/],
    [{ model: 'x', full: false, similarity: true }, /^similarity: needs/],
    [{ model: 'x', layers: { select: 'regex', pattern: '(' } }, /not a valid regular expression/],
    [{ model: 'x', seed: -1 }, /^seed/],
    [{ model: 'x', trace: { method: 'hutch++', probes: 2 } }, /at least 3 for hutch\+\+/],
  ];
  for (const [spec, re] of cases) assert.throws(() => normalizeSpec(spec), (e) => isUserError(e) && e.code === 'INVALID_ARGUMENT' && re.test(e.message), String(re));
});

test('traceChunksUsed stops at the first prefix that reaches the target, and only then', () => {
  const steady = Array.from({ length: 10 }, () => [10, 10.1, 9.9, 10, 10.05]);
  const r = traceChunksUsed(steady, 0.01);
  assert.equal(r.satisfied, true);
  assert.equal(r.used, Math.ceil(MIN_TRACE_PROBES / 5));
  // No target: everything computed counts; a gap stops the prefix.
  assert.deepEqual(traceChunksUsed(steady, 0), { used: 10, satisfied: false });
  assert.deepEqual(traceChunksUsed([[1, 2], undefined, [3]], 0), { used: 1, satisfied: false });
  const noisy = Array.from({ length: 4 }, (_, i) => [i % 2 ? 100 : -90, 5]);
  assert.equal(traceChunksUsed(noisy, 0.01).satisfied, false);
});
