import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ParamGroup } from '@hessian/engine';
import { isUserError } from '@hessian/linalg';
import { normalizeSpec, parseTask, plan } from '../src/index.js';

const groups: ParamGroup[] = [{ name: 'l1', className: 'Dense', size: 6, tensors: [{ name: 'l1/kernel', offset: 0, size: 6 }] }];

test('parseTask accepts every task the planner makes, unchanged', () => {
  for (const spec of [
    normalizeSpec({ model: 'm', trace: { fromFullProbes: true }, gaussNewton: true }),
    normalizeSpec({ model: 'm', topK: { method: 'power' }, trace: { method: 'hutch++' } }),
  ])
    for (const t of plan(spec, groups).tasks) assert.deepEqual(parseTask(JSON.stringify(t)), t);
});

test('parseTask refuses forged tasks with INVALID_ARGUMENT and a sentence naming the field', () => {
  const t = plan(normalizeSpec({ model: 'm', exactMax: 0, trace: { method: 'hutchinson' } }), groups).tasks.find((x) => x.kind === 'hutchinson')!;
  const cases: [unknown, RegExp][] = [
    [{ ...t, probes: 1e9 }, /probes must be a whole number from 1 to 1000000, got 1000000000/],
    [{ ...t, probes: -1 }, /probes/],
    [{ ...t, kind: 'magic' }, /unknown estimator "magic"/],
    [{ ...t, operator: 'hessian2' }, /operator must be one of/],
    [{ ...t, seed: 2 ** 40 }, /seed/],
    [{ ...t, extra: 1 }, /field "extra" is not part of this task/],
    [[1, 2], /JSON object/],
  ];
  for (const [o, re] of cases) assert.throws(() => parseTask(JSON.stringify(o)), (e) => isUserError(e) && e.code === 'INVALID_ARGUMENT' && re.test(e.message), String(re));
  assert.throws(() => parseTask('{'), /not JSON/);
});
