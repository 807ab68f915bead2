// What bench/cluster/run.mjs starts and watches: free ports, TCP and HTTP probes, Prometheus
// metrics, CPU seconds from /proc, service processes (killed on exit) and a counting TCP proxy.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export const log = (m) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${m}`);

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}
export function httpGet(port, p) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: p }, (res) => {
        let b = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve(b));
      })
      .on('error', reject);
  });
}
/** Sum of a Prometheus counter (all label sets). */
export async function metric(port, name) {
  const text = await httpGet(port, '/metrics');
  let s = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([-+0-9.eE]+|NaN)/.exec(line);
    if (m && m[1] === name) s += Number(m[3]);
  }
  return s;
}

export const CLK_TCK = 100; // USER_HZ on Linux
/** CPU seconds (user + system) of a process so far, from /proc; null where unreadable. */
export function cpuSeconds(pid) {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return null;
  }
}
/** Busy and total CPU seconds of the whole machine, from /proc/stat. */
export function machineCpu() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + (f[4] ?? 0);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / CLK_TCK, total: total / CLK_TCK };
}

export const procs = new Set();
process.on('exit', () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

/** A service process (coordinator / worker): waits for its `listening` log line. */
export async function startService(name, main, env, timeoutMs = 60000) {
  const p = spawn(process.execPath, [main], { env: { ...process.env, HESSIAN_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  procs.add(p);
  const tail = [];
  let buf = '';
  let listening = null;
  p.stderr.setEncoding('utf8');
  p.stderr.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      tail.push(line);
      if (tail.length > 40) tail.shift();
      if (!listening && line.includes('"listening"')) {
        try {
          listening = JSON.parse(line);
        } catch {
          /* not JSON */
        }
      }
    }
  });
  const exited = new Promise((r) => p.once('exit', (c, s) => (procs.delete(p), r(c ?? s))));
  const until = Date.now() + timeoutMs;
  while (!listening) {
    if (p.exitCode !== null || p.signalCode !== null) throw new Error(`${name} exited:\n${tail.join('\n')}`);
    if (Date.now() > until) throw new Error(`${name}: no 'listening' line after ${timeoutMs} ms:\n${tail.join('\n')}`);
    await sleep(25);
  }
  return {
    name,
    proc: p,
    grpcPort: Number(listening.grpcPort),
    metricsPort: Number(listening.metricsPort),
    tail,
    async kill(sig = 'SIGKILL') {
      if (p.exitCode === null && p.signalCode === null) p.kill(sig);
      return exited;
    },
  };
}

/** A TCP proxy in front of one worker that counts bytes each way. */
export async function startProxy(targetPort, counters) {
  const sockets = new Set();
  const server = net.createServer((down) => {
    const up = net.connect(targetPort, '127.0.0.1');
    // gRPC sets TCP_NODELAY on its own sockets; without it here Nagle + delayed ACK add ~40 ms per exchange
    down.setNoDelay(true);
    up.setNoDelay(true);
    sockets.add(down);
    sockets.add(up);
    down.on('data', (d) => (counters.toWorker += d.length));
    up.on('data', (d) => (counters.fromWorker += d.length));
    down.pipe(up);
    up.pipe(down);
    const close = () => {
      down.destroy();
      up.destroy();
      sockets.delete(down);
      sockets.delete(up);
    };
    down.on('error', close);
    up.on('error', close);
    down.on('close', close);
    up.on('close', close);
  });
  const port = await freePort();
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return {
    port,
    close: () => new Promise((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}
