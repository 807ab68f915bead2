// The child tasks of bench/analyze/run.mjs, each run in its own process (tfjs keeps one active
// backend per process): `node bench/analyze/children.mjs --child TASK JSON` prints one JSON line last.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { median } from '../lib/table.mjs';

export const HVP_CASES = [
  { model: 'mlp', data: 'fashion-mnist:train[0:256]', batch: 256, conv: false },
  { model: 'lenet', data: 'fashion-mnist:train[0:128]', batch: 128, conv: true },
];

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

const argv = process.argv.slice(2);
const ci = argv.indexOf('--child');
if (ci >= 0) {
  const task = argv[ci + 1];
  const payload = JSON.parse(argv[ci + 2] ?? '{}');
  const fn = { hvp: childHvp, verify: childVerify, tiny: childTiny, 'save-tfjs': childSaveTfjs }[task];
  if (!fn) throw new Error(`unknown child task ${task}`);
  const r = await fn(payload);
  process.stdout.write(`\n${JSON.stringify(r)}\n`);
}
