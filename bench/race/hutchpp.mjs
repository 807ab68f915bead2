// Matvecs to a 1 % trace on a zoo model's full network: Hutchinson vs Hutch++, from their
// exact variance formulas with every term measured (never in CI; a direct run of Hutchinson to
// 1 % on LeNet would take ~16,000 products, hours on the shared machine).
//   node bench/race/hutchpp.mjs [--model lenet] [--examples 256] [--target 0.01] [--probes 60] [--sketch 160] [--out FILE]
//
// Rademacher Hutchinson's per-probe variance is 2 (||H||_F^2 - sum_i H_ii^2): ||H||_F^2 =
// E ||H v||^2 is averaged over the probes, the diagonal is the exact one by backpropagation
// (exact for ReLU networks), and the probes' sample variance is printed beside it as a check.
// Hutch++ with a sketch Q of s columns (Q = orth(H S), 2 s products) takes tr(Q^T H Q) exactly
// and runs Hutchinson on P H P (P = I - Q Q^T), whose per-probe variance is at most
// 2 ||P H P||_F^2 = 2 (||H||_F^2 - 2 ||H Q||_F^2 + ||Q^T H Q||_F^2), every term known from the
// sketch. Products to a relative standard error `target`: Hutchinson var / (target tr)^2;
// Hutch++ min over s of 2 s + var_s / (target tr)^2 (s on a doubling grid, nested sketches).
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
const argv = process.argv.slice(2);
const opt = (k, d) => (argv.includes(`--${k}`) ? argv[argv.indexOf(`--${k}`) + 1] : d);
const name = opt('model', 'lenet');
const examples = Number(opt('examples', '256'));
const target = Number(opt('target', '0.01'));
const K = Number(opt('probes', '60'));
const sMax = Number(opt('sketch', '160'));
const { initBackend, loadModel, loadDataset, HessianEngine } = await import('@hessian/engine');
const { Rng, dot, orthogonalizeAgainst, normalize } = await import('@hessian/linalg');
await initBackend('native', { needsConv: true });
(await import('@hessian/native')).setThreads(1);
const model = await loadModel(`zoo:${name}`, { seed: 0 });
const data = await loadDataset(`fashion-mnist:train[0:${examples}]`);
const engine = new HessianEngine(model, { x: data.x, shape: data.shape, labels: data.labels, numClasses: data.numClasses });
const op = engine.operator('hessian', { kind: 'full' });
const n = op.dim;
const load0 = loadavg()[0];
const t0 = performance.now();
const verdict = engine.curvatureVerdict({ kind: 'full' });
const diag = await engine.hessianDiagonal({ kind: 'full' });
let tr = 0;
let d2 = 0;
for (const x of diag) {
  tr += x;
  d2 += x * x;
}
const f64 = (a) => Float64Array.from(a);
// Hutchinson probes
const rng = new Rng(1);
const s = [];
let fro = 0;
for (let k = 0; k < K; k++) {
  const v = rng.rademacher(n);
  const hv = await op.matvec(v);
  s.push(dot(v, hv));
  fro += dot(hv, hv) / K;
  if ((k + 1) % 10 === 0) console.error(`hutchinson probe ${k + 1}/${K}`);
}
const mean = s.reduce((a, b) => a + b, 0) / K;
const sampleVar = s.reduce((a, b) => a + (b - mean) ** 2, 0) / (K - 1);
const formulaVar = 2 * (fro - d2);
const need = (v) => v / (target * tr) ** 2;
const hutch = { perProbeVariance: formulaVar, sampleVariance: sampleVar, frobenius2: fro, diag2: d2, matvecs: Math.ceil(need(formulaVar)), matvecsFromSampleVariance: Math.ceil(need(sampleVar)) };
console.log(`${name}: exact trace ${tr.toPrecision(6)} (${verdict.why}); Hutchinson mean of ${K} probes ${mean.toPrecision(6)}`);
console.log(`Hutchinson per-probe variance 2(||H||_F^2 - sum H_ii^2) = ${formulaVar.toPrecision(4)} (sample variance ${sampleVar.toPrecision(4)}): ${hutch.matvecs} products to ${target * 100} % (${hutch.matvecsFromSampleVariance} from the sample variance)`);
// Hutch++ sketches, nested
const srng = new Rng(2);
const q = [];
const hq = [];
const rows = [];
let next = 10;
for (let i = 0; i < sMax; i++) {
  const y = f64(await op.matvec(srng.rademacher(n)));
  const before = Math.sqrt(dot(y, y));
  orthogonalizeAgainst(y, q, 2);
  if (!(before > 0 && normalize(y) > 1e-6 * before)) continue;
  q.push(y);
  hq.push(f64(await op.matvec(Float32Array.from(y))));
  if (q.length === next || i === sMax - 1) {
    let hqF = 0;
    for (const a of hq) hqF += dot(a, a);
    let qhqF = 0;
    for (let a = 0; a < q.length; a++) for (let b = 0; b < q.length; b++) qhqF += dot(q[a], hq[b]) ** 2;
    const pap = Math.max(0, fro - 2 * hqF + qhqF);
    const r = Math.ceil(need(2 * pap));
    let low = 0;
    for (let a = 0; a < q.length; a++) low += dot(q[a], hq[a]);
    rows.push({ sketch: q.length, sketchProducts: 2 * q.length, lowRankTrace: low, remainderFrobenius2: pap, remainderProducts: r, total: 2 * q.length + r });
    console.log(`Hutch++ sketch ${q.length}: tr(Q^T H Q) = ${low.toPrecision(5)} of ${tr.toPrecision(5)}, ||PHP||_F^2 / ||H||_F^2 = ${(pap / fro).toFixed(4)}: ${2 * q.length} + ${r} = ${2 * q.length + r} products`);
    next *= 2;
  }
}
const best = rows.reduce((a, b) => (b.total < a.total ? b : a));
const out = {
  model: name, examples, target, params: n, exactTrace: tr, verdict, hutchinson: hutch, hutchPlusPlus: rows, best, ratio: best.total / hutch.matvecs,
  productsTaken: K + rows.at(-1).sketchProducts, seconds: (performance.now() - t0) / 1000, loadBefore: load0, loadAfter: loadavg()[0], date: new Date().toISOString(),
};
console.log(`Hutch++ / Hutchinson products to ${target * 100} %: ${best.total} / ${hutch.matvecs} = ${out.ratio.toFixed(3)} (sketch ${best.sketch})`);
writeFileSync(opt('out', `bench/results/hutchpp-${name}.json`), JSON.stringify(out, null, 2) + '\n');
engine.dispose();
model.dispose();
