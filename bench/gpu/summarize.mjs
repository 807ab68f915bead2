// Joins the webgpu and PyTorch CUDA results of bench/gpu/run.sh into one table and JSON.
// No dependencies: it runs with the carried Node binary.
//   node summarize.mjs RESULTS_DIR
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
const result = (file) => {
  if (!existsSync(file)) return null;
  const line = readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith('RESULT '));
  return line ? JSON.parse(line.slice(7)) : null;
};
const rows = [];
for (const c of readdirSync(dir).filter((d) => existsSync(join(dir, d, 'ours.log'))).sort()) {
  const ours = result(join(dir, c, 'ours.log'));
  const torch = result(join(dir, c, 'torch.log'));
  const [model, batch] = c.split('__');
  const cmp = torch?.compare?.webgpu ?? {};
  const exact = result(join(dir, c, 'torch-notf32.log'));
  const cmpNoTf32 = exact?.compare?.webgpu ?? {};
  rows.push({
    model,
    batch: Number(batch),
    params: ours?.params ?? null,
    webgpuHvpMs: ours?.hvpMs ?? null,
    webgpuHvpMinMs: ours?.hvpMinMs ?? null,
    webgpuFirstHvpMs: ours?.firstHvpMs ?? null,
    webgpuReps: ours?.reps ?? null,
    torchCudaHvpMs: torch?.hvpMs ?? null,
    torchCudaHvpMinMs: torch?.hvpMinMs ?? null,
    ratio: ours && torch ? +(ours.hvpMs / torch.hvpMs).toFixed(2) : null,
    hvpRelDiff: cmp.hvpRelDiff ?? null,
    gradRelDiff: cmp.gradRelDiff ?? null,
    hvpRelDiffVsFloat64: cmp.hvpRelDiffVsFloat64 ?? null,
    torchFloat32VsFloat64: torch?.float64?.torchFloat32VsFloat64 ?? null,
    hvpRelDiffNoTf32: cmpNoTf32.hvpRelDiff ?? null,
    torchNoTf32HvpMs: exact?.hvpMs ?? null,
    profile: ours?.profile ?? null,
    tfjsFlags: ours?.tfjsFlags ?? '',
    withinTarget3x: ours && torch ? ours.hvpMs <= 3 * torch.hvpMs : null,
    equalTo1e4: (cmpNoTf32.hvpRelDiff ?? cmp.hvpRelDiff) != null ? (cmpNoTf32.hvpRelDiff ?? cmp.hvpRelDiff) <= 1e-4 : null,
    error: !ours ? 'webgpu run failed (see ours.log)' : !torch ? 'torch run failed (see torch.log)' : undefined,
  });
}
const first = rows.length ? result(join(dir, `${rows[0].model}__${rows[0].batch}`, 'ours.log')) : null;
const torchAny = rows.map((r) => result(join(dir, `${r.model}__${r.batch}`, 'torch.log'))).find(Boolean);
const gpuTxt = existsSync(join(dir, 'gpu.txt')) ? readFileSync(join(dir, 'gpu.txt'), 'utf8').trim() : '';
const out = {
  schema: 'hessian-cluster/bench-gpu/v1',
  date: new Date().toISOString(),
  gpu: gpuTxt,
  webgpuAdapter: first?.device ?? null,
  webgpuBackendDetail: first?.backendDetail ?? null,
  node: first?.node ?? process.version,
  torch: torchAny?.torch ?? null,
  torchDevice: torchAny?.device ?? null,
  method:
    'HVP of the mean cross-entropy over the whole batch by double backprop, full network, v Rademacher (Rng(1)), zoo model seed 0, Fashion-MNIST train[0:batch]. webgpu: median over reps of one engine matvec (upload v, forward, two backward passes, read H v back). torch: median of autograd.grad twice + torch.cuda.synchronize(), same weights, batch and v.',
  rows,
};
writeFileSync(join(dir, 'gpu.json'), JSON.stringify(out, null, 2));
const pad = (s, n) => String(s ?? '-').padStart(n);
console.log(`GPU: ${gpuTxt}\nwebgpu adapter: ${out.webgpuBackendDetail}\ntorch ${out.torch} on ${out.torchDevice}\n`);
console.log(['model', 'batch', 'webgpu ms', 'torch ms', 'ratio', 'rel diff', 'no-TF32', '<=3x'].map((h, i) => pad(h, i === 0 ? 12 : 10)).join(' '));
for (const r of rows) {
  console.log([pad(r.model, 12), pad(r.batch, 10), pad(r.webgpuHvpMs, 10), pad(r.torchCudaHvpMs, 10), pad(r.ratio, 10), pad(r.hvpRelDiff?.toExponential(1), 10), pad(r.hvpRelDiffNoTf32?.toExponential(1), 10), pad(r.withinTarget3x, 10)].join(' ') + (r.error ? `  ${r.error}` : ''));
}
