#!/usr/bin/env node
// Backend benchmark of the engine: per zoo model and per tfjs backend, the median time of a
// forward pass (logits), a gradient (engine.gradient()) and a full-network HVP
// (engine.operator('hessian', {kind: 'full'}).matvec(v)), HVPs per second and peak RSS, next
// to a PyTorch reference (bench/reference/torch_hvp.py) that loads the same model.json
// weights, the same batch and the same v, times the same computations on the same number of
// threads and reports the relative difference between its HVP and ours.
//
//   node bench/backends/run.mjs [--quick] [--reps N] [--threads N] [--models mlp,lenet,resnet-mini]
//                               [--backends cpu,wasm,native] [--no-torch] [--keep] [--out FILE]
//
// Each (model, backend) runs in a child process of its own (tfjs keeps one backend per process,
// and peak RSS is then per pair). Writes bench/results/backends.json (or --out).
// Needs the built workspace (npx tsc -b) and the fashion-mnist data set.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const PY = '/usr/bin/python3'; // Debian's python3-torch installs for the system interpreter only
const REFERENCE = join(ROOT, 'bench', 'reference', 'torch_hvp.py');

const CASES = {
  mlp: { batch: 256, data: 'fashion-mnist:train[0:256]', conv: false },
  lenet: { batch: 128, data: 'fashion-mnist:train[0:128]', conv: true },
  'resnet-mini': { batch: 128, data: 'fashion-mnist:train[0:128]', conv: true },
};

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
};

function median(a) {
  const s = [...a].sort((x, y) => x - y);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** warm-up, then up to `reps` samples within `budgetMs` (at least `minReps`); median ms. */
async function timeIt(fn, { reps, budgetMs, minReps }) {
  const t0 = performance.now();
  await fn();
  const warm = performance.now() - t0;
  // A second warm-up for fast functions (JIT, allocator, OpenBLAS buffers).
  if (warm < 200) await fn();
  const samples = [];
  const start = performance.now();
  while (samples.length < reps && (samples.length < minReps || performance.now() - start + median([warm, ...samples]) < budgetMs)) {
    const s = performance.now();
    await fn();
    samples.push(performance.now() - s);
  }
  return { ms: median(samples), reps: samples.length, min: Math.min(...samples), warmupMs: warm };
}

// ------------------------------------------------------------------------------------------
// child: one (model, backend)
// ------------------------------------------------------------------------------------------
async function child() {
  const modelName = opt('model');
  const backend = opt('backend');
  const dir = opt('dir');
  const timing = { reps: Number(opt('reps')), budgetMs: Number(opt('budget-ms')), minReps: Number(opt('min-reps')) };
  const c = CASES[modelName];
  const { initBackend, loadModel, loadDataset, HessianEngine, tf } = await import('@hessian/engine');
  const { Rng } = await import('@hessian/linalg');
  const info = await initBackend(backend, { needsConv: c.conv });
  if (backend === 'native') {
    const native = await import('@hessian/native');
    native.setThreads(Number(process.env.HESSIAN_NATIVE_THREADS ?? '1'));
  }
  const model = await loadModel(`zoo:${modelName}`, { seed: 0 });
  const data = await loadDataset(c.data);
  const batch = { x: data.x, shape: data.shape, labels: data.labels, numClasses: data.numClasses };
  const engine = new HessianEngine(model, batch);
  const op = engine.operator('hessian', { kind: 'full' });
  const v = new Rng(1).rademacher(op.dim);
  const x = tf.tensor(data.x, data.shape);

  const row = { model: modelName, backend: tf.getBackend(), backendDetail: info.detail, batch: c.batch, params: model.paramCount, data: data.description };
  if (backend === 'native') {
    const native = await import('@hessian/native');
    row.threads = native.threads();
  } else {
    row.threads = 1; // cpu and wasm backends are single-threaded JS / wasm
  }

  // Export what the reference needs (once per model; the same for every backend).
  if (flag('export')) {
    await model.save(dir);
    writeFileSync(join(dir, 'x.bin'), Buffer.from(data.x.buffer, data.x.byteOffset, data.x.byteLength));
    writeFileSync(join(dir, 'labels.bin'), Buffer.from(data.labels.buffer, data.labels.byteOffset, data.labels.byteLength));
    writeFileSync(join(dir, 'v.bin'), Buffer.from(v.buffer, v.byteOffset, v.byteLength));
    const meta = {
      model: `zoo:${modelName}`,
      seed: 0,
      data: data.description,
      x: { file: 'x.bin', dtype: 'float32', shape: data.shape, layout: 'NHWC' },
      labels: { file: 'labels.bin', dtype: 'int32', shape: [data.labels.length] },
      numClasses: data.numClasses,
      v: { file: 'v.bin', dtype: 'float32', shape: [op.dim], source: 'new Rng(1).rademacher(dim)' },
      loss: 'mean softmax cross-entropy on logits',
      params: model.params.map((p) => ({ name: p.name, layer: p.layer, role: p.role, shape: p.shape, offset: p.offset, size: p.size })),
      notes: model.notes,
    };
    writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta, null, 2));
  }

  // Results first (also a check that everything runs), then the timings.
  const loss = await engine.loss();
  const grad = await engine.gradient();
  const hv = await op.matvec(v);
  writeFileSync(join(dir, `grad-${backend}.bin`), Buffer.from(grad.buffer, grad.byteOffset, grad.byteLength));
  writeFileSync(join(dir, `hvp-${backend}.bin`), Buffer.from(hv.buffer, hv.byteOffset, hv.byteLength));
  row.loss = loss;

  const fwd = await timeIt(() => {
    const y = tf.tidy(() => model.forward(model.paramTensors(), x));
    y.dataSync();
    y.dispose();
  }, timing);
  const gr = await timeIt(() => engine.gradient(), timing);
  const hvp = await timeIt(() => op.matvec(v), timing);
  row.forwardMs = fwd.ms;
  row.gradientMs = gr.ms;
  row.hvpMs = hvp.ms;
  row.hvpMinMs = hvp.min;
  row.hvpsPerSec = 1000 / hvp.ms;
  row.reps = { forward: fwd.reps, gradient: gr.reps, hvp: hvp.reps };
  row.peakRssMiB = process.resourceUsage().maxRSS / 1024;
  x.dispose();
  engine.dispose();
  model.dispose();
  process.stdout.write(`RESULT ${JSON.stringify(row)}\n`);
}

// ------------------------------------------------------------------------------------------
// parent
// ------------------------------------------------------------------------------------------
function torchAvailable() {
  if (!existsSync(PY)) return { ok: false, why: `${PY} not found` };
  const r = spawnSync(PY, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? { ok: true, version: r.stdout.trim() } : { ok: false, why: (r.stderr || '').trim().split('\n').pop() };
}

function ensureTorch() {
  let t = torchAvailable();
  if (t.ok) return t;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root) {
    console.error(`PyTorch reference skipped: '${PY} -c "import torch"' fails (${t.why}); install Debian's python3-torch (sudo apt-get install -y python3-torch) and rerun.`);
    return t;
  }
  console.error('PyTorch missing for /usr/bin/python3: apt-get install -y python3-torch ...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', 'python3-torch'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    r = spawnSync('apt-get', ['install', '-y', 'python3-torch'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  }
  t = torchAvailable();
  if (!t.ok) console.error(`PyTorch reference skipped: installing python3-torch did not work (${t.why}).`);
  return t;
}

function lastJsonLine(text, prefix) {
  const lines = text.split('\n').filter((l) => l.startsWith(prefix));
  return lines.length ? JSON.parse(lines[lines.length - 1].slice(prefix.length)) : null;
}

const fmt = (v, d = 1) => (v == null || Number.isNaN(v) ? 'n/a' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(d) : v.toFixed(d + 1));
const fmtE = (v) => (v == null ? 'n/a' : v.toExponential(1));

async function parent() {
  const quick = flag('quick');
  const reps = Number(opt('reps', quick ? '5' : '20'));
  const threads = Number(opt('threads', '1'));
  const budgetMs = Number(opt('budget-ms', quick ? '2000' : '8000'));
  const minReps = quick ? 1 : 3;
  const models = opt('models', Object.keys(CASES).join(',')).split(',');
  const backends = opt('backends', 'cpu,wasm,native').split(',');
  const withTorch = !flag('no-torch');
  const loadBefore = os.loadavg()[0];
  const tmp = mkdtempSync(join(os.tmpdir(), 'hessian-bench-backends-'));
  const torch = withTorch ? ensureTorch() : { ok: false, why: '--no-torch' };

  const rows = [];
  const reference = {};
  for (const m of models) {
    if (!CASES[m]) throw new Error(`unknown model ${m}; use ${Object.keys(CASES).join(', ')}`);
    const dir = join(tmp, m);
    mkdirSync(dir, { recursive: true });
    let exported = false;
    for (const b of backends) {
      if (b === 'wasm' && CASES[m].conv) {
        rows.push({ model: m, backend: b, skipped: 'wasm has no second-order convolution kernels' });
        continue;
      }
      const args = [fileURLToPath(import.meta.url), '--child', '--model', m, '--backend', b, '--dir', dir,
        '--reps', String(reps), '--budget-ms', String(budgetMs), '--min-reps', String(minReps)];
      if (!exported) args.push('--export');
      const env = { ...process.env, HESSIAN_NATIVE_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
      process.stderr.write(`${m} on ${b} ... `);
      const t0 = Date.now();
      const r = spawnSync(process.execPath, args, { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 64 << 20 });
      const res = lastJsonLine(r.stdout ?? '', 'RESULT ');
      if (r.status !== 0 || !res) {
        const err = (r.stdout ?? '').split('\n').find((l) => l.startsWith('ERROR '));
        const why = err ? err.slice(6) : ((r.stderr || '') + (r.stdout || '')).trim().split('\n').filter((l) => l.trim()).slice(-3).join(' | ');
        rows.push({ model: m, backend: b, skipped: why || `exit ${r.status}` });
        process.stderr.write(`failed: ${why}\n`);
        continue;
      }
      exported = true;
      rows.push(res);
      process.stderr.write(`${((Date.now() - t0) / 1000).toFixed(0)} s (HVP ${fmt(res.hvpMs)} ms)\n`);
    }
    if (torch.ok && exported) {
      process.stderr.write(`${m} on torch ... `);
      const t0 = Date.now();
      const env = { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) };
      const r = spawnSync(PY, [REFERENCE, '--dir', dir, '--threads', String(threads), '--reps', String(reps), '--budget-ms', String(budgetMs), '--min-reps', String(minReps)],
        { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 64 << 20 });
      const res = lastJsonLine(r.stdout ?? '', 'RESULT ');
      if (r.status !== 0 || !res) {
        const why = (r.stderr || '').trim().split('\n').slice(-3).join(' | ');
        reference[m] = { error: why || `exit ${r.status}` };
        process.stderr.write(`failed: ${why}\n`);
      } else {
        reference[m] = res;
        process.stderr.write(`${((Date.now() - t0) / 1000).toFixed(0)} s (HVP ${fmt(res.hvpMs)} ms)\n`);
      }
    } else if (!torch.ok) {
      reference[m] = { skipped: torch.why };
    }
  }

  // Join reference numbers onto the rows.
  for (const r of rows) {
    const ref = reference[r.model];
    if (r.skipped || !ref || ref.hvpMs == null) continue;
    r.hvpVsTorch = r.hvpMs / ref.hvpMs;
    r.hvpMinVsTorchMin = r.hvpMinMs / ref.hvpMinMs;
    r.hvpRelDiffVsTorch = ref.compare?.[r.backend]?.hvpRelDiff ?? null;
    r.gradRelDiffVsTorch = ref.compare?.[r.backend]?.gradRelDiff ?? null;
  }

  // Table.
  const head = ['model', 'backend', 'forward ms', 'gradient ms', 'HVP ms', 'HVPs/s', 'peak RSS MiB', 'HVP / torch', 'HVP rel diff vs torch'];
  const widths = [13, 9, 11, 12, 10, 9, 13, 12, 22];
  const line = (cells) => cells.map((c, i) => (i < 2 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('');
  const out = [line(head), '-'.repeat(widths.reduce((a, b) => a + b, 0))];
  for (const m of models) {
    for (const r of rows.filter((x) => x.model === m)) {
      if (r.skipped) {
        out.push(line([m, r.backend, '-', '-', '-', '-', '-', '-', '-']) + `  (${r.skipped.slice(0, 80)})`);
        continue;
      }
      out.push(line([m, r.backend, fmt(r.forwardMs), fmt(r.gradientMs), fmt(r.hvpMs), fmt(r.hvpsPerSec), fmt(r.peakRssMiB, 0), r.hvpVsTorch ? `${r.hvpVsTorch.toFixed(2)}x` : 'n/a', fmtE(r.hvpRelDiffVsTorch)]));
    }
    const ref = reference[m];
    if (ref && ref.hvpMs != null) {
      out.push(line([m, 'torch', fmt(ref.forwardMs), fmt(ref.gradientMs), fmt(ref.hvpMs), fmt(1000 / ref.hvpMs), fmt(ref.peakRssMiB, 0), '1.00x', '-']));
    } else {
      out.push(line([m, 'torch', '-', '-', '-', '-', '-', '-', '-']) + `  (${(ref?.skipped ?? ref?.error ?? 'not run').slice(0, 80)})`);
    }
  }
  console.log(`\n${out.join('\n')}`);
  const load = [loadBefore, os.loadavg()[0]];
  if (Math.max(...load) > 0.5 * os.cpus().length) {
    console.log(`\nwarning: 1-minute load average ${load.map((l) => l.toFixed(1)).join(' -> ')} on ${os.cpus().length} cores: other processes were running, timings are noisy (fastest-sample ratios are in the JSON as hvpMinVsTorchMin)`);
  }

  // Targets (one thread each side).
  const targets = [];
  const nat = (m) => rows.find((r) => r.model === m && r.backend === 'native' && !r.skipped);
  for (const [m, limit] of [['mlp', 2], ['lenet', 2.5]]) {
    const r = nat(m);
    if (r?.hvpVsTorch != null) targets.push({ target: `${m} native HVP <= ${limit}x torch`, value: r.hvpVsTorch, fastestSampleRatio: r.hvpMinVsTorchMin, met: r.hvpVsTorch <= limit });
  }
  for (const r of rows) {
    if (r.hvpRelDiffVsTorch != null) targets.push({ target: `${r.model} ${r.backend} HVP rel diff vs torch <= 1e-4`, value: r.hvpRelDiffVsTorch, met: r.hvpRelDiffVsTorch <= 1e-4 });
  }
  if (targets.length) {
    console.log('\ntargets:');
    for (const t of targets) {
      const extra = t.fastestSampleRatio != null ? ` (medians; fastest samples: ${t.fastestSampleRatio.toFixed(2)})` : '';
      console.log(`  ${t.met ? 'met    ' : 'MISSED '} ${t.target}: ${t.value < 0.01 ? t.value.toExponential(2) : t.value.toFixed(2)}${extra}`);
    }
  }

  const git = (a) => spawnSync('git', a, { cwd: ROOT, encoding: 'utf8' });
  const rev = git(['rev-parse', '--short', 'HEAD']);
  const dirty = git(['status', '--porcelain', '--', 'packages']);
  const result = {
    date: new Date().toISOString(),
    git: rev.status === 0 ? { commit: rev.stdout.trim(), packagesModified: dirty.stdout.trim().length > 0 } : null,
    command: `node ${relative(ROOT, fileURLToPath(import.meta.url))}${argv.length ? ' ' + argv.join(' ') : ''}`,
    machine: {
      cpu: os.cpus()[0]?.model,
      cores: os.cpus().length,
      memGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
      loadAverage1m: { start: Number(loadBefore.toFixed(2)), end: Number(os.loadavg()[0].toFixed(2)) },
      node: process.version,
      torch: torch.ok ? torch.version : null,
      python: PY,
    },
    threads,
    timing: { statistic: 'median', reps, budgetMsPerMeasurement: budgetMs, minReps, warmup: '1 call (2 when under 200 ms)' },
    notes: [
      'forward = logits of the batch; gradient = engine.gradient() (forward + backward, flat vector read back);',
      "HVP = engine.operator('hessian', {kind:'full'}).matvec(v), v = new Rng(1).rademacher(dim), forward and gradient recomputed each time;",
      'torch: the same model.json weights, batch and v in PyTorch (float32, functional ops, double backprop), torch.set_num_threads(threads);',
      'HVP rel diff = ||ours - torch||_2 / ||torch||_2 over the flat parameter vector (engine order, tfjs layouts).',
    ],
    results: rows,
    reference,
    targets,
  };
  const file = opt('out', join(ROOT, 'bench', 'results', 'backends.json'));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  console.log(`\nwrote ${relative(ROOT, file)}`);
  if (flag('keep')) console.log(`exported models, batches and HVPs kept in ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
}

if (flag('child')) {
  try {
    await child();
  } catch (e) {
    process.stdout.write(`ERROR ${String(e?.message ?? e).split('\n')[0]}\n`);
    process.exitCode = 1;
  }
}
else await parent();
