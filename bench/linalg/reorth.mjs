#!/usr/bin/env node
// Times the linear algebra of Lanczos with full reorthogonalization, before and after the
// blocked-CGS + DGKS rewrite of packages/linalg, on a synthetic operator cheap enough that only
// the reorthogonalization is timed: a 235,146-dimensional diagonal (the parameter count of the
// 784-256-128-10 MLP) with 10 outliers over a Marchenko-Pastur-like bulk and a few negative
// eigenvalues, hidden at random positions. Prints a table and writes bench/results/linalg-reorth.json.
//   node bench/linalg/reorth.mjs [--dim 235146] [--steps 80] [--reps 1] [--out file.json]
// Build first: npx tsc -b packages/linalg
// "before" is the previous implementation, kept verbatim below (oldLanczos, oldSlqRun).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import {
  DiagonalOperator,
  Rng,
  lanczos,
  slqRun,
  topEigenvalues,
  tridiagonalEigen,
  quadratureFromTridiagonal,
  UserError,
} from '../../packages/linalg/dist/src/index.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const DIM = Number(opt('dim', '235146'));
const STEPS = Number(opt('steps', '80'));
const REPS = Number(opt('reps', '1'));
const here = dirname(fileURLToPath(import.meta.url));
const OUT = opt('out', join(here, '..', 'results', 'linalg-reorth.json'));

// ---------------------------------------------------------------------------------------------
// Baseline: the implementation before the rewrite (vector.ts, lanczos.ts, slq.ts at 30ef0c6).
function oldDot(a, b) {
  const n = a.length;
  let s0 = 0;
  let s1 = 0;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
  }
  if (i < n) s0 += a[i] * b[i];
  return s0 + s1;
}
const oldNorm = (a) => Math.sqrt(oldDot(a, a));
function oldAxpy(alpha, x, y) {
  const n = y.length;
  for (let i = 0; i < n; i++) y[i] += alpha * x[i];
}
function oldScale(x, s) {
  for (let i = 0; i < x.length; i++) x[i] *= s;
}
function oldNormalize(x) {
  const nrm = oldNorm(x);
  if (nrm > 0) oldScale(x, 1 / nrm);
  return nrm;
}
function oldOrthogonalizeAgainst(w, basis, passes = 2) {
  const first = new Float64Array(basis.length);
  for (let p = 0; p < passes; p++) {
    const c = new Float64Array(basis.length);
    for (let i = 0; i < basis.length; i++) c[i] = oldDot(basis[i], w);
    for (let i = 0; i < basis.length; i++) oldAxpy(-c[i], basis[i], w);
    if (p === 0) first.set(c);
  }
  return first;
}
async function oldLanczos(op, { steps, rng, start, breakdownTol = 1e-10 }) {
  const m = Math.min(steps, op.dim);
  const alpha = [];
  const beta = [];
  const basis = [];
  let scaleMax = 0;
  let next = Float64Array.from(start ?? rng.gaussian(op.dim));
  oldNormalize(next);
  let breakdown = false;
  while (alpha.length < m) {
    const q = next;
    const j = alpha.length;
    const w = Float64Array.from(await op.matvec(Float32Array.from(q)));
    const a = oldDot(q, w);
    oldAxpy(-a, q, w);
    if (j > 0 && beta[j - 1] !== 0) oldAxpy(-beta[j - 1], basis[j - 1], w);
    basis.push(q);
    oldOrthogonalizeAgainst(w, basis, 2);
    const b = oldNorm(w);
    alpha.push(a);
    scaleMax = Math.max(scaleMax, Math.abs(a), b);
    if (b <= breakdownTol * scaleMax || basis.length >= op.dim) {
      beta.push(0);
      breakdown = basis.length < op.dim;
      break;
    }
    beta.push(b);
    oldScale(w, 1 / b);
    next = w;
  }
  return { alpha, beta: beta.slice(0, alpha.length - 1), steps: alpha.length, matvecs: alpha.length, breakdown, basis };
}
async function oldSlqRun(op, { steps, rng }) {
  const start = rng.rademacher(op.dim);
  const lz = await oldLanczos(op, { steps, rng, start });
  const { nodes, weights } = quadratureFromTridiagonal(lz.alpha, lz.beta);
  return { nodes, weights, steps: lz.steps, matvecs: lz.matvecs, alpha: lz.alpha, beta: lz.beta };
}
void UserError;

// ---------------------------------------------------------------------------------------------
// The operator.
function buildSpectrum(n, rng) {
  const outliers = [200, 150, 120, 90, 70, 55, 40, 30, 22, 15];
  const negatives = [-3, -1.5, -0.8, -0.4, -0.2];
  const bulk = n - outliers.length - negatives.length;
  // Marchenko-Pastur-like bulk on [0, 2]: squared uniform mixtures, cheap and deterministic.
  const vals = new Float64Array(n);
  for (let i = 0; i < bulk; i++) {
    const u = rng.uniform();
    vals[i] = 2 * u * u * (0.5 + 0.5 * rng.uniform());
  }
  outliers.forEach((v, i) => (vals[bulk + i] = v));
  negatives.forEach((v, i) => (vals[bulk + outliers.length + i] = v));
  const perm = rng.permutation(n);
  return { diag: Float64Array.from(perm, (p) => vals[p]), top: [...outliers] };
}

/** max |Q^T Q - I| over the full Gram matrix (blocked; float64 accumulation). */
function orthogonalityLoss(basis) {
  const k = basis.length;
  const n = basis[0].length;
  const g = new Float64Array(k * k);
  const T = 2048;
  for (let t0 = 0; t0 < n; t0 += T) {
    const t1 = Math.min(n, t0 + T);
    for (let i = 0; i < k; i++) {
      const a = basis[i];
      for (let j = 0; j <= i; j++) {
        const b = basis[j];
        let s = 0;
        for (let x = t0; x < t1; x++) s += a[x] * b[x];
        g[i * k + j] += s;
      }
    }
  }
  let worst = 0;
  for (let i = 0; i < k; i++) for (let j = 0; j <= i; j++) worst = Math.max(worst, Math.abs(g[i * k + j] - (i === j ? 1 : 0)));
  return worst;
}

function topRitz(alpha, beta, k) {
  const t = tridiagonalEigen(alpha, beta);
  return Array.from(t.values).slice(-k).reverse();
}

async function timed(fn) {
  let best = Infinity;
  let out;
  for (let r = 0; r < REPS; r++) {
    if (global.gc) global.gc();
    const t0 = performance.now();
    out = await fn();
    best = Math.min(best, performance.now() - t0);
  }
  return { ms: best, out };
}

const rng = new Rng(2026);
const { diag, top } = buildSpectrum(DIM, rng.fork('spectrum'));
const op = new DiagonalOperator(diag);
// Operator cost alone (what the timings below include besides the linear algebra).
{
  const v = Float32Array.from(rng.fork('probe').gaussian(DIM));
  const t0 = performance.now();
  for (let i = 0; i < STEPS; i++) await op.matvec(v);
  var matvecMs = performance.now() - t0;
}

const rows = [];
async function row(name, variant, fn, extract) {
  const { ms, out } = await timed(fn);
  const info = extract(out);
  rows.push({ name, variant, ms: Math.round(ms), ...info });
  console.error(`${name.padEnd(10)} ${variant.padEnd(16)} ${ms.toFixed(0).padStart(7)} ms`);
  return out;
}

const start = rng.fork('start').gaussian(DIM);
const relTop = (alpha, beta) => {
  const r = topRitz(alpha, beta, 3);
  return Math.max(...r.map((x, i) => Math.abs(x - top[i]) / top[i]));
};
const lzOld = await row('lanczos', 'before', () => oldLanczos(op, { steps: STEPS, rng: new Rng(1), start }), (r) => ({
  orthLoss: orthogonalityLoss(r.basis),
  top3RelErr: relTop(r.alpha, r.beta),
}));
const lzNew = await row('lanczos', 'after float64', () => lanczos(op, { steps: STEPS, rng: new Rng(1), start, keepBasis: true }), (r) => ({
  orthLoss: orthogonalityLoss(r.basis),
  top3RelErr: relTop(r.alpha, r.beta),
}));
const lz32 = await row('lanczos', 'after float32', () => lanczos(op, { steps: STEPS, rng: new Rng(1), start, keepBasis: true, basis: 'float32' }), (r) => ({
  orthLoss: orthogonalityLoss(r.basis),
  top3RelErr: relTop(r.alpha, r.beta),
}));
const alphaDiff = (a, b) => Math.max(...a.alpha.map((x, i) => Math.abs(x - b.alpha[i])));
for (const [r, o] of [[rows[1], lzNew], [rows[2], lz32]]) r.maxAlphaDiffVsBefore = alphaDiff(o, lzOld);

const nodeDiff = (a, b) => Math.max(...a.nodes.map((x, i) => Math.abs(x - b.nodes[i])));
const weightDiff = (a, b) => Math.max(...a.weights.map((x, i) => Math.abs(x - b.weights[i])));
const slqOld = await row('slqRun', 'before', () => oldSlqRun(op, { steps: STEPS, rng: new Rng(5) }), (r) => ({ top3RelErr: Math.max(...r.nodes.slice(-3).reverse().map((x, i) => Math.abs(x - top[i]) / top[i])) }));
for (const basis of ['float64', 'float32']) {
  const s = await row('slqRun', `after ${basis}`, () => slqRun(op, { steps: STEPS, rng: new Rng(5), basis }), (r) => ({
    top3RelErr: Math.max(...r.nodes.slice(-3).reverse().map((x, i) => Math.abs(x - top[i]) / top[i])),
  }));
  const last = rows[rows.length - 1];
  last.maxNodeDiffVsBefore = nodeDiff(s, slqOld);
  last.maxWeightDiffVsBefore = weightDiff(s, slqOld);
}
for (const basis of ['float64', 'float32']) {
  await row('topEig k=3', `after ${basis}`, () => topEigenvalues(op, { k: 3, rng: new Rng(7), maxSteps: STEPS, basis }), (r) => ({
    steps: r.iterations,
    top3RelErr: Math.max(...r.eigenvalues.map((x, i) => Math.abs(x - top[i]) / top[i])),
    maxResidual: Math.max(...r.residuals),
  }));
}

const base = Object.fromEntries(rows.filter((r) => r.variant === 'before').map((r) => [r.name, r.ms]));
console.log(`\nLanczos linear algebra, dim ${DIM}, ${STEPS} steps, diagonal operator (${STEPS} products: ${matvecMs.toFixed(0)} ms), node ${process.version}, ${os.cpus()[0].model}`);
console.log('| run | variant | ms | speedup | max abs(Q^T Q - I) | top-3 rel err | vs before |');
console.log('| --- | --- | ---: | ---: | ---: | ---: | --- |');
for (const r of rows) {
  const sp = base[r.name] ? (base[r.name] / r.ms).toFixed(1) + 'x' : '';
  const vs = r.maxAlphaDiffVsBefore !== undefined ? `max abs(d alpha) ${r.maxAlphaDiffVsBefore.toExponential(1)}`
    : r.maxNodeDiffVsBefore !== undefined ? `max abs(d node) ${r.maxNodeDiffVsBefore.toExponential(1)}, abs(d weight) ${r.maxWeightDiffVsBefore.toExponential(1)}` : '';
  console.log(`| ${r.name} | ${r.variant} | ${r.ms} | ${sp} | ${r.orthLoss !== undefined ? r.orthLoss.toExponential(1) : ''} | ${r.top3RelErr.toExponential(1)} | ${vs} |`);
}
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(
  OUT,
  JSON.stringify({ dim: DIM, steps: STEPS, reps: REPS, matvecMs: Math.round(matvecMs), node: process.version, cpu: os.cpus()[0].model, date: new Date().toISOString(), rows }, null, 2) + '\n',
);
console.log(`wrote ${OUT}`);
