// Matvecs to a 1 % trace on a zoo model's full network: Hutchinson (stop at a relative
// standard error of --target) vs Hutch++ (smallest budget whose RMS relative error over
// --seeds runs is at most --target), against the exact trace from the Hessian diagonal by
// backpropagation. Never in CI.
//   node bench/race/hutchpp.mjs [--model lenet] [--examples 256] [--target 0.01] [--seeds 3] [--out FILE]
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
const argv = process.argv.slice(2);
const opt = (k, d) => (argv.includes(`--${k}`) ? argv[argv.indexOf(`--${k}`) + 1] : d);
const name = opt('model', 'lenet');
const examples = Number(opt('examples', '256'));
const target = Number(opt('target', '0.01'));
const seeds = Number(opt('seeds', '3'));
const { initBackend, loadModel, loadDataset, HessianEngine } = await import('@hessian/engine');
const { hutchPlusPlus, traceSamples, summarizeTrace, Rng } = await import('@hessian/linalg');
await initBackend('native', { needsConv: true });
(await import('@hessian/native')).setThreads(1);
const model = await loadModel(`zoo:${name}`, { seed: 0 });
const data = await loadDataset(`fashion-mnist:train[0:${examples}]`);
const engine = new HessianEngine(model, { x: data.x, shape: data.shape, labels: data.labels, numClasses: data.numClasses });
const op = engine.operator('hessian', { kind: 'full' });
const verdict = engine.curvatureVerdict({ kind: 'full' });
const exact = (await engine.hessianDiagonal({ kind: 'full' })).reduce((a, b) => a + b, 0);
const load0 = loadavg()[0];
// Hutchinson: chunks of 10 until stderr <= target |mean|
const rng = new Rng(1);
const samples = [];
let s;
for (;;) {
  samples.push(...(await traceSamples(op, { probes: 10, rng })));
  s = summarizeTrace(samples);
  if (s.stderr <= target * Math.abs(s.mean) || samples.length >= 5000) break;
}
const hutch = { matvecs: samples.length, mean: s.mean, stderr: s.stderr, relErr: Math.abs(s.mean - exact) / Math.abs(exact) };
console.log(`exact trace ${exact} (${verdict.why}); Hutchinson: ${hutch.matvecs} matvecs, rel err ${hutch.relErr.toExponential(2)}`);
const hpp = [];
let found = null;
for (let m = 30; m <= 4 * hutch.matvecs && !found; m *= 2) {
  const errs = [];
  for (let k = 0; k < seeds; k++) {
    const r = await hutchPlusPlus(op, { rng: new Rng(100 + k), matvecs: m });
    errs.push((r.mean - exact) / exact);
  }
  const rms = Math.sqrt(errs.reduce((a, e) => a + e * e, 0) / errs.length);
  hpp.push({ matvecs: m, rmsRelErr: rms, errs });
  console.log(`Hutch++ ${m} matvecs: RMS rel err ${rms.toExponential(2)}`);
  if (rms <= target) found = m;
}
const out = { model: name, examples, target, exact, verdict, hutchinson: hutch, hutchPlusPlus: hpp, ratio: found ? found / hutch.matvecs : null, loadBefore: load0, loadAfter: loadavg()[0], date: new Date().toISOString() };
console.log(`Hutch++ / Hutchinson matvecs to ${target * 100} %: ${out.ratio}`);
writeFileSync(opt('out', 'bench/results/hutchpp.json'), JSON.stringify(out, null, 2) + '\n');
engine.dispose();
model.dispose();
