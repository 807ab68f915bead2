// Per-kernel time of the HVP (double backprop) on a backend: node bench/native/profile.mjs [native|cpu] [mlp|lenet]
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers tfjs's gradient configs
import { registerSecondOrderGradients } from '@hessian/native';
import { mlpSpec, lenetSpec, instantiate, hvp } from './models.mjs';

registerSecondOrderGradients();
const be = process.argv[2] ?? 'native';
const spec = (process.argv[3] ?? 'mlp') === 'mlp' ? mlpSpec() : lenetSpec();
await tf.setBackend(be);
const t = instantiate(spec);
for (let i = 0; i < 3; i++) tf.dispose(hvp(spec, t));
const t0 = performance.now();
const n = 5;
for (let i = 0; i < n; i++) tf.dispose(hvp(spec, t));
const wall = (performance.now() - t0) / n;
const prof = await tf.profile(() => { tf.dispose(hvp(spec, t)); });
const by = new Map();
for (const k of prof.kernels) {
  const ms = await k.kernelTimeMs;
  const e = by.get(k.name) ?? { ms: 0, calls: 0 };
  e.ms += typeof ms === 'number' ? ms : 0;
  e.calls++;
  by.set(k.name, e);
}
const rows = [...by.entries()].sort((a, b) => b[1].ms - a[1].ms);
const total = rows.reduce((s, r) => s + r[1].ms, 0);
console.log(`${spec.name} on ${be}: HVP wall ${wall.toFixed(2)} ms; sum of kernel times ${total.toFixed(2)} ms; ${prof.kernels.length} kernel calls`);
for (const [name, e] of rows) console.log(`${name.padEnd(22)} ${e.ms.toFixed(2).padStart(8)} ms ${String(e.calls).padStart(5)} calls`);
