import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DiagonalOperator, symmetricWithSpectrum } from '../src/dense.js';
import { hutchPlusPlus, hutchinson, summarizeTrace, traceSamples, traceTargetReached } from '../src/trace.js';
import { CountingOperator } from '../src/operator.js';
import { Rng } from '../src/random.js';
import { isUserError } from '../src/errors.js';
import { binomialTail, sum, uniformValues } from './helpers.js';

// A dense matrix with a bulk spectrum: Hutchinson samples are sums of many cross terms
// sum_{i != j} A_ij v_i v_j, close to normal, so "3 standard errors" has its textbook meaning.
const bulkEigs = uniformValues(300, -1, 3, new Rng(1));
const bulk = symmetricWithSpectrum(bulkEigs, new Rng(2));
const bulkTrace = sum(bulkEigs);

test('summarizeTrace: mean, stderr = sd/sqrt(n), 0 for one sample', () => {
  assert.deepEqual(summarizeTrace([5]), { mean: 5, stderr: 0, probes: 1 });
  const s = summarizeTrace([1, 2, 3, 4]);
  assert.equal(s.mean, 2.5);
  assert.ok(Math.abs(s.stderr - Math.sqrt(5 / 3 / 4)) < 1e-15);
});

test('Hutchinson (Rademacher): truth inside 3 SE for all but a binomially plausible few of 100 seeds', async () => {
  const seeds = 100;
  const probes = 30;
  let outside = 0;
  let pooledVar = 0;
  let grand = 0;
  for (let s = 0; s < seeds; s++) {
    const r = await hutchinson(bulk, { rng: new Rng(1000 + s), maxProbes: probes });
    assert.equal(r.probes, probes);
    assert.equal(r.matvecs, probes);
    if (Math.abs(r.mean - bulkTrace) > 3 * r.stderr) outside++;
    pooledVar += r.stderr ** 2 * probes;
    grand += r.mean;
  }
  // With t(29)-distributed errors P(|t| > 3) = 0.0055; allowing 5 misses of 100 leaves a false
  // alarm probability below 1e-3 (checked here), while a wrong stderr (e.g. off by sqrt(2)) fails.
  assert.ok(binomialTail(seeds, 0.0055, 6) < 1e-3);
  assert.ok(outside <= 5, `${outside} of ${seeds} seeds outside 3 SE`);
  // The sample variance matches theory: Var[v^T A v] = 2 sum_{i != j} A_ij^2 (3000 samples: within 15%).
  const n = bulk.dim;
  let off = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) off += bulk.data[i * n + j] ** 2;
  const ratio = pooledVar / seeds / (2 * off);
  assert.ok(Math.abs(ratio - 1) < 0.15, `variance ratio ${ratio}`);
  // Pooled over all 3000 probes the estimate is unbiased to within 4 pooled SE.
  const pooledSe = Math.sqrt(2 * off / (seeds * probes));
  assert.ok(Math.abs(grand / seeds - bulkTrace) < 4 * pooledSe);
});

test('Hutchinson (Gaussian probes): coverage over 60 seeds', async () => {
  let outside = 0;
  for (let s = 0; s < 60; s++) {
    const r = await hutchinson(bulk, { rng: new Rng(5000 + s), maxProbes: 30, distribution: 'gaussian' });
    if (Math.abs(r.mean - bulkTrace) > 3 * r.stderr) outside++;
  }
  assert.ok(binomialTail(60, 0.0055, 5) < 1e-3);
  assert.ok(outside <= 4, `${outside} of 60 outside 3 SE`);
});

test('Hutchinson stopping rules: target relative stderr, minProbes, batch, maxProbes', async () => {
  // Variance 2 sum A_ij^2 ~ 1e3 against a trace of ~300: 1% relative stderr needs ~10^2 probes.
  const r = await hutchinson(bulk, { rng: new Rng(9), maxProbes: 1000, targetRelStderr: 0.01, batch: 10 });
  assert.ok(r.probes < 1000 && r.probes % 10 === 0, `${r.probes} probes`);
  assert.ok(r.stderr <= 0.01 * Math.abs(r.mean));
  // A diagonal matrix has zero Rademacher variance: stops at minProbes (rounded to a batch).
  const d = await hutchinson(new DiagonalOperator([1, 2, 3, 4]), { rng: new Rng(9), targetRelStderr: 1e-6, minProbes: 12, batch: 4 });
  assert.equal(d.probes, 12);
  assert.equal(d.mean, 10);
  assert.equal(d.stderr, 0);
  // PyHessian's relative-change rule stops early too.
  const p = await hutchinson(bulk, { rng: new Rng(9), relChangeTol: 1e-3 });
  assert.ok(p.probes >= 10 && p.probes <= 100);
  // The samples are exactly traceSamples' from the same seed.
  const s = await traceSamples(bulk, { probes: p.probes, rng: new Rng(9) });
  assert.deepEqual(p.samples, s);
});

test('traceTargetReached: the one stopping rule (minimum probes, two samples at least, stderr within target of |mean|)', () => {
  // mean 10, sample std 1: stderr = 1 / sqrt(n)
  const ten = [9, 11, 9, 11, 9, 11, 9, 11, 9, 11];
  const { stderr } = summarizeTrace(ten);
  assert.ok(Math.abs(stderr - Math.sqrt(10 / 9) / Math.sqrt(10)) < 1e-12);
  assert.equal(traceTargetReached(ten, stderr / 10 + 1e-12, 10), true);
  assert.equal(traceTargetReached(ten, stderr / 10 - 1e-6, 10), false);
  assert.equal(traceTargetReached(ten, 1, 11), false, 'fewer than minProbes');
  assert.equal(traceTargetReached([5], 1, 1), false, 'one sample has no standard error');
  assert.equal(traceTargetReached([5, 5], 0, 1), true, 'zero variance meets any target');
});

test('Hutch++ beats Hutchinson at equal budget on a decaying spectrum (RMS over 30 seeds)', async () => {
  // lambda_i = 100 i^-1.5: the top few eigenvalues hold most of ||A||_F, which Hutch++ removes exactly.
  const eigs = Array.from({ length: 400 }, (_, i) => 100 * (i + 1) ** -1.5);
  const a = symmetricWithSpectrum(eigs, new Rng(31));
  const truth = sum(eigs);
  const budget = 60;
  let seH = 0;
  let sePP = 0;
  let biasPP = 0;
  let outsidePP = 0;
  const seeds = 30;
  for (let s = 0; s < seeds; s++) {
    const h = await hutchinson(a, { rng: new Rng(200 + s), maxProbes: budget });
    const counting = new CountingOperator(a);
    const pp = await hutchPlusPlus(counting, { rng: new Rng(200 + s), matvecs: budget });
    assert.equal(pp.matvecs, budget);
    assert.equal(counting.count, budget);
    assert.equal(pp.probes, budget - 2 * 20);
    assert.equal(pp.sketchRank, 20);
    seH += (h.mean - truth) ** 2;
    sePP += (pp.mean - truth) ** 2;
    biasPP += pp.mean - truth;
    // Its reported stderr (of the deflated Hutchinson part) covers the truth like a standard error.
    if (Math.abs(pp.mean - truth) > 3 * pp.stderr) outsidePP++;
  }
  assert.ok(outsidePP <= 3, `${outsidePP} of ${seeds} Hutch++ estimates outside 3 SE`);
  const rmsH = Math.sqrt(seH / seeds);
  const rmsPP = Math.sqrt(sePP / seeds);
  assert.ok(rmsPP < rmsH / 3, `RMS error Hutch++ ${rmsPP} vs Hutchinson ${rmsH}`);
  // Hutch++ is unbiased: its mean error is within 4 standard errors of the RMS.
  assert.ok(Math.abs(biasPP / seeds) < (4 * rmsPP) / Math.sqrt(seeds));
});

test('Hutch++ budget checks and determinism', async () => {
  await assert.rejects(hutchPlusPlus(bulk, { rng: new Rng(1), matvecs: 2 }), (e) => isUserError(e));
  await assert.rejects(hutchinson(bulk, { rng: new Rng(1), maxProbes: 0 }), (e) => isUserError(e));
  const a = await hutchPlusPlus(bulk, { rng: new Rng(8), matvecs: 31 });
  const b = await hutchPlusPlus(bulk, { rng: new Rng(8), matvecs: 31 });
  assert.deepEqual(a, b);
  assert.equal(a.matvecs, 31);
  const h1 = await hutchinson(bulk, { rng: new Rng(8), maxProbes: 20 });
  const h2 = await hutchinson(bulk, { rng: new Rng(8), maxProbes: 20 });
  assert.deepEqual(h1, h2);
});
