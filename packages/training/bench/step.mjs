// Time per training step: `node packages/training/bench/step.mjs [backend] [--model=lenet] [--batch=128] [--probes=10] [--layers=all] [--reps=5]`
// Plain step (CE backprop) vs regularized step (CE + gamma * HTR, third-order), on Fashion-MNIST examples. Not run in CI.
import { initBackend, loadDataset, loadModel } from '@hessian/engine';
import { Rng } from '@hessian/linalg';
import { drawProbes, flattenGrads, makeInput, objective, parseLayerSet, selectBlocks } from '../dist/src/index.js';
const arg = (k, d) => (process.argv.find((a) => a.startsWith(`--${k}=`)) ?? `=${d}`).split('=')[1];
const backend = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : 'native';
const info = await initBackend(backend, { needsConv: true });
const model = await loadModel(`zoo:${arg('model', 'lenet')}`);
const batch = Number(arg('batch', 128)), K = Number(arg('probes', 10)), reps = Number(arg('reps', 5));
const data = await loadDataset(`fashion-mnist:train[0:${batch}]`);
const input = makeInput(data, model.inputShape, model.outputSize, Int32Array.from({ length: batch }, (_, i) => i));
const blocks = selectBlocks(model, parseLayerSet(arg('layers', 'all')), 'layer');
const time = async (fn) => { await fn(); const ts = []; for (let i = 0; i < reps; i++) { const t = performance.now(); await fn(); ts.push(performance.now() - t); } ts.sort((a, b) => a - b); return ts[Math.floor(ts.length / 2)]; };
const step = (term) => async () => { const r = await objective(model, input, term); await flattenGrads(model, r.grads); r.grads.forEach((g) => g.dispose()); };
const plain = await time(step(undefined));
const probes = drawProbes(blocks, K, 'rademacher', new Rng(1));
const htr = await time(step({ blocks, probes, gamma: 1e-3 }));
console.log(JSON.stringify({ backend: info.name, detail: info.detail, model: model.name, batch, probes: K, blocks: blocks.map((b) => b.name), plainMs: +plain.toFixed(1), htrMs: +htr.toFixed(1), perQuadraticFormMs: +((htr - plain) / (K * blocks.length)).toFixed(1) }));
