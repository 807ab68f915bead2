// Third-order check of the HTR gradient on a real conv net: lenet's regularizer value vs the
// engine's block operator, and its gradient on the native backend vs the cpu backend (same
// inputs, probes, weights). `node packages/training/bench/native-check.mjs`. Not run in CI.
import { HessianEngine, initBackend, loadDataset, loadModel, tf } from '@hessian/engine';
import { Rng } from '@hessian/linalg';
import { drawProbes, flattenGrads, makeInput, objective, selectBlocks } from '../dist/src/index.js';
const n = 16;
const data = await loadDataset(`fashion-mnist:train[0:${n}]`);
const out = {};
for (const be of ['native', 'cpu']) {
  await initBackend(be, { needsConv: true });
  const model = await loadModel('zoo:lenet');
  const input = makeInput(data, model.inputShape, model.outputSize, Int32Array.from({ length: n }, (_, i) => i));
  const blocks = selectBlocks(model, { select: 'all' }, 'layer');
  const probes = drawProbes(blocks, 1, 'rademacher', new Rng(2));
  const r = await objective(model, input, { blocks, probes, gamma: 1 });
  const g = await flattenGrads(model, r.grads); tf.dispose(r.grads);
  const eng = new HessianEngine(model, { x: data.x, shape: data.shape, labels: data.labels, numClasses: 10 });
  let ref = 0;
  for (const [bi, b] of blocks.entries()) { const hv = await eng.operator('hessian', { kind: 'group', group: b.name, convention: 'layer' }).matvec(probes[bi][0]); for (let i = 0; i < hv.length; i++) ref += hv[i] * probes[bi][0][i]; }
  out[be] = { reg: r.reg, engine: ref, g };
  console.log(be, 'reg', r.reg, 'engine', ref);
  eng.dispose(); model.dispose();
}
let num = 0, den = 0, mx = 0;
for (let i = 0; i < out.cpu.g.length; i++) { const d = out.cpu.g[i] - out.native.g[i]; num += d * d; den += out.cpu.g[i] ** 2; mx = Math.max(mx, Math.abs(d)); }
console.log('relative L2 difference of the gradient native vs cpu', Math.sqrt(num / den), 'max abs', mx);
