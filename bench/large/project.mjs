// Projection of a full layerwise resnet18 analysis onto N workers from measured per-product
// costs (bench/large/hvp.mjs). Run after it:
//   node bench/large/project.mjs [--hvp=bench/results/large-hvp-n32.json] [--n=256]
// Method: plan() of the default analysis (top-3 Lanczos <= 100 steps, Hutchinson 100 probes in
// chunks of 10, SLQ 5 x 80 steps; every layer group + the full network); each task costs its
// expected products (`cost`) times the CPU seconds of one product of its scope, measured on the
// bench's examples and scaled linearly to --n examples (products are sums over micro-batches).
// Layer-block products: interpolated linearly in depth between the measured first (conv1) and
// last (fc) blocks, checked against a middle one. Makespan on N workers: tasks longest first onto
// the least-loaded worker (what a work queue achieves when tasks are many and short next to the
// total). Writes bench/results/large-projection.json.
import { readFileSync, writeFileSync } from 'node:fs';
import { initBackend, loadModel } from '@hessian/engine';
import { normalizeSpec, plan } from '@hessian/analysis';

const arg = (k, d) => process.argv.slice(2).find((a) => a.startsWith(`--${k}=`))?.split('=').slice(1).join('=') ?? d;
const hvp = JSON.parse(readFileSync(arg('hvp', 'bench/results/large-hvp-n32.json'), 'utf8'));
const n = Number(arg('n', '256'));
const scale = n / Number(/\[0:(\d+)\]/.exec(hvp.data)[1]);
const med = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
const tFull = med(hvp.full.cpuSeconds) * scale;
const tFirst = med(hvp.blocks.conv1.cpuSeconds) * scale;
const tLast = med(hvp.blocks.fc.cpuSeconds) * scale;

await initBackend('cpu', { needsConv: true });
const model = await loadModel('zoo:resnet18');
const groups = model.groups('layer');
const spec = normalizeSpec({ model: 'zoo:resnet18', data: `fashion-mnist:train[0:${n}]`, batchSize: hvp.batchSize });
const p = plan(spec, groups);
const depth = new Map(p.scopes.map((s) => [s.name, s.depth]));
const perProduct = (scope) => (scope === 'full' ? tFull : tFirst + (tLast - tFirst) * (depth.get(scope) ?? 0));
const durations = p.tasks.map((t) => t.cost * perProduct(t.scope)).sort((a, b) => b - a);
const total = durations.reduce((a, b) => a + b, 0);
const out = { method: 'see the header of bench/large/project.mjs', examples: n, tasks: p.tasks.length, scopes: p.scopes.length, hvps: p.tasks.reduce((a, t) => a + t.cost, 0), cpuSecondsPerProduct: { full: tFull, firstBlock: tFirst, lastBlock: tLast, middleBlockMeasured: hvp.blocks.layer4_1_conv2 ? med(hvp.blocks.layer4_1_conv2.cpuSeconds) * scale : null }, longestTaskS: durations[0], totalS: total, makespanS: {} };
for (const w of [1, 2, 4, 8, 16, 32, 64]) {
  const load = new Array(w).fill(0);
  for (const d of durations) {
    let i = 0;
    for (let j = 1; j < w; j++) if (load[j] < load[i]) i = j;
    load[i] += d;
  }
  out.makespanS[w] = Math.max(...load);
}
writeFileSync('bench/results/large-projection.json', JSON.stringify(out, null, 2) + '\n');
console.log(JSON.stringify(out));
model.dispose();
