// Where a race report's time goes: the race's spec (bench/race/run.mjs) on one zoo model,
// every task run alone and timed, summed per scope and estimator. Never in CI.
//   node bench/race/profile.mjs [--model mlp] [--examples 256] [--target 0.02] [--exact-max N]
import { loadavg } from 'node:os';
const argv = process.argv.slice(2);
const opt = (k, d) => (argv.includes(`--${k}`) ? argv[argv.indexOf(`--${k}`) + 1] : d);
const name = opt('model', 'mlp');
const examples = Number(opt('examples', '256'));
const target = Number(opt('target', '0.02'));
const { normalizeSpec, prepare, plan, executeTask } = await import('@hessian/analysis');
const spec = normalizeSpec({
  model: `zoo:${name}`,
  data: `fashion-mnist:train[0:${examples}]`,
  full: true,
  topK: { k: 1, method: 'lanczos', tol: 1e-3, maxIter: 100 },
  trace: { probes: 1000, chunk: 10, targetRelStderr: target },
  density: { runs: 1, steps: 100, preset: 'pyhessian', gridPoints: 10000 },
  ...(argv.includes('--exact-max') ? { exactMax: Number(opt('exact-max', '1000')) } : {}),
});
const load0 = loadavg()[0];
let t = performance.now();
const p = await prepare(spec, 'native');
(await import('@hessian/native')).setThreads(1);
const prepS = (performance.now() - t) / 1000;
const planned = plan(spec, p.model.groups(spec.convention));
console.log(`${name}: prepare ${prepS.toFixed(2)} s, ${planned.tasks.length} tasks, load ${load0.toFixed(1)}`);
const rows = new Map();
let total = 0;
for (const task of planned.tasks) {
  // probe chunks of `auto` traces are skipped by the queue where the diagonal is exact (the zoo's ReLU nets)
  if (task.kind === 'auto' && task.index >= 0 && !argv.includes('--all')) continue;
  t = performance.now();
  const r = await executeTask(task, p.engine, spec.convention, p.memory);
  const s = (performance.now() - t) / 1000;
  total += s;
  const key = `${task.scope.padEnd(8)} ${task.kind}`;
  const row = rows.get(key) ?? { s: 0, hvps: 0, n: 0 };
  row.s += s; row.hvps += r.hvps; row.n++;
  rows.set(key, row);
}
// one product per scope (median of 5), to split each task's time into products and the rest
const { Rng } = await import('@hessian/linalg');
const { scopeOf } = await import('@hessian/analysis');
const productMs = new Map();
for (const s of planned.scopes) {
  const op = p.engine.operator('hessian', scopeOf(s.name, spec.convention));
  const v = new Rng(5).gaussian(op.dim);
  await op.matvec(v);
  const ts = [];
  for (let i = 0; i < 5; i++) {
    const t1 = performance.now();
    await op.matvec(v);
    ts.push(performance.now() - t1);
  }
  productMs.set(s.name, ts.sort((a, b) => a - b)[2]);
}
for (const [k, r] of rows) {
  const ms = productMs.get(k.split(' ')[0]);
  r.rest = r.s - (r.hvps * ms) / 1000;
}
for (const [k, r] of rows) console.log(`  ${k.padEnd(32)} ${r.n} tasks ${r.s.toFixed(3).padStart(8)} s ${String(r.hvps).padStart(6)} HVPs ${r.hvps ? ((1000 * r.s) / r.hvps).toFixed(1) + ' ms/HVP' : ''}; besides products ${r.rest.toFixed(3)} s (product ${productMs.get(k.split(' ')[0]).toFixed(1)} ms)`);
console.log(`tasks ${total.toFixed(2)} s (auto-trace probe chunks skipped, as the queue does where the diagonal is exact; --all runs them), load ${load0.toFixed(1)} -> ${loadavg()[0].toFixed(1)}`);
// Products side by side: tfjs double backprop vs R-op passes (engine/src/rop.ts), same model
// and batch, timed alternately (median of 7 after a warm-up), full network and last layer.
{
  const { HessianEngine } = await import('@hessian/engine');
  const batch = { ...p.data, shape: [p.data.shape[0], ...p.model.inputShape], numClasses: p.model.outputSize };
  const engines = Object.fromEntries(['autodiff', 'rop'].map((m) => [m, new HessianEngine(p.model, batch, { loss: spec.loss, product: m })]));
  const last = planned.scopes[planned.scopes.length - 1].name;
  const cmp = [];
  for (const scopeName of ['full', last]) {
    for (const kind of ['hessian', 'gauss-newton']) {
      const ops = Object.fromEntries(Object.entries(engines).map(([m, e]) => [m, e.operator(kind, scopeOf(scopeName, spec.convention))]));
      const v = new Rng(7).gaussian(ops.rop.dim);
      const times = { autodiff: [], rop: [] };
      for (const m of ['autodiff', 'rop']) await ops[m].matvec(v);
      for (let i = 0; i < 7; i++) {
        for (const m of ['autodiff', 'rop']) {
          const t1 = performance.now();
          await ops[m].matvec(v);
          times[m].push(performance.now() - t1);
        }
      }
      const med = (a) => a.sort((x, y) => x - y)[3];
      cmp.push({ scope: scopeName, kind, autodiff: med(times.autodiff), rop: med(times.rop) });
    }
  }
  for (const r of cmp) console.log(`  product ${r.scope.padEnd(8)} ${r.kind.padEnd(12)} autodiff ${r.autodiff.toFixed(1).padStart(7)} ms   rop ${r.rop.toFixed(1).padStart(7)} ms   (x${(r.autodiff / r.rop).toFixed(1)})`);
  console.log(`  rop cache ${(engines.rop.ropCacheBytes / 2 ** 20).toFixed(1)} MB; products ${p.engine.productMethod} in the tasks above; load now ${loadavg()[0].toFixed(1)}`);
  for (const e of Object.values(engines)) e.dispose();
}
p.engine.dispose();
p.model.dispose();
