// Cluster benchmark (not a test; run on demand after the build):
//   node bench/cluster/run.mjs [--quick]
// Starts its own nats-server (JetStream, temp store, monitoring port) and coordinator, then for
// N = 1, 2, 4 worker processes (HESSIAN_BACKEND=native when the addon loads, else auto;
// HESSIAN_NATIVE_THREADS=1), each worker behind a counting TCP proxy (the worker advertises the
// proxy via HESSIAN_ADVERTISE_ADDRESS), measures:
//   1. scaling: a fixed analysis (zoo:lenet, all layers + full, trace and density), wall time
//      from submit to the `succeeded` event, against the embedded run (runAnalysis) of the same spec;
//   2. coordinator overhead per task: a job of trivially small tasks (zoo:tiny-mlp, 1 probe per
//      task): (wall - sum(worker task seconds) / N) / tasks; and, for every job, the gap between the
//      task time the coordinator sees (its hessian_task_seconds_total) and the worker's own;
//   3. bytes on the wire per task: gRPC bytes through the proxies (each way) and NATS bytes
//      (nats-server /varz in_bytes, out_bytes; heartbeats included) per job, divided by tasks;
//   4. data-parallel throughput: HVPs/s of a `scope: dataset` job over fashion-mnist:train[0:1024]
//      sharded over the N workers, against the embedded run on the same 1024 examples.
// Prints tables and writes bench/results/cluster.json (with --quick: $TMPDIR/hessian-cluster-quick.json).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, table } from '../lib/table.mjs';
import { cpuSeconds, freePort, httpGet, log, machineCpu, metric, procs, startProxy, startService } from './processes.mjs';
import { DP_SPEC, OVERHEAD_SPEC, SCALING_SPEC, WARM_SPEC, WORKER_COUNTS } from './specs.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const SELF = fileURLToPath(import.meta.url);
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const COORDINATOR_MAIN = path.join(ROOT, 'services/coordinator/dist/src/main.js');
const WORKER_MAIN = path.join(ROOT, 'services/worker/dist/src/main.js');

// ---------------------------------------------------------------------------------------------
// helpers
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function run(cmd, args, env = {}) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const p = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => resolve({ code, stdout: out, stderr: err, ms: performance.now() - t0 }));
  });
}
async function child(task, payload, env) {
  const m0 = machineCpu();
  const b0 = process.cpuUsage();
  const r = await run(process.execPath, [SELF, '--child', task, JSON.stringify(payload)], env);
  if (r.code !== 0) throw new Error(`child ${task} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  const m1 = machineCpu();
  const b1 = process.cpuUsage(b0);
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  // CPU used on the machine by processes other than this benchmark and its child, while the child ran
  const foreign = out.cpuSeconds === undefined ? null : m1.busy - m0.busy - out.cpuSeconds - (b1.user + b1.system) / 1e6;
  return { ...out, processSeconds: r.ms / 1000, foreignCpuSeconds: foreign, machineCpuSeconds: m1.total - m0.total };
}

/** The report's numbers, without timings. */
function numbers(report) {
  return report.scopes.map((s) => ({ name: s.name, operators: s.operators.map((o) => ({ operator: o.operator, top: o.top, trace: o.trace, density: o.density, similarity: o.similarity })) }));
}
/** Sum of the operators' seconds in a report: task compute time (for dataset scope: the coordinator's executeTask, wire included). */
function computeSeconds(report) {
  return report.scopes.reduce((a, s) => a + s.operators.reduce((b, o) => b + (o.seconds ?? 0), 0), 0);
}
/** Largest difference relative to the largest magnitude of its array (or number). */
function worstRel(a, b) {
  if (typeof a === 'number' && typeof b === 'number') return a === b ? 0 : Math.abs(a - b) / Math.max(1e-30, Math.abs(a), Math.abs(b));
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return Infinity;
    if (a.every((x) => typeof x === 'number')) {
      const scale = Math.max(1e-30, ...a.map(Math.abs), ...b.map(Math.abs));
      return Math.max(0, ...a.map((x, i) => Math.abs(x - b[i]) / scale));
    }
    return Math.max(0, ...a.map((x, i) => worstRel(x, b[i])));
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return Math.max(0, ...[...keys].map((k) => worstRel(a[k], b[k])));
  }
  return a === b ? 0 : Infinity;
}

// ---------------------------------------------------------------------------------------------
// child tasks

async function childProbe() {
  const { initBackend } = await import('@hessian/engine');
  try {
    const info = await initBackend('native', { needsConv: true });
    return { native: true, detail: info.detail };
  } catch (e) {
    return { native: false, reason: e.message };
  }
}

/** The embedded run of a spec (same code as `hessctl analyze`), timed from before prepare. */
async function childEmbedded({ spec, backend }) {
  const { runAnalysis, normalizeSpec } = await import('@hessian/analysis');
  const w0 = performance.now();
  await runAnalysis(normalizeSpec(WARM_SPEC), { backend, workers: 1 });
  const warmSeconds = (performance.now() - w0) / 1000;
  const t0 = performance.now();
  const report = await runAnalysis(normalizeSpec(spec), { backend, workers: 1 });
  return { seconds: (performance.now() - t0) / 1000, warmSeconds, report };
}

// ---------------------------------------------------------------------------------------------
// main

async function main() {
  const { CoordinatorConnection } = await import('@hessian/client');
  const { normalizeSpec } = await import('@hessian/analysis');
  const { startNatsServer } = await import('@hessian/wire');
  const started = new Date();
  const results = {
    bench: 'cluster',
    quick: QUICK,
    date: started.toISOString(),
    machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, os: `${os.type()} ${os.release()} ${os.arch()}`, memGiB: +(os.totalmem() / 2 ** 30).toFixed(1), loadAvgAtStart: os.loadavg() },
    specs: { warmUp: WARM_SPEC, scaling: SCALING_SPEC, overhead: OVERHEAD_SPEC, dataParallel: { ...DP_SPEC, scope: 'dataset' } },
    workerCounts: WORKER_COUNTS,
  };
  console.log(`# cluster benchmark${QUICK ? ' (--quick)' : ''}, ${results.date}`);
  console.log(`machine: ${results.machine.cpu}, ${results.machine.cores} cores, node ${results.machine.node}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  const probe = await child('probe', {});
  const backend = probe.native ? 'native' : 'auto';
  const computeEnv = { HESSIAN_NATIVE_THREADS: '1', HESSIAN_BACKEND: backend };
  results.backend = { requested: backend, probe, env: computeEnv };
  log(`backend ${backend}${probe.native ? '' : ` (native unavailable: ${probe.reason})`}`);

  // embedded baselines first (nothing else running)
  log('embedded: scaling spec ...');
  const embScaling = await child('embedded', { spec: SCALING_SPEC, backend }, computeEnv);
  log(`embedded scaling: ${embScaling.seconds.toFixed(1)} s, ${embScaling.report.totals.hvps} HVPs, ${embScaling.report.totals.tasks} tasks`);
  log('embedded: data-parallel spec ...');
  const embDp = await child('embedded', { spec: DP_SPEC, backend }, computeEnv);
  log(`embedded dp: ${embDp.seconds.toFixed(1)} s, ${embDp.report.totals.hvps} HVPs`);
  log('embedded: overhead spec ...');
  const embOv = await child('embedded', { spec: OVERHEAD_SPEC, backend: 'auto' }, {});

  // cluster
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'hess-bench-cluster-'));
  // nats-server picks both ports itself (wire's startNatsServer reads them from its ports file)
  const natsServer = await startNatsServer({ storeDir: path.join(tmp, 'js'), extraArgs: ['-m', '-1'] });
  const nats = natsServer.process;
  procs.add(nats);
  const natsMon = natsServer.monitorPort;
  const natsUrl = natsServer.url;
  const varz = async () => JSON.parse(await httpGet(natsMon, '/varz'));
  const coordinator = await startService('coordinator', COORDINATOR_MAIN, { HESSIAN_NATS_URL: natsUrl, HESSIAN_GRPC_PORT: '0', HESSIAN_METRICS_PORT: '0', HESSIAN_HEARTBEAT_TIMEOUT_S: '4' });
  const conn = await CoordinatorConnection.connect(`127.0.0.1:${coordinator.grpcPort}`);
  const cacheDir = path.join(tmp, 'wcache');

  async function waitWorkers(n, timeoutMs = 30000) {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const ws = await conn.listWorkers();
      if (ws.length === n) return ws;
      if (Date.now() > until) throw new Error(`expected ${n} workers, the coordinator lists ${ws.length}`);
      await sleep(100);
    }
  }

  /** Submits a spec, waits for its terminal event; returns timings, counters and the report. */
  async function measureJob(label, spec, scope, ctx) {
    const grpcBefore = { toWorker: ctx.counters.toWorker, fromWorker: ctx.counters.fromWorker };
    const v0 = await varz();
    const cTask0 = await metric(coordinator.metricsPort, 'hessian_task_seconds_total');
    const cCount0 = await metric(coordinator.metricsPort, 'hessian_tasks_total');
    const cpu0 = { coordinator: cpuSeconds(coordinator.proc.pid), nats: cpuSeconds(nats.pid), workers: ctx.workers.map((w) => cpuSeconds(w.proc.pid)), bench: process.cpuUsage(), machine: machineCpu() };
    const t0 = performance.now();
    const job = await conn.submitAnalysis(normalizeSpec(spec), { scope });
    let end = null;
    let firstTaskDone = null;
    let workerTaskSeconds = 0;
    let taskDone = 0;
    const perWorker = {};
    for await (const ev of conn.watchJob(job.id)) {
      if (ev.type === 'task-done') {
        if (firstTaskDone === null) firstTaskDone = performance.now();
        taskDone++;
        const m = / in ([0-9.]+) s$/.exec(ev.message);
        if (m) workerTaskSeconds += Number(m[1]);
        perWorker[ev.worker] = (perWorker[ev.worker] ?? 0) + 1;
      }
      if (ev.type === 'succeeded' || ev.type === 'failed' || ev.type === 'cancelled') {
        end = ev;
        break;
      }
    }
    const wall = (performance.now() - t0) / 1000;
    const m1 = machineCpu();
    const bench1 = process.cpuUsage(cpu0.bench);
    const cpu = {
      coordinator: cpuSeconds(coordinator.proc.pid) - cpu0.coordinator,
      nats: cpuSeconds(nats.pid) - cpu0.nats,
      workers: ctx.workers.map((w, i) => cpuSeconds(w.proc.pid) - cpu0.workers[i]),
      benchAndProxies: (bench1.user + bench1.system) / 1e6,
      machineBusy: m1.busy - cpu0.machine.busy,
      machineTotal: m1.total - cpu0.machine.total,
    };
    cpu.workersSum = cpu.workers.reduce((a, b) => a + b, 0);
    cpu.others = cpu.machineBusy - cpu.coordinator - cpu.nats - cpu.workersSum - cpu.benchAndProxies;
    if (end?.type !== 'succeeded') throw new Error(`${label}: job ${job.id} ended ${end?.type}: ${end?.message}`);
    const cTask1 = await metric(coordinator.metricsPort, 'hessian_task_seconds_total');
    const cCount1 = await metric(coordinator.metricsPort, 'hessian_tasks_total');
    const v1 = await varz();
    const full = await conn.getJob(job.id, { includeReport: true });
    const report = JSON.parse(full.reportJson);
    const tasks = report.totals.tasks;
    const grpcTo = ctx.counters.toWorker - grpcBefore.toWorker;
    const grpcFrom = ctx.counters.fromWorker - grpcBefore.fromWorker;
    const natsIn = v1.in_bytes - v0.in_bytes;
    const natsOut = v1.out_bytes - v0.out_bytes;
    const coordTaskSeconds = cTask1 - cTask0;
    const r = {
      label,
      workers: ctx.n,
      jobId: job.id,
      wallSeconds: wall,
      firstTaskDoneSeconds: firstTaskDone === null ? null : (firstTaskDone - t0) / 1000,
      tasks,
      taskAttempts: cCount1 - cCount0,
      taskDoneEvents: taskDone,
      tasksPerWorker: perWorker,
      hvps: report.totals.hvps,
      workerTaskSeconds,
      coordinatorTaskSeconds: coordTaskSeconds,
      hvpsPerSecond: report.totals.hvps / wall,
      computeSeconds: computeSeconds(report),
      hvpsPerComputeSecond: report.totals.hvps / computeSeconds(report),
      // idle slot-seconds per task: everything that is not worker compute (prepare, dispatch, RPC, KV, tail)
      overheadPerTaskSeconds: scope === 'batch' ? (wall - workerTaskSeconds / ctx.n) / tasks : null,
      // coordinator-seen task time minus worker-seen task time: RPC, KV write, event (first task includes prepare)
      rpcOverheadPerTaskSeconds: scope === 'batch' ? (coordTaskSeconds - workerTaskSeconds) / tasks : null,
      grpc: { toWorkers: grpcTo, fromWorkers: grpcFrom, perTask: (grpcTo + grpcFrom) / tasks, toWorkersPerTask: grpcTo / tasks, fromWorkersPerTask: grpcFrom / tasks },
      nats: { inBytes: natsIn, outBytes: natsOut, inMsgs: v1.in_msgs - v0.in_msgs, outMsgs: v1.out_msgs - v0.out_msgs, perTask: (natsIn + natsOut) / tasks },
      reportTotals: report.totals,
      backend: report.backend,
      loadAvgAfter: os.loadavg(),
      cpuSeconds: cpu,
      coordinatorCpuMsPerTask: (cpu.coordinator / tasks) * 1000,
      natsCpuMsPerTask: (cpu.nats / tasks) * 1000,
    };
    log(`${label} N=${ctx.n}: ${wall.toFixed(2)} s, ${tasks} tasks, ${r.hvps} HVPs, grpc ${(r.grpc.perTask / 1024).toFixed(1)} KiB/task`);
    return { r, report };
  }

  const runs = [];
  try {
    for (const n of WORKER_COUNTS) {
      log(`starting ${n} worker(s) ...`);
      const counters = { toWorker: 0, fromWorker: 0 };
      const workers = [];
      const proxies = [];
      for (let i = 0; i < n; i++) {
        const wport = await freePort();
        const proxy = await startProxy(wport, counters);
        proxies.push(proxy);
        workers.push(
          await startService(`w${n}-${i + 1}`, WORKER_MAIN, {
            ...computeEnv,
            HESSIAN_NATS_URL: natsUrl,
            HESSIAN_GRPC_PORT: String(wport),
            HESSIAN_ADVERTISE_ADDRESS: `127.0.0.1:${proxy.port}`,
            HESSIAN_METRICS_PORT: '-1',
            HESSIAN_WORKER_ID: `n${n}-w${i + 1}`,
            HESSIAN_HEARTBEAT_S: '1',
            HESSIAN_CACHE_DIR: cacheDir,
          }),
        );
      }
      await waitWorkers(n);
      const ctx = { n, counters, workers };
      const entry = { workers: n };
      entry.warmUp = (await measureJob('warm-up (lenet, small)', WARM_SPEC, 'batch', ctx)).r;
      const ov = await measureJob('overhead (tiny-mlp)', OVERHEAD_SPEC, 'batch', ctx);
      entry.overhead = ov.r;
      const sc = await measureJob('scaling (lenet)', SCALING_SPEC, 'batch', ctx);
      entry.scaling = sc.r;
      entry.scaling.maxRelDiffVsEmbedded = worstRel(numbers(sc.report), numbers(embScaling.report));
      // embedded process CPU / (workers + coordinator + nats CPU): insensitive to other load on the machine
      entry.scaling.cpuEfficiencyVsEmbedded = embScaling.cpuSeconds / (sc.r.cpuSeconds.workersSum + sc.r.cpuSeconds.coordinator + sc.r.cpuSeconds.nats);
      const dp = await measureJob('data-parallel (lenet, dataset scope)', DP_SPEC, 'dataset', ctx);
      entry.dataParallel = dp.r;
      entry.dataParallel.shards = dp.report.shards;
      entry.dataParallel.maxRelDiffVsEmbedded = worstRel(numbers(dp.report), numbers(embDp.report));
      runs.push(entry);
      await Promise.all(workers.map((w) => w.kill('SIGKILL')));
      await Promise.all(proxies.map((p) => p.close()));
      await waitWorkers(0);
    }
  } finally {
    conn.close?.();
    await coordinator.kill('SIGKILL');
    nats.kill('SIGKILL');
  }

  // ------------------------------------------------------------------------------------------
  // tables
  const embS = embScaling.seconds;
  results.embedded = {
    scaling: { seconds: embS, warmUpSeconds: embScaling.warmSeconds, processCpuSeconds: embScaling.cpuSeconds, foreignCpuSeconds: embScaling.foreignCpuSeconds, processSeconds: embScaling.processSeconds, totals: embScaling.report.totals, backend: embScaling.report.backend },
    dataParallel: { seconds: embDp.seconds, warmUpSeconds: embDp.warmSeconds, processCpuSeconds: embDp.cpuSeconds, foreignCpuSeconds: embDp.foreignCpuSeconds, processSeconds: embDp.processSeconds, totals: embDp.report.totals, hvpsPerSecond: embDp.report.totals.hvps / embDp.seconds, computeSeconds: computeSeconds(embDp.report), hvpsPerComputeSecond: embDp.report.totals.hvps / computeSeconds(embDp.report), backend: embDp.report.backend },
    overhead: { seconds: embOv.seconds, totals: embOv.report.totals, backend: embOv.report.backend },
  };
  results.runs = runs;
  const base1 = runs[0].scaling.wallSeconds;
  table(
    `1. scaling: ${SCALING_SPEC.model} ${SCALING_SPEC.data}, all layers + full, trace ${SCALING_SPEC.trace.probes} probes (chunks of ${SCALING_SPEC.trace.chunk}), density ${SCALING_SPEC.density.runs} x ${SCALING_SPEC.density.steps}; backend ${embScaling.report.backend}, 1 BLAS thread per process`,
    ['run', 'wall s', 'tasks', 'HVPs', 'HVP/s', 'speed-up vs 1 worker', 'vs embedded', 'worker task s (sum)', 'worker CPU s', 'coord+nats CPU s', 'CPU efficiency', 'foreign CPU s', 'first task-done s', 'max rel diff vs embedded'],
    [
      ['embedded (runAnalysis, 1 thread)', embS, embScaling.report.totals.tasks, embScaling.report.totals.hvps, embScaling.report.totals.hvps / embS, '-', 1, '-', embScaling.cpuSeconds, '-', 1, embScaling.foreignCpuSeconds, '-', '-'],
      ...runs.map((e) => [`cluster, ${e.workers} worker(s)`, e.scaling.wallSeconds, e.scaling.tasks, e.scaling.hvps, e.scaling.hvpsPerSecond, base1 / e.scaling.wallSeconds, embS / e.scaling.wallSeconds, e.scaling.workerTaskSeconds, e.scaling.cpuSeconds.workersSum, e.scaling.cpuSeconds.coordinator + e.scaling.cpuSeconds.nats, e.scaling.cpuEfficiencyVsEmbedded, e.scaling.cpuSeconds.others, e.scaling.firstTaskDoneSeconds, e.scaling.maxRelDiffVsEmbedded]),
    ],
  );
  table(
    `2. coordinator overhead per task: (wall - sum(worker task s)/N) / tasks; RPC+KV = (coordinator-seen - worker-seen task s) / tasks`,
    ['job', 'workers', 'tasks', 'wall s', 'worker task s (sum)', 'overhead ms/task', 'RPC+KV ms/task', 'coordinator CPU ms/task', 'nats CPU ms/task', 'tasks/s'],
    runs.flatMap((e) => [
      ['tiny-mlp, 1 probe/task', e.workers, e.overhead.tasks, e.overhead.wallSeconds, e.overhead.workerTaskSeconds, e.overhead.overheadPerTaskSeconds * 1000, e.overhead.rpcOverheadPerTaskSeconds * 1000, e.overhead.coordinatorCpuMsPerTask, e.overhead.natsCpuMsPerTask, e.overhead.tasks / e.overhead.wallSeconds],
      ['lenet scaling job', e.workers, e.scaling.tasks, e.scaling.wallSeconds, e.scaling.workerTaskSeconds, e.scaling.overheadPerTaskSeconds * 1000, e.scaling.rpcOverheadPerTaskSeconds * 1000, e.scaling.coordinatorCpuMsPerTask, e.scaling.natsCpuMsPerTask, e.scaling.tasks / e.scaling.wallSeconds],
    ]),
  );
  console.log(`(embedded tiny-mlp job: ${fmt(embOv.seconds)} s for ${embOv.report.totals.tasks} tasks, ${fmt((embOv.seconds / embOv.report.totals.tasks) * 1000)} ms/task including prepare)`);
  table(
    '3. bytes on the wire per task (gRPC through the counting proxies; NATS from /varz, heartbeats included)',
    ['job', 'workers', 'tasks', 'gRPC -> workers B/task', 'gRPC <- workers B/task', 'NATS in+out B/task', 'NATS msgs in+out'],
    runs.flatMap((e) =>
      [e.overhead, e.scaling, e.dataParallel].map((j) => [j.label, e.workers, j.tasks, j.grpc.toWorkersPerTask, j.grpc.fromWorkersPerTask, j.nats.perTask, j.nats.inMsgs + j.nats.outMsgs]),
    ),
  );
  const embDpRate = embDp.report.totals.hvps / embDp.seconds;
  const embDpRateC = embDp.report.totals.hvps / computeSeconds(embDp.report);
  table(
    `4. data-parallel HVP throughput: ${DP_SPEC.model} ${DP_SPEC.data}, scope dataset, trace ${DP_SPEC.trace.probes} probes of fc3 and full (HVPs of the whole data set, shards summed by the coordinator)`,
    ['run', 'shards', 'wall s', 'HVPs', 'HVP/s (wall)', 'vs embedded', 'compute s', 'HVP/s (compute)', 'vs embedded', 'gRPC bytes/HVP', 'foreign CPU s', 'max rel diff vs embedded'],
    [
      ['embedded (1 thread)', '-', embDp.seconds, embDp.report.totals.hvps, embDpRate, 1, computeSeconds(embDp.report), embDpRateC, 1, '-', embDp.foreignCpuSeconds, '-'],
      ...runs.map((e) => [`cluster, ${e.workers} worker(s)`, (e.dataParallel.shards ?? []).join('+'), e.dataParallel.wallSeconds, e.dataParallel.hvps, e.dataParallel.hvpsPerSecond, e.dataParallel.hvpsPerSecond / embDpRate, e.dataParallel.computeSeconds, e.dataParallel.hvpsPerComputeSecond, e.dataParallel.hvpsPerComputeSecond / embDpRateC, (e.dataParallel.grpc.toWorkers + e.dataParallel.grpc.fromWorkers) / e.dataParallel.hvps, e.dataParallel.cpuSeconds.others, e.dataParallel.maxRelDiffVsEmbedded]),
    ],
  );

  results.finished = new Date().toISOString();
  results.machine.loadAvgAtEnd = os.loadavg();
  console.log(`\nload average at start ${results.machine.loadAvgAtStart.map((l) => l.toFixed(2)).join(' ')}, at end ${results.machine.loadAvgAtEnd.map((l) => l.toFixed(2)).join(' ')}`);
  const outFile = QUICK ? path.join(os.tmpdir(), 'hessian-cluster-quick.json') : path.join(ROOT, 'bench', 'results', 'cluster.json');
  writeFileSync(outFile, JSON.stringify(results, null, 2) + '\n');
  console.log(`wrote ${QUICK ? outFile : path.relative(ROOT, outFile)}`);
  rmSync(tmp, { recursive: true, force: true });
}

const ci = argv.indexOf('--child');
if (ci >= 0) {
  const task = argv[ci + 1];
  const payload = JSON.parse(argv[ci + 2] ?? '{}');
  const fn = { probe: childProbe, embedded: childEmbedded }[task];
  if (!fn) throw new Error(`unknown child task ${task}`);
  const r = await fn(payload);
  const u = process.resourceUsage();
  r.cpuSeconds = (u.userCPUTime + u.systemCPUTime) / 1e6;
  process.stdout.write(`\n${JSON.stringify(r)}\n`);
} else {
  await main();
}
