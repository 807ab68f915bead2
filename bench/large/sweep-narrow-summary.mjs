// Summary of bench/large/sweep-narrow.sh (scratch in $LS, default /tmp/ls) ->
// bench/results/large-sweep-narrow.json. Per-task costs come from the workers' `task done`
// log lines (wall seconds, products). The machine was shared (load average in the file), so
// wall seconds are converted to CPU seconds with each worker's own ratio: its process CPU
// seconds (/proc, at the end) over the sum of its tasks' wall seconds (what share of a core its
// tasks got). Projection to N workers: the CPU-second durations of all tasks of the sweep
// (its checkpoints' jobs run concurrently) placed longest first onto the least-loaded of N
// workers; the makespan is the projected wall time on N dedicated cores. It leaves out Prepare
// (model and data load per checkpoint and worker) and the coordinator, so it is a lower bound.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const LS = process.env.LS ?? '/tmp/ls';
const read = (f) => readFileSync(path.join(LS, f), 'utf8');
const lines = (f) => read(f).trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
const q = (a, p) => a.slice().sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(p * a.length))];

const times = JSON.parse(read('times.json'));
const train = JSON.parse(read('train.json'));
const trainTime = JSON.parse(read('train-time.json'));
const procs = lines('workers.jsonl');
const sweep = JSON.parse(read('sweep/sweep.json'));
const report0 = JSON.parse(read('sweep/reports/epoch-000.json'));
const workerLogs = readdirSync(LS).filter((f) => /^worker-\d+\.log$/.test(f)).sort();
const workers = workerLogs.map((f, i) => {
  const tasks = lines(f).filter((l) => l.msg === 'task done');
  const wall = tasks.reduce((a, t) => a + t.seconds, 0);
  const cpu = procs[i].cpuTicks / procs[i].ticksPerS;
  return { log: f, tasks, wall, cpu, ratio: cpu / wall, peakRssMB: Math.round(procs[i].vmHwmKB / 1024) };
});
const all = workers.flatMap((w) => w.tasks.map((t) => ({ ...t, cpuS: t.seconds * w.ratio })));
const kindOf = (id) => (id.includes('/top-k') ? 'top-k' : id.includes('/trace/') ? 'trace' : id.includes('/density/') ? 'density' : 'other');
const byKind = {};
for (const t of all) {
  const k = `${t.taskId.startsWith('full/') ? 'full' : 'layer'} ${kindOf(t.taskId)}`;
  (byKind[k] ??= []).push(t);
}
const kinds = Object.fromEntries(
  Object.entries(byKind).map(([k, ts]) => [
    k,
    {
      tasks: ts.length,
      products: ts.reduce((a, t) => a + t.hvps, 0),
      cpuSecondsMedian: +q(ts.map((t) => t.cpuS), 0.5).toFixed(3),
      cpuSecondsP90: +q(ts.map((t) => t.cpuS), 0.9).toFixed(3),
      cpuSecondsPerProduct: +(ts.reduce((a, t) => a + t.cpuS, 0) / ts.reduce((a, t) => a + t.hvps, 0)).toFixed(4),
    },
  ]),
);
const durations = all.map((t) => t.cpuS).sort((a, b) => b - a);
const makespan = {};
for (const n of [1, 2, 4, 8, 16, 32, 64]) {
  const load = new Array(n).fill(0);
  for (const d of durations) {
    let i = 0;
    for (let j = 1; j < n; j++) if (load[j] < load[i]) i = j;
    load[i] += d;
  }
  makespan[n] = +Math.max(...load).toFixed(1);
}
const full = sweep.scopes.find((s) => s.name === 'full');
const out = {
  what: 'bench/large/sweep-narrow.sh: train a narrow resnet18, sweep its 5 checkpoints on a 2-worker local cluster',
  model: 'zoo:resnet18?width=0.0625',
  params: report0.model.params,
  training: { data: 'fashion-mnist:train[0:1024]', epochs: train.epochs, steps: train.steps, wallS: trainTime.wallS, cpuS: +(trainTime.cpuS + trainTime.sysS).toFixed(1), peakRssMB: Math.round(trainTime.maxRssKB / 1024), testAcc: train.metrics.filter((m) => m.kind === 'epoch').map((m) => m.testAcc) },
  sweep: {
    analysis: "--data 'fashion-mnist:train[0:64]' --batch-size 16 --layers middle --top-k 2 --eig-max-iter 30 --trace-probes 20 --trace-chunk 10 --density-runs 1 --density-steps 20 --seed 3",
    checkpoints: sweep.epochs,
    scopes: sweep.scopes.length,
    wallS: times.sweepS,
    failed: sweep.failed ?? [],
    workers: workers.map((w) => ({ tasks: w.tasks.length, taskWallS: +w.wall.toFixed(1), processCpuS: +w.cpu.toFixed(1), cpuPerTaskWallSecond: +w.ratio.toFixed(3), peakRssMB: w.peakRssMB })),
  },
  load: { start: read('load-start.txt').trim(), end: read('load-end.txt').trim() },
  tasks: all.length,
  products: all.reduce((a, t) => a + t.hvps, 0),
  taskCpuSeconds: { total: +durations.reduce((a, b) => a + b, 0).toFixed(1), longest: +durations[0].toFixed(2), median: +q(durations, 0.5).toFixed(3), p10: +q(durations, 0.1).toFixed(3), p90: +q(durations, 0.9).toFixed(3), inRange0p1to10s: all.filter((t) => t.cpuS >= 0.1 && t.cpuS <= 10).length },
  byKind: kinds,
  projectedMakespanS: makespan,
  projectionMethod: 'see the header of bench/large/sweep-narrow-summary.mjs',
  fullNetwork: { epochs: full.epochs, top: full.top.map((x) => +x.toPrecision(4)), trace: full.trace.map((x) => +x.toPrecision(4)), traceStderr: full.traceStderr.map((x) => +x.toPrecision(3)) },
};
writeFileSync('bench/results/large-sweep-narrow.json', JSON.stringify(out, null, 2) + '\n');
console.log(JSON.stringify(out, null, 1));
