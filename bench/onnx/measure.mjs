// ONNX (PyTorch export) vs PyTorch float64 numbers stored beside the fixtures: prints the
// relative errors of the loss, H v (sampled, state_dict order), the top eigenvalue of the full
// Hessian and (with 'layers') of every layer block, and the replayed Hutchinson probes.
// After `npx tsc -b`:  node bench/onnx/measure.mjs lenet|resnet|mobile [layers]
import { readFileSync } from 'node:fs';
import { Rng, topEigenvalues } from '../../packages/linalg/dist/src/index.js';
import { initBackend, loadDataset, loadModel, HessianEngine } from '../../packages/engine/dist/src/index.js';
function hashedProbe(k, n) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let x = (Math.imul(i, 0x9e3779b1) + Math.imul(k + 1, 0x85ebca77)) >>> 0;
    x = (x ^ (x >>> 15)) >>> 0; x = Math.imul(x, 0x2c1b3c6d) >>> 0; x = (x ^ (x >>> 12)) >>> 0;
    out[i] = x & 1 ? 1 : -1;
  }
  return out;
}
const F = new URL('../../packages/engine/test/fixtures/onnx', import.meta.url).pathname;
await initBackend('auto');
const name = process.argv[2];
const ref = JSON.parse(readFileSync(`${F}/${name}.json`, 'utf8'));
const model = await loadModel(`${F}/${name}.onnx`);
const engine = new HessianEngine(model, await loadDataset(ref.data));
const at = new Map(); let o = 0; for (const p of ref.params) { at.set(p.name, o); o += p.size; }
const from = (v) => model.vectorFromOrigin((n, s) => Float32Array.from({ length: s }, (_, i) => v[at.get(n) + i]));
const to = (f) => { const parts = model.vectorToOrigin(f); const out = new Float64Array(ref.dim); for (const p of ref.params) out.set(parts.get(p.name), at.get(p.name)); return out; };
const rel = (a, b) => Math.abs(a - b) / Math.abs(b);
const op = engine.operator('hessian', { kind: 'full' });
console.log(name, 'loss rel', rel(await engine.loss(), ref.loss).toExponential(2));
const v = Float64Array.from({ length: ref.dim }, (_, i) => Math.sin(0.37 * i + 0.1));
const hv = to(await op.matvec(from(v)));
let num = 0, den = 0; ref.hvp.indices.forEach((i, k) => { num += (hv[i] - ref.hvp.values[k]) ** 2; den += ref.hvp.values[k] ** 2; });
console.log(name, 'Hv sampled rel', Math.sqrt(num / den).toExponential(2), 'norm rel', rel(Math.hypot(...hv), ref.hvp.norm).toExponential(2));
const r = await topEigenvalues(op, { k: 1, rng: new Rng(1), tol: 1e-6, maxSteps: 80 });
console.log(name, 'top full', r.eigenvalues[0], 'vs', ref.full.top, 'rel', rel(r.eigenvalues[0], ref.full.top).toExponential(2));
for (const [k, p] of (ref.full.firstProbes ?? []).entries()) { const z = from(hashedProbe(k, ref.dim)); const hz = await op.matvec(z); console.log(name, 'probe', k, 'rel', rel(hz.reduce((a, b, i) => a + b * z[i], 0), p).toExponential(2)); }
if (process.argv[3] === 'layers') for (const l of ref.layers) {
  const g = model.groups('layer').find((x) => x.tensors.map((t) => t.origin?.name).sort().join() === [...l.params].sort().join());
  const rr = await topEigenvalues(engine.operator('hessian', { kind: 'group', group: g.name, convention: 'layer' }), { k: 1, rng: new Rng(2), tol: 1e-7, maxSteps: Math.min(80, g.size) });
  console.log(name, 'layer', g.name, 'top rel', rel(rr.eigenvalues[0], l.top).toExponential(2), `(${l.top.toExponential(3)})`);
}
