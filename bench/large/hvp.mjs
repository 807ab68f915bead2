// resnet18 (full width, 11.17 M parameters) on fashion-mnist:train[0:256], micro-batch 16:
// load time, gradient, full-network HVP, a few layer-block HVPs, and peak resident memory.
// Run on demand (minutes per product on 2 shared cores):
//   nice -n 19 node bench/large/hvp.mjs [--backend=native] [--batch-size=16] [--n=256] [--reps=2] [--model=zoo:resnet18]
// Writes bench/results/large-hvp.json (one JSON object) and prints it.
import { writeFileSync, mkdirSync } from 'node:fs';
import { initBackend, loadModel, loadDataset, HessianEngine } from '@hessian/engine';
import { Rng } from '@hessian/linalg';

const arg = (k, d) => process.argv.slice(2).find((a) => a.startsWith(`--${k}=`))?.split('=').slice(1).join('=') ?? d;
const backend = arg('backend', 'native');
const batchSize = Number(arg('batch-size', '16'));
const n = Number(arg('n', '256'));
const reps = Number(arg('reps', '2'));
const modelId = arg('model', 'zoo:resnet18');
const blocks = arg('blocks', 'conv1,layer2_0_conv1,layer4_1_conv2,fc').split(',').filter(Boolean);
const out = arg('out', 'bench/results/large-hvp.json');

const rssMB = () => Math.round(process.memoryUsage().rss / 2 ** 20);
const peakMB = () => Math.round(process.resourceUsage().maxRSS / 1024);
const t = () => performance.now();
const row = { model: modelId, data: `fashion-mnist:train[0:${n}]`, batchSize, host: `${process.arch}, ${(await import('node:os')).cpus().length} cpus` };

let t0 = t();
row.backend = (await initBackend(backend, { needsConv: true })).name;
const model = await loadModel(modelId, { seed: 0 });
row.params = model.paramCount;
row.loadModelS = +((t() - t0) / 1000).toFixed(2);
const data = await loadDataset(`fashion-mnist:train[0:${n}]`);
const engine = new HessianEngine(model, data, { batchSize });
row.rssAfterLoadMB = rssMB();

t0 = t();
const c0 = process.cpuUsage();
await engine.gradient();
row.gradientS = +((t() - t0) / 1000).toFixed(2);
const dc = process.cpuUsage(c0);
row.gradientCpuS = +((dc.user + dc.system) / 1e6).toFixed(2);

const rng = new Rng(1);
async function time(scope, label) {
  const op = engine.operator('hessian', scope);
  const v = rng.gaussian(op.dim);
  const times = [];
  const cpu = [];
  for (let r = 0; r < reps; r++) {
    const s = t();
    const c = process.cpuUsage();
    await op.matvec(v);
    times.push(+((t() - s) / 1000).toFixed(2));
    const d = process.cpuUsage(c);
    cpu.push(+((d.user + d.system) / 1e6).toFixed(2));
    process.stderr.write(`${label}: ${times.at(-1)} s wall, ${cpu.at(-1)} s cpu (rss ${rssMB()} MB, peak ${peakMB()} MB)\n`);
  }
  return { dim: op.dim, seconds: times, cpuSeconds: cpu };
}
row.full = await time({ kind: 'full' }, 'full');
row.blocks = {};
for (const b of blocks) row.blocks[b] = await time({ kind: 'group', group: b, convention: 'layer' }, b);
row.peakRssMB = peakMB();
row.date = new Date().toISOString();
row.loadavg = (await import('node:os')).loadavg().map((x) => +x.toFixed(1));
engine.dispose();
model.dispose();
mkdirSync('bench/results', { recursive: true });
writeFileSync(out, JSON.stringify(row, null, 2) + '\n');
console.log(JSON.stringify(row));
