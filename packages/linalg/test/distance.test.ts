import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jensenShannon, mergeRuns, wasserstein1 } from '../src/distance.js';
import { smoothDensity, type SlqRun } from '../src/slq.js';
import { Rng } from '../src/random.js';
import { isUserError } from '../src/errors.js';

function randomRun(rng: Rng, m: number, shift = 0): SlqRun {
  const nodes = Array.from({ length: m }, () => rng.normal() + shift).sort((a, b) => a - b);
  const raw = Array.from({ length: m }, () => rng.uniform() + 0.1);
  const total = raw.reduce((s, x) => s + x, 0);
  return { nodes, weights: raw.map((w) => w / total), steps: m, matvecs: m };
}

test('wasserstein1: 0 for identical measures, the shift for a shifted one, known small cases', () => {
  const rng = new Rng(1);
  const a = mergeRuns([randomRun(rng, 30), randomRun(rng, 30)]);
  assert.equal(wasserstein1(a, a), 0);
  const shifted = { nodes: a.nodes.map((x) => x + 2.5), weights: a.weights };
  assert.ok(Math.abs(wasserstein1(a, shifted) - 2.5) < 1e-12);
  assert.ok(Math.abs(wasserstein1(shifted, a) - 2.5) < 1e-12);
  // delta_0 vs (delta_0 + delta_1)/2: half the mass moves by 1.
  assert.ok(Math.abs(wasserstein1({ nodes: [0], weights: [1] }, { nodes: [0, 1], weights: [0.5, 0.5] }) - 0.5) < 1e-15);
  // Unnormalized weights are normalized; order of nodes does not matter.
  assert.ok(Math.abs(wasserstein1({ nodes: [3, 1], weights: [2, 2] }, { nodes: [1, 3], weights: [1, 1] })) < 1e-15);
  assert.throws(() => wasserstein1({ nodes: [], weights: [] }, a), (e) => isUserError(e));
});

test('mergeRuns averages measures: total mass 1, each run weighted equally', () => {
  const m = mergeRuns([
    { nodes: [0], weights: [1], steps: 1, matvecs: 1 },
    { nodes: [1, 2], weights: [0.25, 0.75], steps: 2, matvecs: 2 },
  ]);
  assert.deepEqual(m, { nodes: [0, 1, 2], weights: [0.5, 0.125, 0.375] });
});

test('jensenShannon: 0 for identical densities, ln 2 for disjoint ones, symmetric and bounded', () => {
  const rng = new Rng(2);
  const runsA = [randomRun(rng, 20), randomRun(rng, 20)];
  const runsB = [randomRun(rng, 20, 0.5)];
  const a = smoothDensity(runsA, { preset: 'papyan', gridPoints: 2000 });
  const b = smoothDensity(runsB, { preset: 'papyan', gridPoints: 2000 });
  assert.ok(jensenShannon(a, a) < 1e-12);
  // Far apart (PyHessian kernels are narrow): no overlap at all.
  const far = smoothDensity([randomRun(rng, 20, 100)]);
  const near = smoothDensity(runsA);
  assert.ok(Math.abs(jensenShannon(near, far) - Math.LN2) < 1e-9, `${jensenShannon(near, far)}`);
  const ab = jensenShannon(a, b);
  assert.ok(ab > 0.01 && ab < Math.LN2);
  assert.ok(Math.abs(ab - jensenShannon(b, a)) < 1e-12);
  // A coarser explicit grid changes the value only a little for smooth densities.
  assert.ok(Math.abs(jensenShannon(a, b, 4000) - ab) < 0.02);
});
