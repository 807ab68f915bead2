// Engine HVP vs the same network written as raw tfjs ops (bench/native/models.mjs), timed
// alternately in one process so that machine load hits both alike (not a test):
//   node packages/engine/bench/vs-raw.mjs [backend] [reps]      (default: native 30)
import { initBackend, loadModel, HessianEngine, tf } from '@hessian/engine';
import { Rng } from '@hessian/linalg';
import { mlpSpec, lenetSpec, instantiate, hvp, dispose } from '../../../bench/native/models.mjs';

const backend = process.argv[2] ?? 'native';
const reps = Number(process.argv[3] ?? 30);
await initBackend(backend, { needsConv: true });
const q = (a, p) => [...a].sort((x, y) => x - y)[Math.floor(p * (a.length - 1))];

for (const [model, batch, spec] of [['mlp', 256, mlpSpec(256)], ['lenet', 128, lenetSpec(128)]]) {
  const m = await loadModel(`zoo:${model}`);
  const rng = new Rng(1);
  const per = m.inputShape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(batch * per);
  for (let i = 0; i < x.length; i++) x[i] = rng.uniform();
  const labels = Int32Array.from({ length: batch }, () => rng.int(10));
  const e = new HessianEngine(m, { x, shape: [batch, ...m.inputShape], labels, numClasses: 10 });
  const op = e.operator('hessian', { kind: 'full' });
  const v = rng.gaussian(op.dim);
  const t = instantiate(spec);
  const te = [];
  const tr = [];
  for (let r = -3; r < reps; r++) {
    let t0 = performance.now();
    await op.matvec(v);
    if (r >= 0) te.push(performance.now() - t0);
    t0 = performance.now();
    const out = hvp(spec, t);
    await Promise.all(out.map((o) => o.data()));
    tf.dispose(out);
    if (r >= 0) tr.push(performance.now() - t0);
  }
  const f = (a) => `p10 ${q(a, 0.1).toFixed(1)} / median ${q(a, 0.5).toFixed(1)} ms`;
  console.log(`${model} b${batch} on ${tf.getBackend()}: engine ${f(te)}; raw ops ${f(tr)}`);
  dispose(t);
  e.dispose();
  m.dispose();
}
