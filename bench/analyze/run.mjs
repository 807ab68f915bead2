// Acceptance benchmark of `hessctl analyze` (not a test; run on demand after the build):
//   node bench/analyze/run.mjs [--quick]
// 1. HVP time per backend (cpu, wasm, native; each in its own child process) on zoo:mlp (batch 256)
//    and zoo:lenet (batch 128), full-network Hessian operator.
// 2. The acceptance command, timed, and an independent check of its numbers: top eigenvalue of
//    every scope against power iteration, trace against an exact reference (Tr H_ll = Tr G_ll
//    for ReLU + cross-entropy, computed from per-example Jacobians), for zoo:mlp and for a
//    784-256-128-10 MLP saved as model.json by tfjs-layers; same seed twice and --workers 1 vs 3
//    give identical numbers.
// Prints tables and writes bench/results/analyze.json (analyze-quick.json with --quick).
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const SELF = fileURLToPath(import.meta.url);
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');

// ---------------------------------------------------------------------------------------------
// configuration
const CFG = QUICK
  ? {
      hvpWarmup: 1,
      hvpReps: 3,
      data: 'fashion-mnist:train[0:64]',
      analyzeFlags: ['--top-k', '3', '--trace-probes', '40', '--density-runs', '2'],
      detFlags: ['--top-k', '2', '--trace-probes', '20', '--density-runs', '1', '--density-steps', '30'],
      powerTol: 1e-6,
      powerMaxIter: 500,
      tinyN: 16,
    }
  : {
      hvpWarmup: 2,
      hvpReps: 9,
      data: 'fashion-mnist:train[0:256]',
      analyzeFlags: ['--top-k', '3', '--trace-probes', '200', '--density-runs', '5'],
      detFlags: ['--top-k', '3', '--trace-probes', '60', '--density-runs', '2'],
      powerTol: 1e-7,
      powerMaxIter: 2000,
      tinyN: 32,
    };
const TOL_EIG = 0.01; // relative
const TOL_SE = 3; // standard errors
const HVP_CASES = [
  { model: 'mlp', data: 'fashion-mnist:train[0:256]', batch: 256, conv: false },
  { model: 'lenet', data: 'fashion-mnist:train[0:128]', batch: 128, conv: true },
];
const BACKENDS = ['cpu', 'wasm', 'native'];

// ---------------------------------------------------------------------------------------------
// helpers
function median(a) {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
function fmt(x, d = 4) {
  if (x === null || x === undefined || Number.isNaN(x)) return '-';
  if (typeof x !== 'number') return String(x);
  if (Number.isInteger(x) && Math.abs(x) < 1e9) return String(x);
  if (x !== 0 && (Math.abs(x) >= 1e5 || Math.abs(x) < 1e-3)) return x.toExponential(d - 1);
  return x.toPrecision(d);
}
function table(title, headers, rows) {
  const cells = [headers, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : String(c))))];
  const w = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r) => '| ' + r.map((c, i) => c.padEnd(w[i])).join(' | ') + ' |';
  console.log(`\n${title}`);
  console.log(line(cells[0]));
  console.log('|' + w.map((n) => '-'.repeat(n + 2)).join('|') + '|');
  for (const r of cells.slice(1)) console.log(line(r));
}
function shellQuote(a) {
  return /^[A-Za-z0-9_./:=,-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** Runs a command; resolves {code, stdout, stderr, ms}. */
function run(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const p = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...(opts.env ?? {}) } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => {
      err += d;
      if (opts.echoErr) process.stderr.write(d);
    });
    p.on('close', (code) => resolve({ code, stdout: out, stderr: err, ms: performance.now() - t0 }));
  });
}

/** Runs a task of this script in a child process; the child prints one JSON line last. */
async function child(task, payload) {
  const r = await run(process.execPath, [SELF, '--child', task, JSON.stringify(payload)], { echoErr: true });
  const last = r.stdout.trim().split('\n').pop();
  if (r.code !== 0) throw new Error(`child ${task} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(last);
}

const HESSCTL = path.join(ROOT, 'hessctl');
async function hessctl(args) {
  const r = await run(HESSCTL, args);
  if (r.code !== 0) throw new Error(`hessctl ${args.join(' ')} failed (exit ${r.code}):\n${r.stderr}`);
  return { report: JSON.parse(r.stdout), seconds: r.ms / 1000, command: ['./hessctl', ...args].map(shellQuote).join(' ') };
}

/** The report's numbers, without timings. */
function numbers(report, fields = null) {
  return report.scopes.map((s) => ({
    name: s.name,
    operators: s.operators.map((o) => {
      const out = { operator: o.operator };
      for (const k of fields ?? Object.keys(o)) if (k !== 'seconds' && o[k] !== undefined) out[k] = o[k];
      return out;
    }),
  }));
}
function firstDiff(a, b, where = '') {
  if (typeof a !== typeof b) return `${where}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
  if (Array.isArray(a) || (a && typeof a === 'object')) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b ?? {})]);
    for (const k of keys) {
      const d = firstDiff(a[k], b?.[k], `${where}.${k}`);
      if (d) return d;
    }
    return null;
  }
  if (Object.is(a, b)) return null;
  return `${where}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
}

// ---------------------------------------------------------------------------------------------
// child tasks (each in its own process: tfjs keeps one active backend per process)

async function childHvp({ backend, warmup, reps }) {
  const { initBackend, loadModel, loadDataset, HessianEngine } = await import('@hessian/engine');
  const { Rng } = await import('@hessian/linalg');
  const rows = [];
  for (const c of HVP_CASES) {
    if (backend === 'wasm' && c.conv) {
      rows.push({ backend, model: c.model, batch: c.batch, skipped: 'wasm has no second-order conv kernels' });
      continue;
    }
    let info;
    try {
      info = await initBackend(backend, { needsConv: c.conv });
    } catch (e) {
      rows.push({ backend, model: c.model, batch: c.batch, skipped: e.message });
      continue;
    }
    const m = await loadModel(`zoo:${c.model}`);
    const data = await loadDataset(c.data);
    const e = new HessianEngine(m, data);
    const op = e.operator('hessian', { kind: 'full' });
    const v = new Rng(1).gaussian(op.dim);
    for (let i = 0; i < warmup; i++) await op.matvec(v);
    const times = [];
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      await op.matvec(v);
      times.push(performance.now() - t0);
    }
    const ms = median(times);
    rows.push({ backend: info.name, detail: info.detail, model: c.model, data: c.data, batch: c.batch, params: m.paramCount, warmup, reps, medianMs: ms, minMs: Math.min(...times), maxMs: Math.max(...times), hvpPerSec: 1000 / ms });
    e.dispose();
    m.dispose();
  }
  return rows;
}

/** Per-layer exact Tr(G_ll) = (1/N) sum_n Tr(A_n J_nl J_nl^T), from per-example logit gradients. */
async function exactLayerTraces(tf, model, data, groups) {
  const params = model.paramTensors();
  const per = model.inputShape.reduce((a, b) => a * b, 1);
  const N = data.shape[0];
  const C = model.outputSize;
  const groupOf = model.params.map((p) => groups.findIndex((g) => g.tensors.some((t) => t.name === p.name)));
  const acc = new Float64Array(groups.length);
  let loss = 0;
  for (let n = 0; n < N; n++) {
    const x = tf.tensor(data.x.slice(n * per, (n + 1) * per), [1, ...model.inputShape]);
    const z = tf.tidy(() => model.forward(params, x));
    const zd = Float64Array.from(await z.data());
    z.dispose();
    // softmax in float64, A = diag(p) - p p^T
    const mx = Math.max(...zd);
    const ex = zd.map((v) => Math.exp(v - mx));
    const s = ex.reduce((a, b) => a + b, 0);
    const p = ex.map((v) => v / s);
    loss += Math.log(s) + mx - zd[data.labels[n]];
    // Gram matrices M_l[c][c'] = <d z_c / d theta_l, d z_c' / d theta_l>
    const grams = tf.tidy(() => {
      const perClass = [];
      for (let c = 0; c < C; c++) {
        const gs = tf.grads((...ps) => tf.sum(tf.slice(model.forward(ps, x), [0, c], [1, 1])))(params);
        perClass.push(gs.map((g) => tf.reshape(g, [-1])));
      }
      const out = [];
      for (let k = 0; k < params.length; k++) {
        const Jk = tf.stack(perClass.map((gc) => gc[k])); // [C, size_k]
        out.push(tf.matMul(Jk, Jk, false, true)); // [C, C]
      }
      return out;
    });
    for (let k = 0; k < grams.length; k++) {
      const M = await grams[k].data();
      grams[k].dispose();
      if (groupOf[k] < 0) continue;
      let t = 0;
      for (let c = 0; c < C; c++) {
        for (let d = 0; d < C; d++) t += ((c === d ? p[c] : 0) - p[c] * p[d]) * M[d * C + c];
      }
      acc[groupOf[k]] += t;
    }
    x.dispose();
  }
  return { traces: Array.from(acc, (t) => t / N), loss: loss / N };
}

async function childVerify({ model: modelSpec, data: dataSpec, backend, scopes, powerTol, powerMaxIter, explicitScope }) {
  const { initBackend, loadModel, loadDataset, HessianEngine, tf } = await import('@hessian/engine');
  const { Rng, powerIteration } = await import('@hessian/linalg');
  const info = await initBackend(backend);
  const model = await loadModel(modelSpec);
  const data = await loadDataset(dataSpec);
  const engine = new HessianEngine(model, data);
  const groups = model.groups('layer');
  const out = { backend: info.name, notes: model.notes, loss: await engine.loss(), scopes: [] };
  // exact traces
  const t0 = performance.now();
  const ex = await exactLayerTraces(tf, model, data, groups);
  out.exactSeconds = (performance.now() - t0) / 1000;
  out.exactLoss = ex.loss;
  for (const s of scopes) {
    const scope = s === 'full' ? { kind: 'full' } : { kind: 'group', group: s, convention: 'layer' };
    const gi = groups.findIndex((g) => g.name === s);
    if (s !== 'full' && gi < 0) throw new Error(`scope ${s} not among the model's groups ${groups.map((g) => g.name)}`);
    const exact = s === 'full' ? ex.traces.reduce((a, b) => a + b, 0) : ex.traces[gi];
    const op = engine.operator('hessian', scope);
    const t1 = performance.now();
    const pi = await powerIteration(op, { k: 1, rng: new Rng(20240601).fork(s), tol: powerTol, maxIter: powerMaxIter });
    out.scopes.push({ name: s, dim: op.dim, exactTrace: exact, power: { value: pi.eigenvalues[0], residual: pi.residuals[0], converged: pi.converged, iterations: pi.iterations, seconds: (performance.now() - t1) / 1000 } });
  }
  // the smallest layer block explicitly: its trace (exact formula check on the real model) and
  // the true standard deviation of a Rademacher Hutchinson sample, 2 (||H||_F^2 - sum H_ii^2)
  if (explicitScope) {
    const op = engine.operator('hessian', { kind: 'group', group: explicitScope, convention: 'layer' });
    const n = op.dim;
    const H = new Float64Array(n * n);
    const t1 = performance.now();
    for (let i = 0; i < n; i++) {
      const e = new Float32Array(n);
      e[i] = 1;
      H.set(await op.matvec(e), i * n);
    }
    let tr = 0;
    let frob2 = 0;
    let diag2 = 0;
    let asym = 0;
    let maxAbs = 0;
    for (let i = 0; i < n; i++) {
      tr += H[i * n + i];
      diag2 += H[i * n + i] ** 2;
      for (let j = 0; j < n; j++) {
        const s = (H[i * n + j] + H[j * n + i]) / 2;
        frob2 += s * s;
        asym = Math.max(asym, Math.abs(H[i * n + j] - H[j * n + i]));
        maxAbs = Math.max(maxAbs, Math.abs(H[i * n + j]));
      }
    }
    const gi = groups.findIndex((g) => g.name === explicitScope);
    out.explicit = { scope: explicitScope, dim: n, trace: tr, exactTrace: ex.traces[gi], relDiff: Math.abs(tr - ex.traces[gi]) / Math.abs(tr), rademacherSampleStd: Math.sqrt(2 * (frob2 - diag2)), asymmetry: asym / maxAbs, seconds: (performance.now() - t1) / 1000 };
  }
  engine.dispose();
  model.dispose();
  return out;
}

/** tiny-mlp: explicit Hessian and Gauss-Newton blocks from unit vectors; residual blocks vanish. */
async function childTiny({ n }) {
  const { initBackend, loadModel, HessianEngine, tf } = await import('@hessian/engine');
  const { Rng } = await import('@hessian/linalg');
  const info = await initBackend('cpu');
  const model = await loadModel('zoo:tiny-mlp');
  const rng = new Rng(7);
  const per = model.inputShape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: n * per }, () => rng.normal());
  const labels = Int32Array.from({ length: n }, () => rng.int(model.outputSize));
  const data = { x, shape: [n, ...model.inputShape], labels, numClasses: model.outputSize };
  const engine = new HessianEngine(model, data);
  const explicit = async (op) => {
    const M = [];
    for (let i = 0; i < op.dim; i++) {
      const e = new Float32Array(op.dim);
      e[i] = 1;
      M.push(Array.from(await op.matvec(e)));
    }
    return M;
  };
  const trace = (M) => M.reduce((a, r, i) => a + r[i], 0);
  const maxAbs = (M) => Math.max(...M.flat().map(Math.abs));
  const groups = model.groups('layer');
  const ex = await exactLayerTraces(tf, model, data, groups);
  const rows = [];
  let sumTrH = 0;
  for (const [gi, g] of groups.entries()) {
    const scope = { kind: 'group', group: g.name, convention: 'layer' };
    const H = await explicit(engine.operator('hessian', scope));
    const G = await explicit(engine.operator('gauss-newton', scope));
    const R = H.map((r, i) => r.map((v, j) => v - G[i][j]));
    sumTrH += trace(H);
    rows.push({ scope: g.name, dim: H.length, trH: trace(H), trG: trace(G), maxAbsH: maxAbs(H), maxAbsR: maxAbs(R), relR: maxAbs(R) / maxAbs(H), exactFromJacobians: ex.traces[gi], relExact: Math.abs(ex.traces[gi] - trace(H)) / Math.abs(trace(H)) });
  }
  const Hf = await explicit(engine.operator('hessian', { kind: 'full' }));
  const Gf = await explicit(engine.operator('gauss-newton', { kind: 'full' }));
  const Rf = Hf.map((r, i) => r.map((v, j) => v - Gf[i][j]));
  const asym = Math.max(...Hf.flatMap((r, i) => r.map((v, j) => Math.abs(v - Hf[j][i]))));
  rows.push({ scope: 'full', dim: Hf.length, trH: trace(Hf), trG: trace(Gf), maxAbsH: maxAbs(Hf), maxAbsR: maxAbs(Rf), relR: maxAbs(Rf) / maxAbs(Hf), exactFromJacobians: ex.traces.reduce((a, b) => a + b, 0), relExact: Math.abs(ex.traces.reduce((a, b) => a + b, 0) - trace(Hf)) / Math.abs(trace(Hf)) });
  return { backend: info.name, n, rows, fullAsymmetry: asym, sumLayerTrH: sumTrH, fullTrH: trace(Hf) };
}

/** Builds the 784-256-128-10 MLP (final softmax) with tfjs-layers and saves model.json + weights.bin. */
async function childSaveTfjs({ dir }) {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  const tfl = await import('@tensorflow/tfjs-layers');
  await tf.setBackend('cpu');
  const init = (seed) => ({ kernelInitializer: tfl.initializers.glorotUniform({ seed }), biasInitializer: tfl.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: seed + 100 }) });
  const m = tfl.sequential({
    layers: [
      tfl.layers.flatten({ inputShape: [28, 28, 1] }),
      tfl.layers.dense({ units: 256, activation: 'relu', ...init(11) }),
      tfl.layers.dense({ units: 128, activation: 'relu', ...init(12) }),
      tfl.layers.dense({ units: 10, activation: 'softmax', ...init(13) }),
    ],
  });
  mkdirSync(dir, { recursive: true });
  await m.save(
    tf.io.withSaveHandler(async (a) => {
      const wd = Array.isArray(a.weightData) ? tf.io.concatenateArrayBuffers(a.weightData) : a.weightData;
      writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(wd));
      const json = { modelTopology: a.modelTopology, format: 'layers-model', generatedBy: a.generatedBy, convertedBy: a.convertedBy ?? null, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] };
      writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return { dir, path: path.join(dir, 'model.json'), layers: m.layers.map((l) => l.name), params: m.countParams() };
}

// ---------------------------------------------------------------------------------------------
// main

/** Compares a report with the verifier's references; returns rows and whether all checks pass. */
function checkReport(label, report, ver) {
  const rows = [];
  let ok = true;
  for (const s of report.scopes) {
    const h = s.operators.find((o) => o.operator === 'hessian');
    const v = ver.scopes.find((x) => x.name === s.name);
    const l1 = h.top.values[0];
    const ref = v.power.value;
    const rel = Math.abs(l1 - ref) / Math.abs(ref);
    const dev = Math.abs(h.trace.mean - v.exactTrace) / h.trace.stderr;
    const eigOk = rel <= TOL_EIG;
    const trOk = dev <= TOL_SE;
    ok &&= eigOk && trOk;
    rows.push({ model: label, scope: s.name, params: s.params, lambda1: l1, lambda1Residual: h.top.residuals[0], lanczosConverged: h.top.converged, refLambda1: ref, refResidual: v.power.residual, refConverged: v.power.converged, refIterations: v.power.iterations, relDiff: rel, eigOk, trace: h.trace.mean, traceSE: h.trace.stderr, traceProbes: h.trace.probes, exactTrace: v.exactTrace, devSE: dev, traceOk: trOk });
  }
  return { rows, ok };
}

async function main() {
  const started = new Date();
  const results = {
    bench: 'analyze',
    quick: QUICK,
    date: started.toISOString(),
    machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, os: `${os.type()} ${os.release()} ${os.arch()}`, memGiB: +(os.totalmem() / 2 ** 30).toFixed(1), loadAvgAtStart: os.loadavg() },
    config: CFG,
    commands: {},
    checks: {},
  };
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'hess-bench-analyze-'));
  const allOk = [];

  // 1. HVP per backend
  console.log(`# hessctl analyze acceptance benchmark${QUICK ? ' (--quick)' : ''}, ${results.date}`);
  console.log(`machine: ${results.machine.cpu}, ${results.machine.cores} cores, node ${results.machine.node}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const hvp = [];
  for (const b of BACKENDS) {
    console.error(`[hvp] backend ${b} ...`);
    hvp.push(...(await child('hvp', { backend: b, warmup: CFG.hvpWarmup, reps: CFG.hvpReps })));
  }
  results.hvp = hvp;
  results.commands.hvp = BACKENDS.map((b) => `node bench/analyze/run.mjs --child hvp '${JSON.stringify({ backend: b, warmup: CFG.hvpWarmup, reps: CFG.hvpReps })}'`);
  table(
    `HVP of the full-network Hessian (median of ${CFG.hvpReps} after ${CFG.hvpWarmup} warm-up)`,
    ['backend', 'model', 'batch', 'params', 'ms/HVP', 'HVP/s', 'min ms', 'max ms'],
    hvp.map((r) => (r.skipped ? [r.backend, r.model, r.batch, '-', `skipped: ${r.skipped.slice(0, 60)}`, '-', '-', '-'] : [r.backend, r.model, r.batch, r.params, r.medianMs, r.hvpPerSec, r.minMs, r.maxMs])),
  );

  // 2a. residual blocks vanish on tiny-mlp
  console.error('[tiny] explicit Hessian of zoo:tiny-mlp ...');
  const tiny = await child('tiny', { n: CFG.tinyN });
  const tinyOk = tiny.rows.filter((r) => r.scope !== 'full').every((r) => r.relR < 1e-5) && tiny.rows.every((r) => r.relExact < 1e-4) && Math.abs(tiny.sumLayerTrH - tiny.fullTrH) <= 1e-5 * Math.abs(tiny.fullTrH);
  results.checks.tinyMlpResidualBlocks = { ...tiny, ok: tinyOk };
  allOk.push(['tiny-mlp: H_ll = G_ll, exact-trace code = explicit trace', tinyOk]);
  table(
    `zoo:tiny-mlp (${tiny.n} random examples, ${tiny.backend}): explicit blocks from unit vectors, R = H - G`,
    ['scope', 'dim', 'Tr H', 'Tr G', 'max|H|', 'max|R|', 'max|R|/max|H|', 'Tr from Jacobians', 'rel diff'],
    tiny.rows.map((r) => [r.scope, r.dim, r.trH, r.trG, r.maxAbsH, r.maxAbsR, r.relR, r.exactFromJacobians, r.relExact]),
  );
  console.log(`sum of layer Tr(H_ll) = ${fmt(tiny.sumLayerTrH, 8)}, Tr(H) = ${fmt(tiny.fullTrH, 8)}; full R is not zero off the diagonal blocks (as expected); H asymmetry ${fmt(tiny.fullAsymmetry)} -> ${tinyOk ? 'PASS' : 'FAIL'}`);

  // 2b. acceptance command, zoo:mlp, and the model.json MLP
  const baseArgs = ['--data', CFG.data, ...CFG.analyzeFlags, '--format', 'json', '-q'];
  const saved = await child('save-tfjs', { dir: path.join(tmp, 'tfjs-mlp') });
  const models = [
    { label: 'zoo:mlp', spec: 'zoo:mlp' },
    { label: 'tfjs model.json', spec: saved.path },
  ];
  results.savedModel = saved;
  const eigRows = [];
  const explicitRows = [];
  const walls = [];
  const acceptance = {};
  for (const m of models) {
    console.error(`[analyze] ${m.label} ...`);
    const r = await hessctl(['analyze', '--model', m.spec, ...baseArgs]);
    writeFileSync(path.join(tmp, `${m.label.replace(/\W+/g, '_')}.json`), JSON.stringify(r.report));
    walls.push({ what: `analyze ${m.label}`, command: r.command, seconds: r.seconds, hvps: r.report.totals.hvps, computeSeconds: r.report.totals.seconds, backend: r.report.backend });
    results.commands[`analyze ${m.label}`] = r.command;
    console.error(`[verify] ${m.label} (backend ${r.report.backend}) ...`);
    const t0 = performance.now();
    const layers = r.report.scopes.filter((s) => s.kind === 'layer').sort((a, b) => a.params - b.params);
    const explicitScope = layers.length && layers[0].params <= 4096 ? layers[0].name : null;
    const ver = await child('verify', { model: m.spec, data: CFG.data, backend: r.report.backend, scopes: r.report.scopes.map((s) => s.name), powerTol: CFG.powerTol, powerMaxIter: CFG.powerMaxIter, explicitScope });
    walls.push({ what: `verify ${m.label}`, command: '(child verify)', seconds: (performance.now() - t0) / 1000, hvps: ver.scopes.reduce((a, s) => a + s.power.iterations + 1, 0) + (ver.explicit?.dim ?? 0), backend: ver.backend });
    const lossRel = Math.abs(ver.exactLoss - r.report.lossValue) / r.report.lossValue;
    const c = checkReport(m.label, r.report, ver);
    let ok = c.ok && lossRel < 1e-4;
    if (ver.explicit) {
      const x = ver.explicit;
      const tr = r.report.scopes.find((s) => s.name === x.scope).operators.find((o) => o.operator === 'hessian').trace;
      x.reportedSE = tr.stderr;
      x.trueSE = x.rademacherSampleStd / Math.sqrt(tr.probes);
      x.seRatio = tr.stderr / x.trueSE;
      x.ok = x.relDiff < 1e-4 && x.seRatio > 0.7 && x.seRatio < 1.3;
      explicitRows.push([m.label, x.scope, x.dim, x.trace, x.exactTrace, x.relDiff, x.asymmetry, x.reportedSE, x.trueSE, x.seRatio, x.ok ? 'yes' : 'NO']);
      allOk.push([`${m.label}: explicit ${x.scope} block: trace = exact, reported SE consistent with the true one`, x.ok]);
    }
    acceptance[m.label] = { command: r.command, wallSeconds: r.seconds, report: { backend: r.report.backend, lossValue: r.report.lossValue, totals: r.report.totals, notes: ver.notes }, verifier: { backend: ver.backend, loss: ver.loss, lossFromJacobianPass: ver.exactLoss, exactSeconds: ver.exactSeconds, power: ver.scopes }, lossRelDiff: lossRel, rows: c.rows, ok };
    allOk.push([`${m.label}: lambda1 within ${TOL_EIG * 100}% and trace within ${TOL_SE} SE of exact`, ok]);
    eigRows.push(...c.rows);
    acceptance[m.label].report.scopes = r.report.scopes.map((s) => ({ name: s.name, params: s.params, operators: s.operators.map((o) => ({ operator: o.operator, top: o.top, trace: o.trace, similarity: o.similarity, density: o.density ? { runs: o.density.runs, steps: o.density.steps, sigma: o.density.sigma, hvps: o.density.hvps } : undefined, hvps: o.hvps, seconds: o.seconds })) }));
    if (m.label === 'zoo:mlp') acceptance[m.label].fullReport = r.report;
    console.log(`\n${m.label}: loss ${fmt(r.report.lossValue, 6)} (report) vs ${fmt(ver.exactLoss, 6)} (verifier) rel ${fmt(lossRel)}; backend ${r.report.backend}; notes: ${ver.notes.join('; ') || '-'}`);
  }
  results.checks.acceptance = acceptance;
  table(
    'top eigenvalue (Lanczos, report) vs power iteration, trace (Hutchinson, report) vs exact',
    ['model', 'scope', 'params', 'λ1', 'ref λ1 (power)', 'rel diff', 'power it', 'trace ± SE', 'exact trace', '|dev|/SE', 'ok'],
    eigRows.map((r) => [r.model, r.scope, r.params, r.lambda1, r.refLambda1, r.relDiff, `${r.refIterations}${r.refConverged ? '' : '!'}`, `${fmt(r.trace, 5)} ± ${fmt(r.traceSE, 3)}`, r.exactTrace, r.devSE, r.eigOk && r.traceOk ? 'yes' : 'NO']),
  );

  if (explicitRows.length) {
    table(
      'smallest layer block formed explicitly (unit vectors): trace, and the Hutchinson SE the report gives vs the true SE sqrt(2(||H||_F^2 - sum H_ii^2) / probes)',
      ['model', 'scope', 'dim', 'Tr (explicit)', 'exact (Jacobians)', 'rel diff', 'asym', 'reported SE', 'true SE', 'ratio', 'ok'],
      explicitRows,
    );
  }

  // 2c. determinism: same seed twice; --workers 1 vs 3
  console.error('[determinism] same seed twice ...');
  const again = await hessctl(['analyze', '--model', 'zoo:mlp', ...baseArgs]);
  walls.push({ what: 'analyze zoo:mlp (again, same seed)', command: again.command, seconds: again.seconds, hvps: again.report.totals.hvps, computeSeconds: again.report.totals.seconds, backend: again.report.backend });
  const first = acceptance['zoo:mlp'].fullReport;
  const dSeed = firstDiff(numbers(first), numbers(again.report));
  const seedOk = dSeed === null && first.lossValue === again.report.lossValue;
  allOk.push(['same seed twice: identical scopes (timings excluded)', seedOk]);
  delete acceptance['zoo:mlp'].fullReport;

  const detArgs = ['analyze', '--model', 'zoo:mlp', '--data', CFG.data, ...CFG.detFlags, '--format', 'json', '-q'];
  const wres = {};
  for (const w of [1, 3]) {
    console.error(`[determinism] --workers ${w} ...`);
    const r = await hessctl([...detArgs, '--workers', String(w)]);
    wres[w] = r;
    walls.push({ what: `analyze zoo:mlp --workers ${w} (smaller)`, command: r.command, seconds: r.seconds, hvps: r.report.totals.hvps, computeSeconds: r.report.totals.seconds, backend: r.report.backend });
  }
  const fields = ['top', 'trace', 'density', 'similarity'];
  const dW = firstDiff(numbers(wres[1].report, fields), numbers(wres[3].report, fields));
  const workersOk = dW === null;
  allOk.push(['--workers 1 vs 3: identical top/trace/density/similarity', workersOk]);
  results.checks.determinism = {
    sameSeed: { command: again.command, identical: seedOk, firstDifference: dSeed },
    workers: { commands: [wres[1].command, wres[3].command], identical: workersOk, firstDifference: dW, workersReported: [wres[1].report.totals.workers, wres[3].report.totals.workers] },
  };
  console.log(`\nsame seed twice: ${seedOk ? 'identical' : `DIFFERENT (${dSeed})`}`);
  console.log(`--workers 1 vs 3: ${workersOk ? 'identical' : `DIFFERENT (${dW})`} (workers reported ${wres[1].report.totals.workers}, ${wres[3].report.totals.workers})`);

  results.walls = walls;
  table('wall times', ['what', 'backend', 'wall s', 'HVPs', 'compute s (report)'], walls.map((w) => [w.what, w.backend, w.seconds, w.hvps, w.computeSeconds ?? '-']));
  console.log('\ncommands:');
  for (const w of walls.filter((w) => w.command.startsWith('./'))) console.log(`  ${w.command}`);

  results.summary = allOk.map(([what, ok]) => ({ check: what, ok }));
  results.allPassed = allOk.every(([, ok]) => ok);
  table('checks', ['check', 'result'], allOk.map(([w, ok]) => [w, ok ? 'PASS' : 'FAIL']));
  results.finished = new Date().toISOString();
  results.machine.loadAvgAtEnd = os.loadavg();
  const outFile = path.join(ROOT, 'bench', 'results', QUICK ? 'analyze-quick.json' : 'analyze.json');
  writeFileSync(outFile, JSON.stringify(results, null, 2) + '\n');
  console.log(`\nwrote ${path.relative(ROOT, outFile)}; all checks ${results.allPassed ? 'PASSED' : 'did NOT pass'}`);
  rmSync(tmp, { recursive: true, force: true });
  if (!results.allPassed) process.exitCode = 1;
}

const ci = argv.indexOf('--child');
if (ci >= 0) {
  const task = argv[ci + 1];
  const payload = JSON.parse(argv[ci + 2] ?? '{}');
  const fn = { hvp: childHvp, verify: childVerify, tiny: childTiny, 'save-tfjs': childSaveTfjs }[task];
  if (!fn) throw new Error(`unknown child task ${task}`);
  const r = await fn(payload);
  process.stdout.write(`\n${JSON.stringify(r)}\n`);
} else {
  await main();
}
