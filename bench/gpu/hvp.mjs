// One (model, batch) case of the GPU benchmark, on the webgpu backend. Bundled by pack.sh
// into one file that runs with the carried Node binary (no node_modules but the Dawn binding).
//
//   node hvp.mjs --model lenet --batch 1024 --data DATA_DIR --dir CASE_DIR [--reps 20] [--budget-ms 8000]
//
// DATA_DIR holds x.bin (float32 NHWC, Fashion-MNIST scaled as the engine's loader does) and
// labels.bin (int32) for at least `batch` examples. CASE_DIR receives what the PyTorch
// reference (bench/reference/torch_hvp.py --device cuda) reads: model.json + weights.bin (zoo
// model, seed 0), x.bin, labels.bin, v.bin (Rademacher, Rng(1)), meta.json, and our
// hvp-webgpu.bin / grad-webgpu.bin. Prints one line 'RESULT {json}'.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, loadModel, HessianEngine, webgpuDeviceInfo } from '@hessian/engine';
import { Rng } from '@hessian/linalg';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < args.length) return args[i + 1];
  if (dflt === undefined) throw new Error(`--${name} is required`);
  return dflt;
};
const modelName = opt('model');
const batch = Number(opt('batch'));
const dataDir = opt('data');
const dir = opt('dir');
const reps = Number(opt('reps', '20'));
const budgetMs = Number(opt('budget-ms', '8000'));
const backend = opt('backend', 'webgpu');
mkdirSync(dir, { recursive: true });

const info = await initBackend(backend, { needsConv: true });
const model = await loadModel(`zoo:${modelName}`, { seed: 0 });
const per = model.inputShape.reduce((a, b) => a * b, 1);
const xAll = new Float32Array(readFileSync(join(dataDir, 'x.bin')).buffer.slice(0));
const lAll = new Int32Array(readFileSync(join(dataDir, 'labels.bin')).buffer.slice(0));
if (lAll.length < batch || xAll.length < batch * per) throw new Error(`${dataDir} holds ${lAll.length} examples; the batch needs ${batch}`);
const data = { x: xAll.slice(0, batch * per), shape: [batch, ...model.inputShape], labels: lAll.slice(0, batch), numClasses: 10 };
const engine = new HessianEngine(model, data);
const op = engine.operator('hessian', { kind: 'full' });
const v = new Rng(1).rademacher(op.dim);

// what the reference needs (the same layout as bench/backends exports)
await model.save(dir);
const bin = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
writeFileSync(join(dir, 'x.bin'), bin(data.x));
writeFileSync(join(dir, 'labels.bin'), bin(data.labels));
writeFileSync(join(dir, 'v.bin'), bin(v));
writeFileSync(
  join(dir, 'meta.json'),
  JSON.stringify({
    model: `zoo:${modelName}`,
    seed: 0,
    x: { file: 'x.bin', dtype: 'float32', shape: data.shape, layout: 'NHWC' },
    labels: { file: 'labels.bin', dtype: 'int32', shape: [batch] },
    numClasses: 10,
    v: { file: 'v.bin', dtype: 'float32', shape: [op.dim], source: 'new Rng(1).rademacher(dim)' },
    loss: 'mean softmax cross-entropy on logits',
    params: model.params.map((p) => ({ name: p.name, layer: p.layer, role: p.role, shape: p.shape, offset: p.offset, size: p.size })),
    notes: model.notes,
  }),
);

// results first (a check that everything runs), then the timings
const t0 = performance.now();
const hv = await op.matvec(v);
const firstMs = performance.now() - t0;
const grad = await engine.gradient();
writeFileSync(join(dir, `hvp-${backend}.bin`), bin(hv));
writeFileSync(join(dir, `grad-${backend}.bin`), bin(grad));

// A product's time: upload of v, forward, double backward, and the read-back of H v (the
// read waits for the GPU, so the time is the whole product, as torch.cuda.synchronize gives).
const samples = [];
const start = performance.now();
await op.matvec(v); // second warm-up: pipelines compiled, buffers pooled
while (samples.length < reps && (samples.length < 3 || performance.now() - start < budgetMs)) {
  const s = performance.now();
  await op.matvec(v);
  samples.push(performance.now() - s);
}
samples.sort((a, b) => a - b);

// --profile: kernels of one product, by GPU time where the adapter has timestamp queries
let profile;
if (args.includes('--profile')) {
  const { tf } = await import('@hessian/engine');
  const p = await tf.profile(async () => {
    await op.matvec(v);
    return tf.scalar(0);
  });
  const by = new Map();
  for (const k of p.kernels) {
    const e = by.get(k.name) ?? { name: k.name, count: 0, ms: 0 };
    e.count++;
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    by.set(k.name, e);
  }
  const top = [...by.values()].sort((a, b) => b.ms - a.ms || b.count - a.count);
  profile = { kernels: p.kernels.length, kernelMsTotal: +top.reduce((a, e) => a + e.ms, 0).toFixed(2), top: top.slice(0, 12).map((e) => ({ ...e, ms: +e.ms.toFixed(2) })) };
}
const row = {
  model: modelName,
  batch,
  params: model.paramCount,
  backend: info.name,
  backendDetail: info.detail,
  device: webgpuDeviceInfo(),
  firstHvpMs: +firstMs.toFixed(1),
  hvpMs: +samples[Math.floor(samples.length / 2)].toFixed(2),
  hvpMinMs: +samples[0].toFixed(2),
  reps: samples.length,
  tfjsFlags: process.env.HESSIAN_TFJS_FLAGS ?? '',
  profile,
  node: process.version,
};
console.log(`RESULT ${JSON.stringify(row)}`);
engine.dispose();
process.exit(0);
