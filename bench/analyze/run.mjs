// Acceptance benchmark of `hessctl analyze` (not a test; run on demand after the build):
//   node bench/analyze/run.mjs [--quick]
// 1. HVP time per backend (cpu, wasm, native; each in its own child process) on zoo:mlp (batch 256)
//    and zoo:lenet (batch 128), full-network Hessian operator.
// 2. The acceptance command, timed, and an independent check of its numbers: top eigenvalue of
//    every scope against power iteration, trace against an exact reference (Tr H_ll = Tr G_ll
//    for ReLU + cross-entropy, computed from per-example Jacobians), for zoo:mlp and for a
//    784-256-128-10 MLP saved as model.json by tfjs-layers; same seed twice and --workers 1 vs 3
//    give identical numbers.
// Prints tables and writes bench/results/analyze.json (analyze-quick.json with --quick).
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, table } from '../lib/table.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const CHILDREN = path.join(HERE, 'children.mjs');
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');

// ---------------------------------------------------------------------------------------------
// configuration
const CFG = QUICK
  ? {
      hvpWarmup: 1,
      hvpReps: 3,
      data: 'fashion-mnist:train[0:64]',
      analyzeFlags: ['--top-k', '3', '--trace-probes', '40', '--density-runs', '2'],
      detFlags: ['--top-k', '2', '--trace-probes', '20', '--density-runs', '1', '--density-steps', '30'],
      powerTol: 1e-6,
      powerMaxIter: 500,
      tinyN: 16,
    }
  : {
      hvpWarmup: 2,
      hvpReps: 9,
      data: 'fashion-mnist:train[0:256]',
      analyzeFlags: ['--top-k', '3', '--trace-probes', '200', '--density-runs', '5'],
      detFlags: ['--top-k', '3', '--trace-probes', '60', '--density-runs', '2'],
      powerTol: 1e-7,
      powerMaxIter: 2000,
      tinyN: 32,
    };
const TOL_EIG = 0.01; // relative
const TOL_SE = 3; // standard errors
const BACKENDS = ['cpu', 'wasm', 'native'];

// ---------------------------------------------------------------------------------------------
// helpers
function shellQuote(a) {
  return /^[A-Za-z0-9_./:=,-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** Runs a command; resolves {code, stdout, stderr, ms}. */
function run(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const p = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...(opts.env ?? {}) } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => {
      err += d;
      if (opts.echoErr) process.stderr.write(d);
    });
    p.on('close', (code) => resolve({ code, stdout: out, stderr: err, ms: performance.now() - t0 }));
  });
}

/** Runs a task of this script in a child process; the child prints one JSON line last. */
async function child(task, payload) {
  const r = await run(process.execPath, [CHILDREN, '--child', task, JSON.stringify(payload)], { echoErr: true });
  const last = r.stdout.trim().split('\n').pop();
  if (r.code !== 0) throw new Error(`child ${task} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(last);
}

const HESSCTL = path.join(ROOT, 'hessctl');
async function hessctl(args) {
  const r = await run(HESSCTL, args);
  if (r.code !== 0) throw new Error(`hessctl ${args.join(' ')} failed (exit ${r.code}):\n${r.stderr}`);
  return { report: JSON.parse(r.stdout), seconds: r.ms / 1000, command: ['./hessctl', ...args].map(shellQuote).join(' ') };
}

/** The report's numbers, without timings. */
function numbers(report, fields = null) {
  return report.scopes.map((s) => ({
    name: s.name,
    operators: s.operators.map((o) => {
      const out = { operator: o.operator };
      for (const k of fields ?? Object.keys(o)) if (k !== 'seconds' && o[k] !== undefined) out[k] = o[k];
      return out;
    }),
  }));
}
function firstDiff(a, b, where = '') {
  if (typeof a !== typeof b) return `${where}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
  if (Array.isArray(a) || (a && typeof a === 'object')) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b ?? {})]);
    for (const k of keys) {
      const d = firstDiff(a[k], b?.[k], `${where}.${k}`);
      if (d) return d;
    }
    return null;
  }
  if (Object.is(a, b)) return null;
  return `${where}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
}

// ---------------------------------------------------------------------------------------------
// main

/** Compares a report with the verifier's references; returns rows and whether all checks pass. */
function checkReport(label, report, ver) {
  const rows = [];
  let ok = true;
  for (const s of report.scopes) {
    const h = s.operators.find((o) => o.operator === 'hessian');
    const v = ver.scopes.find((x) => x.name === s.name);
    const l1 = h.top.values[0];
    const ref = v.power.value;
    const rel = Math.abs(l1 - ref) / Math.abs(ref);
    const dev = Math.abs(h.trace.mean - v.exactTrace) / h.trace.stderr;
    const eigOk = rel <= TOL_EIG;
    const trOk = dev <= TOL_SE;
    ok &&= eigOk && trOk;
    rows.push({ model: label, scope: s.name, params: s.params, lambda1: l1, lambda1Residual: h.top.residuals[0], lanczosConverged: h.top.converged, refLambda1: ref, refResidual: v.power.residual, refConverged: v.power.converged, refIterations: v.power.iterations, relDiff: rel, eigOk, trace: h.trace.mean, traceSE: h.trace.stderr, traceProbes: h.trace.probes, exactTrace: v.exactTrace, devSE: dev, traceOk: trOk });
  }
  return { rows, ok };
}

async function main() {
  const started = new Date();
  const results = {
    bench: 'analyze',
    quick: QUICK,
    date: started.toISOString(),
    machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, os: `${os.type()} ${os.release()} ${os.arch()}`, memGiB: +(os.totalmem() / 2 ** 30).toFixed(1), loadAvgAtStart: os.loadavg() },
    config: CFG,
    commands: {},
    checks: {},
  };
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'hess-bench-analyze-'));
  const allOk = [];

  // 1. HVP per backend
  console.log(`# hessctl analyze acceptance benchmark${QUICK ? ' (--quick)' : ''}, ${results.date}`);
  console.log(`machine: ${results.machine.cpu}, ${results.machine.cores} cores, node ${results.machine.node}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const hvp = [];
  for (const b of BACKENDS) {
    console.error(`[hvp] backend ${b} ...`);
    hvp.push(...(await child('hvp', { backend: b, warmup: CFG.hvpWarmup, reps: CFG.hvpReps })));
  }
  results.hvp = hvp;
  results.commands.hvp = BACKENDS.map((b) => `node bench/analyze/run.mjs --child hvp '${JSON.stringify({ backend: b, warmup: CFG.hvpWarmup, reps: CFG.hvpReps })}'`);
  table(
    `HVP of the full-network Hessian (median of ${CFG.hvpReps} after ${CFG.hvpWarmup} warm-up)`,
    ['backend', 'model', 'batch', 'params', 'ms/HVP', 'HVP/s', 'min ms', 'max ms'],
    hvp.map((r) => (r.skipped ? [r.backend, r.model, r.batch, '-', `skipped: ${r.skipped.slice(0, 60)}`, '-', '-', '-'] : [r.backend, r.model, r.batch, r.params, r.medianMs, r.hvpPerSec, r.minMs, r.maxMs])),
  );

  // 2a. residual blocks vanish on tiny-mlp
  console.error('[tiny] explicit Hessian of zoo:tiny-mlp ...');
  const tiny = await child('tiny', { n: CFG.tinyN });
  const tinyOk = tiny.rows.filter((r) => r.scope !== 'full').every((r) => r.relR < 1e-5) && tiny.rows.every((r) => r.relExact < 1e-4) && Math.abs(tiny.sumLayerTrH - tiny.fullTrH) <= 1e-5 * Math.abs(tiny.fullTrH);
  results.checks.tinyMlpResidualBlocks = { ...tiny, ok: tinyOk };
  allOk.push(['tiny-mlp: H_ll = G_ll, exact-trace code = explicit trace', tinyOk]);
  table(
    `zoo:tiny-mlp (${tiny.n} random examples, ${tiny.backend}): explicit blocks from unit vectors, R = H - G`,
    ['scope', 'dim', 'Tr H', 'Tr G', 'max|H|', 'max|R|', 'max|R|/max|H|', 'Tr from Jacobians', 'rel diff'],
    tiny.rows.map((r) => [r.scope, r.dim, r.trH, r.trG, r.maxAbsH, r.maxAbsR, r.relR, r.exactFromJacobians, r.relExact]),
  );
  console.log(`sum of layer Tr(H_ll) = ${fmt(tiny.sumLayerTrH, 8)}, Tr(H) = ${fmt(tiny.fullTrH, 8)}; full R is not zero off the diagonal blocks (as expected); H asymmetry ${fmt(tiny.fullAsymmetry)} -> ${tinyOk ? 'PASS' : 'FAIL'}`);

  // 2b. acceptance command, zoo:mlp, and the model.json MLP
  const baseArgs = ['--data', CFG.data, ...CFG.analyzeFlags, '--format', 'json', '-q'];
  const saved = await child('save-tfjs', { dir: path.join(tmp, 'tfjs-mlp') });
  const models = [
    { label: 'zoo:mlp', spec: 'zoo:mlp' },
    { label: 'tfjs model.json', spec: saved.path },
  ];
  results.savedModel = saved;
  const eigRows = [];
  const explicitRows = [];
  const walls = [];
  const acceptance = {};
  for (const m of models) {
    console.error(`[analyze] ${m.label} ...`);
    const r = await hessctl(['analyze', '--model', m.spec, ...baseArgs]);
    writeFileSync(path.join(tmp, `${m.label.replace(/\W+/g, '_')}.json`), JSON.stringify(r.report));
    walls.push({ what: `analyze ${m.label}`, command: r.command, seconds: r.seconds, hvps: r.report.totals.hvps, computeSeconds: r.report.totals.seconds, backend: r.report.backend });
    results.commands[`analyze ${m.label}`] = r.command;
    console.error(`[verify] ${m.label} (backend ${r.report.backend}) ...`);
    const t0 = performance.now();
    const layers = r.report.scopes.filter((s) => s.kind === 'layer').sort((a, b) => a.params - b.params);
    const explicitScope = layers.length && layers[0].params <= 4096 ? layers[0].name : null;
    const ver = await child('verify', { model: m.spec, data: CFG.data, backend: r.report.backend, scopes: r.report.scopes.map((s) => s.name), powerTol: CFG.powerTol, powerMaxIter: CFG.powerMaxIter, explicitScope });
    walls.push({ what: `verify ${m.label}`, command: '(child verify)', seconds: (performance.now() - t0) / 1000, hvps: ver.scopes.reduce((a, s) => a + s.power.iterations + 1, 0) + (ver.explicit?.dim ?? 0), backend: ver.backend });
    const lossRel = Math.abs(ver.exactLoss - r.report.lossValue) / r.report.lossValue;
    const c = checkReport(m.label, r.report, ver);
    let ok = c.ok && lossRel < 1e-4;
    if (ver.explicit) {
      const x = ver.explicit;
      const tr = r.report.scopes.find((s) => s.name === x.scope).operators.find((o) => o.operator === 'hessian').trace;
      x.reportedSE = tr.stderr;
      x.trueSE = x.rademacherSampleStd / Math.sqrt(tr.probes);
      x.seRatio = tr.stderr / x.trueSE;
      x.ok = x.relDiff < 1e-4 && x.seRatio > 0.7 && x.seRatio < 1.3;
      explicitRows.push([m.label, x.scope, x.dim, x.trace, x.exactTrace, x.relDiff, x.asymmetry, x.reportedSE, x.trueSE, x.seRatio, x.ok ? 'yes' : 'NO']);
      allOk.push([`${m.label}: explicit ${x.scope} block: trace = exact, reported SE consistent with the true one`, x.ok]);
    }
    acceptance[m.label] = { command: r.command, wallSeconds: r.seconds, report: { backend: r.report.backend, lossValue: r.report.lossValue, totals: r.report.totals, notes: ver.notes }, verifier: { backend: ver.backend, loss: ver.loss, lossFromJacobianPass: ver.exactLoss, exactSeconds: ver.exactSeconds, power: ver.scopes }, lossRelDiff: lossRel, rows: c.rows, ok };
    allOk.push([`${m.label}: lambda1 within ${TOL_EIG * 100}% and trace within ${TOL_SE} SE of exact`, ok]);
    eigRows.push(...c.rows);
    acceptance[m.label].report.scopes = r.report.scopes.map((s) => ({ name: s.name, params: s.params, operators: s.operators.map((o) => ({ operator: o.operator, top: o.top, trace: o.trace, similarity: o.similarity, density: o.density ? { runs: o.density.runs, steps: o.density.steps, sigma: o.density.sigma, hvps: o.density.hvps } : undefined, hvps: o.hvps, seconds: o.seconds })) }));
    if (m.label === 'zoo:mlp') acceptance[m.label].fullReport = r.report;
    console.log(`\n${m.label}: loss ${fmt(r.report.lossValue, 6)} (report) vs ${fmt(ver.exactLoss, 6)} (verifier) rel ${fmt(lossRel)}; backend ${r.report.backend}; notes: ${ver.notes.join('; ') || '-'}`);
  }
  results.checks.acceptance = acceptance;
  table(
    'top eigenvalue (Lanczos, report) vs power iteration, trace (Hutchinson, report) vs exact',
    ['model', 'scope', 'params', 'λ1', 'ref λ1 (power)', 'rel diff', 'power it', 'trace ± SE', 'exact trace', '|dev|/SE', 'ok'],
    eigRows.map((r) => [r.model, r.scope, r.params, r.lambda1, r.refLambda1, r.relDiff, `${r.refIterations}${r.refConverged ? '' : '!'}`, `${fmt(r.trace, 5)} ± ${fmt(r.traceSE, 3)}`, r.exactTrace, r.devSE, r.eigOk && r.traceOk ? 'yes' : 'NO']),
  );

  if (explicitRows.length) {
    table(
      'smallest layer block formed explicitly (unit vectors): trace, and the Hutchinson SE the report gives vs the true SE sqrt(2(||H||_F^2 - sum H_ii^2) / probes)',
      ['model', 'scope', 'dim', 'Tr (explicit)', 'exact (Jacobians)', 'rel diff', 'asym', 'reported SE', 'true SE', 'ratio', 'ok'],
      explicitRows,
    );
  }

  // 2c. determinism: same seed twice; --workers 1 vs 3
  console.error('[determinism] same seed twice ...');
  const again = await hessctl(['analyze', '--model', 'zoo:mlp', ...baseArgs]);
  walls.push({ what: 'analyze zoo:mlp (again, same seed)', command: again.command, seconds: again.seconds, hvps: again.report.totals.hvps, computeSeconds: again.report.totals.seconds, backend: again.report.backend });
  const first = acceptance['zoo:mlp'].fullReport;
  const dSeed = firstDiff(numbers(first), numbers(again.report));
  const seedOk = dSeed === null && first.lossValue === again.report.lossValue;
  allOk.push(['same seed twice: identical scopes (timings excluded)', seedOk]);
  delete acceptance['zoo:mlp'].fullReport;

  const detArgs = ['analyze', '--model', 'zoo:mlp', '--data', CFG.data, ...CFG.detFlags, '--format', 'json', '-q'];
  const wres = {};
  for (const w of [1, 3]) {
    console.error(`[determinism] --workers ${w} ...`);
    const r = await hessctl([...detArgs, '--workers', String(w)]);
    wres[w] = r;
    walls.push({ what: `analyze zoo:mlp --workers ${w} (smaller)`, command: r.command, seconds: r.seconds, hvps: r.report.totals.hvps, computeSeconds: r.report.totals.seconds, backend: r.report.backend });
  }
  const fields = ['top', 'trace', 'density', 'similarity'];
  const dW = firstDiff(numbers(wres[1].report, fields), numbers(wres[3].report, fields));
  const workersOk = dW === null;
  allOk.push(['--workers 1 vs 3: identical top/trace/density/similarity', workersOk]);
  results.checks.determinism = {
    sameSeed: { command: again.command, identical: seedOk, firstDifference: dSeed },
    workers: { commands: [wres[1].command, wres[3].command], identical: workersOk, firstDifference: dW, workersReported: [wres[1].report.totals.workers, wres[3].report.totals.workers] },
  };
  console.log(`\nsame seed twice: ${seedOk ? 'identical' : `DIFFERENT (${dSeed})`}`);
  console.log(`--workers 1 vs 3: ${workersOk ? 'identical' : `DIFFERENT (${dW})`} (workers reported ${wres[1].report.totals.workers}, ${wres[3].report.totals.workers})`);

  results.walls = walls;
  table('wall times', ['what', 'backend', 'wall s', 'HVPs', 'compute s (report)'], walls.map((w) => [w.what, w.backend, w.seconds, w.hvps, w.computeSeconds ?? '-']));
  console.log('\ncommands:');
  for (const w of walls.filter((w) => w.command.startsWith('./'))) console.log(`  ${w.command}`);

  results.summary = allOk.map(([what, ok]) => ({ check: what, ok }));
  results.allPassed = allOk.every(([, ok]) => ok);
  table('checks', ['check', 'result'], allOk.map(([w, ok]) => [w, ok ? 'PASS' : 'FAIL']));
  results.finished = new Date().toISOString();
  results.machine.loadAvgAtEnd = os.loadavg();
  const outFile = path.join(ROOT, 'bench', 'results', QUICK ? 'analyze-quick.json' : 'analyze.json');
  writeFileSync(outFile, JSON.stringify(results, null, 2) + '\n');
  console.log(`\nwrote ${path.relative(ROOT, outFile)}; all checks ${results.allPassed ? 'PASSED' : 'did NOT pass'}`);
  rmSync(tmp, { recursive: true, force: true });
  if (!results.allPassed) process.exitCode = 1;
}

await main();
