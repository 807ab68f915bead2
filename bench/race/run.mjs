// The race (never in CI): our full layerwise report against a PyHessian-equivalent loop in
// PyTorch (pyhessian_loop.py), same model files, same images, one thread each side.
//   node bench/race/run.mjs [--models mlp,lenet,resnet-mini] [--target 0.02] [--examples 256]
//                           [--backend native] [--out bench/results/race.json] [--no-torch]
//                           [--no-huge-pages] [--torch-huge-pages]
// See bench/race/README.md for what is measured and how errors against exact values are taken.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const PY = '/usr/bin/python3';
const argv = process.argv.slice(2);
const opt = (k, d) => {
  const i = argv.indexOf(`--${k}`);
  return i >= 0 ? argv[i + 1] : d;
};
const flag = (k) => argv.includes(`--${k}`);
const models = opt('models', 'mlp,lenet').split(',');
const target = Number(opt('target', '0.02'));
const examples = Number(opt('examples', '256'));
const backend = opt('backend', 'native');
const out = opt('out', join(ROOT, 'bench', 'results', 'race.json'));

// Each side as it runs out of the box: ours with the allocator setting the hessctl wrapper sets
// (glibc's malloc on transparent huge pages; bench/race/README.md), so this process restarts
// itself with it; the PyTorch loop with the environment the race was started in (PyHessian's
// users set nothing). --torch-huge-pages gives the PyTorch loop the same setting;
// --no-huge-pages runs ours without it. The JSON records both environments.
if (process.env.HESSIAN_RACE_CHILD !== '1') {
  // The rule `hessctl cluster up` applies to its services (add the tunable unless it is named).
  const { withHugePageMalloc: withHuge } = await import('../../packages/client/dist/src/commands/cluster-process.js');
  const t = process.env.GLIBC_TUNABLES;
  const env = { ...process.env, HESSIAN_RACE_CHILD: '1', HESSIAN_RACE_TORCH_TUNABLES: flag('torch-huge-pages') ? withHuge(t) : (t ?? '') };
  if (!flag('no-huge-pages')) env.GLIBC_TUNABLES = withHuge(t);
  process.exit(spawnSync(process.execPath, process.argv.slice(1), { stdio: 'inherit', env }).status ?? 1);
}
const torchEnv = { ...process.env };
delete torchEnv.HESSIAN_RACE_CHILD;
delete torchEnv.HESSIAN_RACE_TORCH_TUNABLES;
if (process.env.HESSIAN_RACE_TORCH_TUNABLES) torchEnv.GLIBC_TUNABLES = process.env.HESSIAN_RACE_TORCH_TUNABLES;
else delete torchEnv.GLIBC_TUNABLES;

const { initBackend, loadModel, loadDataset, HessianEngine } = await import('@hessian/engine');
const { topEigenvalues, symmetricEigenvalues, symmetrize, Rng } = await import('@hessian/linalg');
const { normalizeSpec, runAnalysis } = await import('@hessian/analysis');
await initBackend(backend, { needsConv: true });
if (backend === 'native') (await import('@hessian/native')).setThreads(1);

const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
const rel = (a, b) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);

/** Exact references: trace from the exact diagonal; top-1 from the exact block (small) or a tight Lanczos. */
async function references(engine, scopes) {
  const refs = {};
  for (const s of scopes) {
    const scope = s === 'full' ? { kind: 'full' } : { kind: 'group', group: s, convention: 'layer' };
    const v = engine.curvatureVerdict(scope);
    const r = { traceExact: v.exact };
    if (v.exact) r.trace = (await engine.hessianDiagonal(scope)).reduce((a, b) => a + b, 0);
    const dim = engine.scopeDim(scope);
    if (scope.kind === 'group' && v.exact && dim <= 3000) {
      const b = await engine.denseBlock('hessian', scope);
      symmetrize(b, dim);
      const e = symmetricEigenvalues(b, dim);
      r.top1 = e[dim - 1];
      r.top1Source = 'exact block';
    } else {
      const t = await topEigenvalues(engine.operator('hessian', scope), { k: 1, tol: 1e-7, maxSteps: 300, rng: new Rng(99) });
      r.top1 = t.eigenvalues[0];
      r.top1Source = `Lanczos, relative residual ${t.residuals[0] / Math.abs(t.eigenvalues[0])}`;
    }
    refs[s] = r;
  }
  return refs;
}

async function hvpMs(engine, scope) {
  const op = engine.operator('hessian', scope);
  const v = new Rng(3).gaussian(op.dim);
  await op.matvec(v);
  const ts = [];
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    await op.matvec(v);
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

const git = (a) => spawnSync('git', a, { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
const rows = [];
/** Written after every model, so a long race keeps what it finished. */
function save() {
  const result = {
    bench: 'race', date: new Date().toISOString(), commit: git(['rev-parse', 'HEAD']),
    command: `node ${relative(ROOT, fileURLToPath(import.meta.url))}${argv.length ? ' ' + argv.join(' ') : ''}`,
    machine: { cpu: cpus()[0]?.model, cores: cpus().length }, backend, threads: 1, glibcTunables: { ours: process.env.GLIBC_TUNABLES ?? null, torch: torchEnv.GLIBC_TUNABLES ?? null }, rows,
  };
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
}
for (const name of models) {
  const dir = mkdtempSync(join(tmpdir(), `race-${name}-`));
  const model = await loadModel(`zoo:${name}`, { seed: 0 });
  const data = await loadDataset(`fashion-mnist:train[0:${examples}]`);
  await model.save(dir);
  writeFileSync(join(dir, 'x.bin'), Buffer.from(data.x.buffer, data.x.byteOffset, data.x.byteLength));
  writeFileSync(join(dir, 'labels.bin'), Buffer.from(data.labels.buffer, data.labels.byteOffset, data.labels.byteLength));
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({
    x: { file: 'x.bin', dtype: 'float32', shape: data.shape, layout: 'NHWC' },
    params: model.params.map((p) => ({ name: p.name, layer: p.layer, role: p.role, shape: p.shape, offset: p.offset, size: p.size })),
  }));
  const spec = normalizeSpec({
    model: join(dir, 'model.json'),
    data: `fashion-mnist:train[0:${examples}]`,
    full: true,
    topK: { k: 1, method: 'lanczos', tol: 1e-3, maxIter: 100 },
    trace: { probes: 1000, chunk: 10, targetRelStderr: target },
    density: { runs: 1, steps: 100, preset: 'pyhessian', gridPoints: 10000 },
  });
  const load0 = loadavg()[0];
  const t0 = performance.now();
  const report = await runAnalysis(spec, { backend });
  const oursSeconds = (performance.now() - t0) / 1000;
  const batch = { x: data.x, shape: data.shape, labels: data.labels, numClasses: data.numClasses };
  const engine = new HessianEngine(model, batch);
  const scopes = report.scopes.map((s) => s.name);
  const refs = await references(engine, scopes);
  const groups = model.groups('layer');
  const lastBlockHvpMs = await hvpMs(engine, { kind: 'group', group: groups[groups.length - 1].name, convention: 'layer' });
  const fullHvpMs = await hvpMs(engine, { kind: 'full' });
  engine.dispose();
  const ours = report.scopes.map((s) => {
    const o = s.operators[0];
    return {
      name: s.name, params: s.params, seconds: o.seconds, hvps: o.hvps,
      top1: o.top?.values[0], topMethod: o.top?.method, trace: o.trace?.mean, traceStderr: o.trace?.stderr, traceMethod: o.trace?.method,
      densityMethod: o.density ? (o.density.method ?? 'slq') : undefined,
    };
  });
  let torch = null;
  if (!flag('no-torch')) {
    const r = spawnSync(PY, [join(HERE, 'pyhessian_loop.py'), '--dir', dir, '--threads', '1', '--target', String(target)], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'inherit'], env: torchEnv });
    const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('RESULT '));
    torch = line ? JSON.parse(line.slice(7)) : { error: `pyhessian_loop.py exited ${r.status}` };
  }
  rmSync(dir, { recursive: true, force: true });
  const table = ours.map((o) => {
    const t = torch?.scopes?.find((x) => x.name === o.name);
    const ref = refs[o.name];
    return {
      scope: o.name, params: o.params,
      oursSeconds: o.seconds, torchSeconds: t?.seconds.total, oursHvps: o.hvps, torchHvps: t?.hvps,
      oursTopErr: rel(o.top1, ref.top1), torchTopErr: t ? rel(t.top1, ref.top1) : null,
      oursTraceErr: ref.trace !== undefined ? rel(o.trace, ref.trace) : null, torchTraceErr: t && ref.trace !== undefined ? rel(t.trace, ref.trace) : null,
      oursMethods: `${o.topMethod}/${o.traceMethod}/${o.densityMethod}`,
    };
  });
  const row = {
    model: name, examples, params: model.paramCount, target, loadBefore: load0, loadAfter: loadavg()[0],
    ours: { seconds: oursSeconds, reportSeconds: report.totals.seconds, hvps: report.totals.hvps, scopes: ours, lastBlockHvpMs, fullHvpMs },
    torch, references: refs, table,
    ratio: torch?.seconds ? oursSeconds / torch.seconds : null,
  };
  rows.push(row);
  save();
  model.dispose();
  console.log(`\n${name} (${model.paramCount} params, ${examples} images, target rel. stderr ${target}): ours ${oursSeconds.toFixed(1)} s, torch ${torch?.seconds?.toFixed(1) ?? '-'} s, ratio ${row.ratio?.toFixed(3) ?? '-'}`);
  console.log(`  HVP ms, ours: last block ${lastBlockHvpMs.toFixed(2)}, full ${fullHvpMs.toFixed(1)}; torch: last block ${torch?.lastBlockHvpMs?.toFixed(2) ?? '-'}, full ${torch?.fullHvpMs?.toFixed(1) ?? '-'}`);
  console.log('  scope          params   ours s  torch s  ours HVPs torch HVPs  top1 err ours/torch   trace err ours/torch   our methods');
  for (const t of table) {
    const f = (x, d = 2) => (x === null || x === undefined ? '-' : x.toFixed(d));
    const e = (x) => (x === null || x === undefined ? '-' : x.toExponential(1));
    console.log(`  ${t.scope.padEnd(12)} ${String(t.params).padStart(8)} ${f(t.oursSeconds).padStart(8)} ${f(t.torchSeconds).padStart(8)} ${String(t.oursHvps).padStart(10)} ${String(t.torchHvps ?? '-').padStart(10)}  ${e(t.oursTopErr)}/${e(t.torchTopErr)}   ${e(t.oursTraceErr)}/${e(t.torchTraceErr)}   ${t.oursMethods}`);
  }
}

console.log(`\nwrote ${relative(ROOT, out)}`);
