// HVP timing on the zoo models (not a test; run on demand after `npx tsc -b packages/engine`):
//   node packages/engine/bench/hvp.mjs [backend ...] [--model=NAME ...]   (default: cpu wasm native)
// mlp with a batch of 256, lenet and resnet-mini with a batch of 128 (lenet skipped on wasm: it has
// no UnsortedSegmentSum / Conv2DBackpropFilter kernels for second-order convolutions).
// Results (before/after the fast pooling path) are in ../README.md, 'Measured'.
import { initBackend, loadModel, HessianEngine } from '@hessian/engine';
import { Rng } from '@hessian/linalg';

const cases = [
  { model: 'mlp', batch: 256, conv: false },
  { model: 'lenet', batch: 128, conv: true },
  { model: 'resnet-mini', batch: 128, conv: true },
];
const args = process.argv.slice(2);
const only = args.filter((a) => a.startsWith('--model=')).map((a) => a.slice(8));
const backends = args.filter((a) => !a.startsWith('--')).length ? args.filter((a) => !a.startsWith('--')) : ['cpu', 'wasm', 'native'];

function median(a) {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

for (const backend of backends) {
  for (const c of cases) {
    if (backend === 'wasm' && c.conv) continue;
    if (only.length && !only.includes(c.model)) continue;
    let info;
    try {
      info = await initBackend(backend, { needsConv: c.conv });
    } catch (e) {
      console.log(JSON.stringify({ backend, model: c.model, skipped: e.message }));
      continue;
    }
    const m = await loadModel(`zoo:${c.model}`);
    const rng = new Rng(1);
    const per = m.inputShape.reduce((a, b) => a * b, 1);
    const x = new Float32Array(c.batch * per);
    for (let i = 0; i < x.length; i++) x[i] = rng.uniform();
    const labels = Int32Array.from({ length: c.batch }, () => rng.int(10));
    const e = new HessianEngine(m, { x, shape: [c.batch, ...m.inputShape], labels, numClasses: 10 });
    const row = { backend: info.name, model: c.model, batch: c.batch, params: m.paramCount };
    for (const kind of ['hessian', 'gauss-newton']) {
      const op = e.operator(kind, { kind: 'full' });
      const v = rng.gaussian(op.dim);
      await op.matvec(v); // warm-up
      const times = [];
      const reps = 5;
      for (let r = 0; r < reps; r++) {
        const t0 = performance.now();
        await op.matvec(v);
        times.push(performance.now() - t0);
      }
      row[`${kind}_ms`] = Math.round(median(times));
    }
    console.log(JSON.stringify(row));
    e.dispose();
    m.dispose();
  }
}
