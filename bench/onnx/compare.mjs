// ONNX (PyTorch export) through `hessctl analyze` vs PyTorch float64 (the fixtures' JSON).
// Run after `npx tsc -b`: node bench/onnx/compare.mjs [--server HOST:PORT] [names...]
// Prints one line per model and scope and writes bench/results/onnx-vs-torch.json.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixtures = path.join(root, 'packages/engine/test/fixtures/onnx');
const args = process.argv.slice(2);
const server = args.includes('--server') ? args[args.indexOf('--server') + 1] : null;
const names = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--server');
const out = { server, models: {} };
for (const name of names.length ? names : ['mobile', 'resnet', 'lenet']) {
  const ref = JSON.parse(readFileSync(path.join(fixtures, `${name}.json`), 'utf8'));
  const dir = mkdtempSync(path.join(tmpdir(), `onnx-${name}-`));
  const cli = ['packages/client/dist/src/cli.js', 'analyze', '--model', path.join(fixtures, `${name}.onnx`), '--data', ref.data,
    '--top-k', '1', '--eig-tol', '1e-6', '--trace-probes', '200', '--no-density', '--out', dir, ...(server ? ['--server', server] : [])];
  const t0 = Date.now();
  execFileSync('node', cli, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  const report = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8'));
  const rows = [];
  const tensorsOf = (scope) => new Set(scope.tensors);
  for (const scope of report.scopes) {
    const op = scope.operators.find((o) => o.kind === 'hessian' || o.operator === 'hessian') ?? scope.operators[0];
    let r;
    if (scope.kind === 'full') r = { name: 'full', top: ref.full.top, trace: ref.full.trace, traceSE: ref.full.traceSE ?? 0 };
    else {
      // our layer's tensors are named layer/role; the reference's by state_dict module: match by size and order
      const l = ref.layers.find((x) => x.size === scope.params && !rows.some((row) => row.ref === x.module));
      r = l && { name: l.module, top: l.top, trace: l.trace, traceSE: l.traceSE ?? 0 };
    }
    if (!r) continue;
    const top = op.top.values[0];
    const tr = op.trace;
    rows.push({ scope: scope.name, ref: r.name, params: scope.params, top, topRef: r.top, topRel: Math.abs(top - r.top) / Math.abs(r.top),
      trace: tr.mean, traceSE: tr.stderr, traceRef: r.trace, traceRefSE: r.traceSE, traceZ: (tr.mean - r.trace) / Math.hypot(tr.stderr, r.traceSE) });
    void tensorsOf;
  }
  out.models[name] = { loss: report.lossValue, lossRef: ref.loss, lossRel: Math.abs(report.lossValue - ref.loss) / ref.loss, seconds: (Date.now() - t0) / 1000, rows };
  console.log(`${name}: loss rel ${out.models[name].lossRel.toExponential(2)} (${out.models[name].seconds.toFixed(0)} s)`);
  for (const x of rows) console.log(`  ${x.scope.padEnd(36)} top ${x.top.toPrecision(7)} vs ${x.topRef.toPrecision(7)} rel ${x.topRel.toExponential(2)}   trace ${x.trace.toPrecision(5)}±${x.traceSE.toPrecision(2)} vs ${x.traceRef.toPrecision(5)}±${x.traceRefSE.toPrecision(2)} z ${x.traceZ.toFixed(2)}`);
}
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
writeFileSync(path.join(root, 'bench/results', `onnx-vs-torch${server ? '-cluster' : ''}.json`), JSON.stringify(out, null, 1));
