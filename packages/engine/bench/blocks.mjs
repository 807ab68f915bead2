// Per-block HVP timing (layer groups) on one zoo model, blocks from a cached front vs the
// whole network per product (not a test):
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
const data = { x, shape: [batch, ...m.inputShape], labels, numClasses: m.outputSize };
// Alternating: blocks from a cached front (default) and the whole network per product.
const engines = [['front', new HessianEngine(m, data)], ['whole', new HessianEngine(m, data, { blockForward: false })]];
const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
const scopes = [{ kind: 'full' }, ...m.groups('layer').map((g) => ({ kind: 'group', group: g.name, convention: 'layer' }))];
for (const scope of scopes) {
  const ops = engines.map(([, e]) => e.operator('hessian', scope));
  const v = rng.gaussian(ops[0].dim);
  for (const op of ops) await op.matvec(v);
  const ts = ops.map(() => []);
  for (let r = 0; r < 9; r++) {
    for (let k = 0; k < ops.length; k++) {
      const t0 = performance.now();
      await ops[k].matvec(v);
      ts[k].push(performance.now() - t0);
    }
  }
  const times = engines.map(([name], k) => `${name} ${median(ts[k]).toFixed(1)} ms`).join(', ');
  console.log(`${model} b${batch} ${backend} ${scope.kind === 'full' ? 'full' : scope.group} (dim ${ops[0].dim}): ${times}`);
}
for (const [, e] of engines) e.dispose();
m.dispose();
