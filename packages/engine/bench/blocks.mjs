// Per-block HVP timing (layer groups) on one zoo model (not a test):
//   node packages/engine/bench/blocks.mjs [backend] [model] [batch]
import { initBackend, loadModel, HessianEngine } from '@hessian/engine';
import { Rng } from '@hessian/linalg';

const [backend = 'native', model = 'lenet', batchArg = '128'] = process.argv.slice(2);
const batch = Number(batchArg);
await initBackend(backend, { needsConv: true });
const m = await loadModel(`zoo:${model}`);
const rng = new Rng(1);
const per = m.inputShape.reduce((a, b) => a * b, 1);
const x = new Float32Array(batch * per);
for (let i = 0; i < x.length; i++) x[i] = rng.uniform();
const labels = Int32Array.from({ length: batch }, () => rng.int(m.outputSize));
const e = new HessianEngine(m, { x, shape: [batch, ...m.inputShape], labels, numClasses: m.outputSize });
const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
const scopes = [{ kind: 'full' }, ...m.groups('layer').map((g) => ({ kind: 'group', group: g.name, convention: 'layer' }))];
for (const scope of scopes) {
  const op = e.operator('hessian', scope);
  const v = rng.gaussian(op.dim);
  await op.matvec(v);
  const ts = [];
  for (let r = 0; r < 9; r++) {
    const t0 = performance.now();
    await op.matvec(v);
    ts.push(performance.now() - t0);
  }
  console.log(`${model} b${batch} ${backend} ${scope.kind === 'full' ? 'full' : scope.group} (dim ${op.dim}): ${median(ts).toFixed(1)} ms`);
}
e.dispose();
m.dispose();
