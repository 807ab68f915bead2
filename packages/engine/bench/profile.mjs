// Per-kernel time of one engine product (not a test):
//   node packages/engine/bench/profile.mjs [backend] [model] [batch] [hessian|gauss-newton]
import { initBackend, loadModel, HessianEngine, tf } from '@hessian/engine';
import { Rng } from '@hessian/linalg';

const [backend = 'native', model = 'lenet', batchArg = '128', kind = 'hessian'] = process.argv.slice(2);
const batch = Number(batchArg);
await initBackend(backend, { needsConv: true });
const m = await loadModel(`zoo:${model}`);
const rng = new Rng(1);
const per = m.inputShape.reduce((a, b) => a * b, 1);
const x = new Float32Array(batch * per);
for (let i = 0; i < x.length; i++) x[i] = rng.uniform();
const labels = Int32Array.from({ length: batch }, () => rng.int(m.outputSize));
const e = new HessianEngine(m, { x, shape: [batch, ...m.inputShape], labels, numClasses: m.outputSize });
const op = e.operator(kind, { kind: 'full' });
const v = rng.gaussian(op.dim);
for (let i = 0; i < 3; i++) await op.matvec(v);
const t0 = performance.now();
const n = 5;
for (let i = 0; i < n; i++) await op.matvec(v);
const wall = (performance.now() - t0) / n;
let p;
const prof = await tf.profile(async () => {
  p = op.matvec(v);
  await p;
});
const by = new Map();
for (const k of prof.kernels) {
  const ms = await k.kernelTimeMs;
  const r = by.get(k.name) ?? { ms: 0, calls: 0 };
  r.ms += typeof ms === 'number' ? ms : 0;
  r.calls++;
  by.set(k.name, r);
}
const rows = [...by.entries()].sort((a, b) => b[1].ms - a[1].ms);
const total = rows.reduce((s, r) => s + r[1].ms, 0);
console.log(`${model} b${batch} ${kind} on ${tf.getBackend()}: wall ${wall.toFixed(2)} ms; kernels ${total.toFixed(2)} ms; ${prof.kernels.length} kernel calls`);
for (const [name, r] of rows) console.log(`${name.padEnd(22)} ${r.ms.toFixed(2).padStart(8)} ms ${String(r.calls).padStart(5)} calls`);
e.dispose();
m.dispose();
