// Summary of bench/large/traffic.sh (scratch in $LT, default /tmp/lt) and loopback.mjs ->
// bench/results/large-traffic.json: bytes the coordinator moved per full-network product (its
// own counters), the workers' compute seconds per shard product, and the transport's CPU cost
// per 44.7 MB round trip measured alone (bench/results/large-loopback.json).
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const LT = process.env.LT ?? '/tmp/lt';
const lines = (f) => readFileSync(path.join(LT, f), 'utf8').trim().split('\n').filter(Boolean).flatMap((l) => { try { return [JSON.parse(l)]; } catch { return []; } });
const coord = lines('coordinator.log');
const tasks = coord.filter((l) => l.msg === 'dataset task done' && l.taskId.startsWith('full/'));
const moved = coord.filter((l) => /moved from worker/.test(l.message ?? '') || l.msg === 'worker lost').length;
const streams = readdirSync(LT).filter((f) => /^worker-\d+\.log$/.test(f)).flatMap((f) => lines(f).filter((l) => l.msg === 'hvp stream done' && l.scope === 'full'));
const perProduct = streams.filter((s) => s.products > 0).map((s) => s.computeSeconds / s.products).sort((a, b) => a - b);
const loop = JSON.parse(readFileSync('bench/results/large-loopback.json', 'utf8'));
const out = {
  what: 'bench/large/traffic.sh: zoo:resnet18 full width, --scope dataset, fashion-mnist:train[0:8], 2 workers (native), full-network products',
  jobs: tasks.map((t) => ({ job: t.jobId, products: t.products, bytesOut: t.bytesOut, bytesIn: t.bytesIn, bytesPerProductEachWay: t.bytesOut / t.products, shards: t.bytesOut / t.products / 44691240, matvecWallS: +t.seconds.toFixed(1) })),
  workerComputeWallSecondsPerShardProduct: { streams: streams.length, median: +perProduct[Math.floor(perProduct.length / 2)].toFixed(2), min: +perProduct[0].toFixed(2), max: +perProduct[perProduct.length - 1].toFixed(2) },
  workerLostEventsUnderLoad: moved,
  loopback: { medianCpuSecondsBothEnds: +loop.medianCpuSecondsBothEnds.toFixed(2), coordinatorEndCpuS: +(loop.cpuSeconds.map((c) => c.clientS).sort((a, b) => a - b)[Math.floor(loop.cpuSeconds.length / 2)]).toFixed(2), mbPerCpuSecond: +loop.mbPerCpuSecond.toFixed(1), medianRoundTripWallS: +loop.medianRoundTripS.toFixed(1), load: loop.load },
};
writeFileSync('bench/results/large-traffic.json', JSON.stringify(out, null, 2) + '\n');
console.log(JSON.stringify(out, null, 1));
