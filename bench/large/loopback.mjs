// The data-parallel operator's transport alone: a 44.7 MB float32 vector (resnet18's
// 11,172,810 parameters) sent to an Hvp server in another process and sent back, over real gRPC
// on loopback, with the wire's own chunking (toChunks, about 1 MiB) and VectorAssembler, the
// server echoing the vector instead of computing a product. What it costs per shard per product
// beyond the product itself. Usage: node bench/large/loopback.mjs [--dim=11172810] [--reps=5]
//   (writes bench/results/large-loopback.json)
import * as grpc from '@grpc/grpc-js';
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { CHANNEL_OPTIONS, loadProtos, toChunks, VectorAssembler } from '@hessian/wire';

const arg = (k, d) => process.argv.slice(2).find((a) => a.startsWith(`--${k}=`))?.split('=')[1] ?? d;
const dim = Number(arg('dim', '11172810'));
const reps = Number(arg('reps', '5'));

if (process.argv.includes('--serve')) {
  const { worker } = loadProtos();
  const server = new grpc.Server(CHANNEL_OPTIONS);
  server.addService(worker.hessian.v1.Worker.service, {
    Hvp: (call) => {
      let asm = new VectorAssembler();
      call.on('data', (req) => {
        if (!req.v) return;
        asm.add(req.v);
        if (asm.complete) {
          const v = asm.result();
          asm = new VectorAssembler();
          for (const c of toChunks(v)) call.write(c);
        }
      });
      call.on('end', () => call.end());
    },
  });
  process.on('message', (m) => {
    if (m === 'cpu') process.send({ cpu: process.cpuUsage() });
  });
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, port) => process.send({ port }));
} else {
  const child = fork(new URL(import.meta.url).pathname, ['--serve']);
  const port = await new Promise((r) => child.once('message', (m) => r(m.port)));
  const { worker } = loadProtos();
  const client = new worker.hessian.v1.Worker(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  const call = client.Hvp();
  call.on('error', () => undefined); // the server is killed at the end
  let pending = null;
  let asm = new VectorAssembler();
  call.on('data', (c) => {
    asm.add(c);
    if (asm.complete) {
      const r = asm.result();
      asm = new VectorAssembler();
      pending(r);
    }
  });
  const v = new Float32Array(dim).map((_, i) => Math.sin(i));
  const times = [];
  const cpu = [];
  const serverCpu = () =>
    new Promise((r) => {
      child.once('message', (m) => r((m.cpu.user + m.cpu.system) / 1e6));
      child.send('cpu');
    });
  for (let r = 0; r < reps + 1; r++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const s0 = await serverCpu();
    const back = await new Promise((resolve) => {
      pending = resolve;
      let first = true;
      for (const c of toChunks(v)) {
        call.write(first ? { key: 'echo', operator: 'hessian', scope: 'full', v: c } : { v: c });
        first = false;
      }
    });
    const s = (performance.now() - t0) / 1000;
    const c1 = process.cpuUsage(c0);
    const serverS = (await serverCpu()) - s0;
    if (r > 0) cpu.push({ clientS: (c1.user + c1.system) / 1e6, serverS });
    if (back[dim - 1] !== v[dim - 1]) throw new Error('echo mismatch');
    if (r > 0) times.push(s); // the first round trip warms the connection
  }
  call.end();
  child.kill();
  client.close();
  const bytes = dim * 4;
  const med = times.slice().sort((a, b) => a - b)[Math.floor(times.length / 2)];
  const cpuTotal = cpu.map((c) => c.clientS + c.serverS).sort((a, b) => a - b);
  const medCpu = cpuTotal[Math.floor(cpuTotal.length / 2)];
  // CPU seconds of both ends per round trip: what a round trip costs on dedicated cores (wall ~ CPU when idle).
  const out = { dim, bytesEachWay: bytes, reps, roundTripSeconds: times, medianRoundTripS: med, cpuSeconds: cpu, medianCpuSecondsBothEnds: medCpu, mbPerSEachWayWall: bytes / 1e6 / (med / 2), mbPerCpuSecond: (2 * bytes) / 1e6 / medCpu, date: new Date().toISOString(), load: (await import('node:os')).loadavg() };
  writeFileSync('bench/results/large-loopback.json', JSON.stringify(out, null, 2) + '\n');
  console.log(JSON.stringify(out));
}
