/**
 * `hessctl cluster up|down|status`: a local development cluster as background processes
 * (nats-server with JetStream, the coordinator, N workers), recorded in DIR/cluster.json
 * with logs in DIR/logs. Production runs on Kubernetes (k8s/); this is the same services,
 * started by hand.
 */
import { UserError } from '@hessian/linalg';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, rmSync, writeFileSync, renameSync, statSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { intFlag, parseFlags, type Command, type Flag, type Values } from '../flags.js';
import { CoordinatorConnection, sleep } from '../grpc-client.js';
import { BACKENDS, choice } from './analyze.js';
import { table } from './remote.js';

/** The repository root, from packages/client/dist/src/commands. */
export const REPO_ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
export const COORDINATOR_MAIN = join(REPO_ROOT, 'services/coordinator/dist/src/main.js');
export const WORKER_MAIN = join(REPO_ROOT, 'services/worker/dist/src/main.js');

export interface ProcessRecord {
  role: 'nats' | 'coordinator' | 'worker';
  id: string;
  pid: number;
  /** Something in /proc/PID/cmdline that identifies the process (guards against reused pids). */
  marker: string;
  log: string;
  grpcPort?: number;
  metricsPort?: number;
  port?: number;
}

export interface ClusterRecord {
  version: 1;
  dir: string;
  startedAt: string;
  /** host:port of the coordinator (what HESSIAN_SERVER should be). */
  server: string;
  natsUrl: string;
  backend: string;
  processes: ProcessRecord[];
}

const HELP_FLAG: Flag = { name: 'help', short: 'h', type: 'boolean', help: 'show this help' };
const DIR_FLAG: Flag = { name: 'dir', type: 'string', arg: 'DIR', default: '.hessian-cluster', help: 'folder of cluster.json (pids and ports), logs/ and the JetStream store nats/' };

export const clusterUpCommand: Command = {
  name: 'cluster up',
  summary: 'start a local cluster in the background: nats-server (JetStream), the coordinator and N workers',
  usage: 'hessctl cluster up [--workers N] [--dir DIR] [--port P] [--nats-port P] [--backend B]',
  flags: [
    { name: 'workers', type: 'string', arg: 'N', default: '2', help: 'worker processes to start' },
    DIR_FLAG,
    { name: 'port', type: 'string', arg: 'P', default: '7070', help: "the coordinator's gRPC port (0: a free port, printed and recorded in cluster.json)" },
    { name: 'nats-port', type: 'string', arg: 'P', default: '4222', help: "nats-server's client port (0: a free port)" },
    { name: 'metrics-port', type: 'string', arg: 'P', default: '9464', negative: true, help: "the coordinator's Prometheus /metrics port (0: a free port, -1: off); workers always take free ports" },
    { name: 'backend', type: 'string', arg: 'B', default: 'auto', help: `tfjs backend of the workers: ${BACKENDS.join(' | ')} (sets HESSIAN_BACKEND)` },
    { name: 'capacity', type: 'string', arg: 'N', default: '1', help: 'tasks each worker runs at once (sets HESSIAN_WORKER_CAPACITY)' },
    { name: 'log-level', type: 'string', arg: 'L', default: 'info', help: 'log level of the services: trace | debug | info | warn | error' },
    { name: 'timeout', type: 'string', arg: 'S', default: '60', help: 'seconds to wait until the coordinator sees all N workers' },
    { name: 'format', type: 'string', arg: 'F', default: 'text', help: 'text (how to reach the cluster) | json (the cluster record: pids, ports, logs)' },
    HELP_FLAG,
  ],
  examples: ['hessctl cluster up --workers 2', 'hessctl cluster up --workers 4 --dir /tmp/hc --port 0 --nats-port 0 --backend cpu'],
};

export const clusterDownCommand: Command = {
  name: 'cluster down',
  summary: 'stop the local cluster started by `hessctl cluster up` (SIGTERM, then SIGKILL after a grace period)',
  usage: 'hessctl cluster down [--dir DIR] [--grace S] [--purge]',
  flags: [
    DIR_FLAG,
    { name: 'grace', type: 'string', arg: 'S', default: '10', help: 'seconds each process gets to finish after SIGTERM (workers drain) before SIGKILL' },
    { name: 'purge', type: 'boolean', help: 'also delete the JetStream store (jobs, results, models) and the logs in DIR' },
    HELP_FLAG,
  ],
};

export const clusterStatusCommand: Command = {
  name: 'cluster status',
  summary: 'show the processes of the local cluster and whether the coordinator answers',
  usage: 'hessctl cluster status [--dir DIR] [--format table|json]',
  flags: [DIR_FLAG, { name: 'format', type: 'string', arg: 'F', default: 'table', help: 'table | json' }, HELP_FLAG],
};

export const clusterCommand: Command = {
  name: 'cluster',
  summary: 'a local development cluster: cluster up | cluster down | cluster status',
  usage: 'hessctl cluster up|down|status [flags]      hessctl cluster SUBCOMMAND --help for its flags',
  flags: [HELP_FLAG],
};

const SUBCOMMANDS: Record<string, Command> = { up: clusterUpCommand, down: clusterDownCommand, status: clusterStatusCommand };

/** Help for `hessctl cluster [SUB] --help`. */
export function clusterHelp(rest: string[], helpText: (c: Command) => string): string {
  const sub = SUBCOMMANDS[rest[0] ?? ''];
  if (sub) return helpText(sub);
  return [
    `hessctl cluster: ${clusterCommand.summary}`,
    '',
    `Usage: ${clusterCommand.usage}`,
    '',
    'Subcommands:',
    ...Object.entries(SUBCOMMANDS).map(([k, c]) => `  ${k.padEnd(8)}${c.summary}`),
    '',
    'Example: hessctl cluster up --workers 2 && export HESSIAN_SERVER=127.0.0.1:7070 && hessctl workers',
    '',
  ].join('\n');
}

export async function cluster(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'up') return clusterUp(rest);
  if (sub === 'down') return clusterDown(rest);
  if (sub === 'status') return clusterStatus(rest);
  throw new UserError(`cluster: ${sub ? `unknown subcommand "${sub}"` : 'missing subcommand'}; give up, down or status (see \`hessctl cluster --help\`)`);
}

// ---------------------------------------------------------------- processes

/** nats-server on PATH, or where Debian puts it (/usr/sbin is not on every user's PATH). */
export function findNatsServer(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.HESSIAN_NATS_SERVER) return existsSync(env.HESSIAN_NATS_SERVER) ? env.HESSIAN_NATS_SERVER : null;
  const dirs = [...(env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin', '/usr/local/sbin', '/usr/local/bin', '/usr/bin'];
  for (const d of dirs) {
    const p = join(d, 'nats-server');
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return null;
}

function procState(pid: number): string | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

/** Alive and not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  const st = procState(pid);
  return st !== 'Z' && st !== 'X';
}

/** Is `pid` still the process we started (and not a reused pid)? Unknown (no /proc) counts as yes. */
export function isOurs(p: ProcessRecord): boolean {
  if (!isAlive(p.pid)) return false;
  try {
    return readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').includes(p.marker);
  } catch {
    return true;
  }
}

/** SIGTERM, wait up to graceMs, SIGKILL what is left; returns the records that needed SIGKILL. */
export async function stopProcesses(procs: ProcessRecord[], graceMs: number): Promise<ProcessRecord[]> {
  const live = procs.filter(isOurs);
  for (const p of live) {
    try {
      process.kill(p.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  const until = Date.now() + graceMs;
  while (Date.now() < until && live.some((p) => isAlive(p.pid))) await sleep(100);
  const killed = live.filter((p) => isAlive(p.pid));
  for (const p of killed) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  const until2 = Date.now() + 5000;
  while (Date.now() < until2 && killed.some((p) => isAlive(p.pid))) await sleep(50);
  return killed;
}

export function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => res(true)));
  });
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen({ port: 0, host: '127.0.0.1' }, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((res) => {
    const c = createConnection({ port, host: '127.0.0.1' });
    c.once('connect', () => {
      c.destroy();
      res(true);
    });
    c.once('error', () => res(false));
  });
}

function lastLines(path: string, n = 3): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-n).join(' | ').slice(0, 600);
  } catch {
    return '(no log)';
  }
}

/** The pino line {"msg":"listening","grpcPort":..,"metricsPort":..} of a service's log, if written yet. */
export function listeningLine(path: string): { grpcPort: number; metricsPort: number } | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    if (!line.includes('listening')) continue;
    try {
      const o = JSON.parse(line) as { msg?: string; grpcPort?: number; metricsPort?: number };
      if (o.msg === 'listening' && typeof o.grpcPort === 'number') return { grpcPort: o.grpcPort, metricsPort: Number(o.metricsPort ?? -1) };
    } catch {
      /* not JSON */
    }
  }
  return null;
}

function spawnDetached(cmd: string, args: string[], log: string, env: NodeJS.ProcessEnv): number {
  const fd = openSync(log, 'a');
  try {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env, cwd: REPO_ROOT });
    if (child.pid === undefined) throw new UserError(`could not start ${cmd}; see ${log}`, 'FAILED_PRECONDITION');
    child.on('error', () => {});
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

function recordPath(dir: string): string {
  return join(dir, 'cluster.json');
}

export function readRecord(dir: string): ClusterRecord | null {
  try {
    return JSON.parse(readFileSync(recordPath(dir), 'utf8')) as ClusterRecord;
  } catch {
    return null;
  }
}

function writeRecord(rec: ClusterRecord): void {
  const p = recordPath(rec.dir);
  writeFileSync(`${p}.tmp`, JSON.stringify(rec, null, 2) + '\n');
  renameSync(`${p}.tmp`, p);
}

async function waitFor<T>(what: () => T | null | Promise<T | null>, timeoutMs: number, alive: () => boolean): Promise<T | 'timeout' | 'exited'> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await what();
    if (v !== null && v !== undefined) return v;
    if (!alive()) return 'exited';
    if (Date.now() > until) return 'timeout';
    await sleep(100);
  }
}

// ---------------------------------------------------------------- up

function portArg(values: Values, name: string, min: number): number {
  return intFlag(values, name, min, 65535)!;
}

export async function clusterUp(argv: string[]): Promise<number> {
  const { values } = parseFlags(clusterUpCommand, argv);
  const n = intFlag(values, 'workers', 1, 256)!;
  const dir = resolve(String(values.dir));
  let port = portArg(values, 'port', 0);
  let natsPort = portArg(values, 'nats-port', 0);
  const metricsPort = portArg(values, 'metrics-port', -1);
  const backend = choice(values, 'backend', BACKENDS) ?? 'auto';
  const capacity = intFlag(values, 'capacity', 1, 1024)!;
  const logLevel = choice(values, 'log-level', ['trace', 'debug', 'info', 'warn', 'error'] as const) ?? 'info';
  const timeoutMs = (intFlag(values, 'timeout', 1, 3600) ?? 60) * 1000;
  const format = choice(values, 'format', ['text', 'json'] as const) ?? 'text';

  const nats = findNatsServer();
  if (!nats)
    throw new UserError('nats-server is not installed: apt-get install nats-server (Debian, 2.9 or newer, with JetStream), or set HESSIAN_NATS_SERVER to its path', 'FAILED_PRECONDITION');
  for (const [what, main] of [
    ['coordinator', COORDINATOR_MAIN],
    ['worker', WORKER_MAIN],
  ] as const)
    if (!existsSync(main)) throw new UserError(`the ${what} is not built (${main} is missing); build it with \`npm run build\``, 'FAILED_PRECONDITION');

  const old = readRecord(dir);
  if (old && old.processes.some(isOurs))
    throw new UserError(`a cluster is already running from ${dir} (coordinator at ${old.server}); stop it with \`hessctl cluster down --dir ${String(values.dir)}\` or use another --dir`, 'FAILED_PRECONDITION');

  if (natsPort === 0) natsPort = await freePort();
  else if (!(await portFree(natsPort)))
    throw new UserError(`--nats-port ${natsPort} is in use (another nats-server?); pick another with --nats-port (0: a free one) or stop what holds it`, 'FAILED_PRECONDITION');
  if (port !== 0 && !(await portFree(port)))
    throw new UserError(`--port ${port} is in use (another coordinator?); pick another with --port (0: a free one) or stop it with \`hessctl cluster down\``, 'FAILED_PRECONDITION');
  if (metricsPort > 0 && !(await portFree(metricsPort)))
    throw new UserError(`--metrics-port ${metricsPort} is in use; pick another with --metrics-port (0: a free one, -1: off)`, 'FAILED_PRECONDITION');

  mkdirSync(join(dir, 'logs'), { recursive: true });
  mkdirSync(join(dir, 'nats'), { recursive: true });
  const natsUrl = `nats://127.0.0.1:${natsPort}`;
  const rec: ClusterRecord = { version: 1, dir, startedAt: new Date().toISOString(), server: `127.0.0.1:${port}`, natsUrl, backend, processes: [] };
  const say = (s: string) => format === 'text' && process.stderr.write(s);

  const fail = async (msg: string): Promise<never> => {
    await stopProcesses(rec.processes, 3000);
    rmSync(recordPath(dir), { force: true });
    throw new UserError(msg, 'FAILED_PRECONDITION');
  };

  try {
    // nats-server with JetStream, its store in DIR/nats.
    const natsLog = join(dir, 'logs', 'nats.log');
    const natsPid = spawnDetached(nats, ['-js', '-sd', join(dir, 'nats'), '-p', String(natsPort), '-a', '127.0.0.1'], natsLog, process.env);
    rec.processes.push({ role: 'nats', id: 'nats', pid: natsPid, marker: 'nats-server', log: natsLog, port: natsPort });
    writeRecord(rec);
    const natsUp = await waitFor(async () => ((await tcpOpen(natsPort)) ? true : null), 10_000, () => isAlive(natsPid));
    if (natsUp !== true) await fail(`nats-server ${natsUp === 'exited' ? 'exited' : 'did not listen within 10 s'} on port ${natsPort}; see ${natsLog}: ${lastLines(natsLog)}`);
    say(`nats-server   pid ${natsPid}  ${natsUrl} (JetStream store ${join(dir, 'nats')})\n`);

    const base = { ...process.env, HESSIAN_NATS_URL: natsUrl, HESSIAN_LOG_LEVEL: logLevel };
    const coordLog = join(dir, 'logs', 'coordinator.log');
    const coordPid = spawnDetached(process.execPath, [COORDINATOR_MAIN], coordLog, {
      ...base,
      HESSIAN_GRPC_PORT: String(port),
      HESSIAN_METRICS_PORT: String(metricsPort),
    });
    const coord: ProcessRecord = { role: 'coordinator', id: 'coordinator', pid: coordPid, marker: COORDINATOR_MAIN, log: coordLog };
    rec.processes.push(coord);
    writeRecord(rec);
    const cl = await waitFor(() => listeningLine(coordLog), timeoutMs, () => isAlive(coordPid));
    if (cl === 'exited' || cl === 'timeout')
      await fail(`the coordinator ${cl === 'exited' ? 'exited during start' : `did not report "listening" within ${timeoutMs / 1000} s`}; see ${coordLog}: ${lastLines(coordLog)}`);
    const { grpcPort, metricsPort: cm } = cl as { grpcPort: number; metricsPort: number };
    coord.grpcPort = grpcPort;
    coord.metricsPort = cm;
    port = grpcPort;
    rec.server = `127.0.0.1:${grpcPort}`;
    writeRecord(rec);
    say(`coordinator   pid ${coordPid}  grpc 127.0.0.1:${grpcPort}${cm > 0 ? `  metrics http://127.0.0.1:${cm}/metrics` : ''}\n`);

    const workers: ProcessRecord[] = [];
    for (let i = 1; i <= n; i++) {
      const id = `worker-${i}`;
      const log = join(dir, 'logs', `${id}.log`);
      const pid = spawnDetached(process.execPath, [WORKER_MAIN], log, {
        ...base,
        HESSIAN_WORKER_ID: id,
        HESSIAN_WORKER_CAPACITY: String(capacity),
        HESSIAN_BACKEND: backend,
        HESSIAN_GRPC_PORT: '0',
        HESSIAN_METRICS_PORT: '0',
      });
      const w: ProcessRecord = { role: 'worker', id, pid, marker: WORKER_MAIN, log };
      workers.push(w);
      rec.processes.push(w);
    }
    writeRecord(rec);
    const listening = await Promise.all(workers.map((w) => waitFor(() => listeningLine(w.log), timeoutMs, () => isAlive(w.pid))));
    for (let i = 0; i < n; i++) {
      const l = listening[i];
      if (l === 'exited' || l === 'timeout')
        await fail(`${workers[i].id} ${l === 'exited' ? 'exited during start' : `did not report "listening" within ${timeoutMs / 1000} s`}; see ${workers[i].log}: ${lastLines(workers[i].log)}`);
      workers[i].grpcPort = (l as { grpcPort: number }).grpcPort;
      workers[i].metricsPort = (l as { metricsPort: number }).metricsPort;
      say(`${workers[i].id.padEnd(12)}  pid ${workers[i].pid}  grpc 127.0.0.1:${workers[i].grpcPort}  backend ${backend}, capacity ${capacity}\n`);
    }
    writeRecord(rec);

    // Ready when the coordinator lists all our workers (they register by heartbeat on NATS).
    const conn = await CoordinatorConnection.connect(rec.server, { deadlineMs: 10_000 });
    let seen = 0;
    try {
      const ok = await waitFor(
        async () => {
          const ws = await conn.listWorkers().catch(() => []);
          seen = ws.filter((w) => workers.some((o) => o.id === w.id)).length;
          return seen >= n ? true : null;
        },
        timeoutMs,
        () => rec.processes.every((p) => isAlive(p.pid)),
      );
      if (ok !== true) {
        const dead = rec.processes.filter((p) => !isAlive(p.pid)).map((p) => p.id);
        await fail(
          `the coordinator at ${rec.server} sees ${seen} of ${n} workers ${ok === 'exited' ? `(${dead.join(', ')} exited)` : `after ${timeoutMs / 1000} s`}; see the logs in ${join(dir, 'logs')} (coordinator.log, worker-N.log, nats.log)`,
        );
      }
    } finally {
      conn.close();
    }
  } catch (e) {
    if (!(e instanceof UserError)) {
      await stopProcesses(rec.processes, 3000);
      rmSync(recordPath(dir), { force: true });
    }
    throw e;
  }

  if (format === 'json') {
    process.stdout.write(JSON.stringify(rec, null, 2) + '\n');
    return 0;
  }
  const dirArg = String(values.dir) === '.hessian-cluster' ? '' : ` --dir ${String(values.dir)}`;
  process.stdout.write(
    [
      `cluster up: coordinator at ${rec.server} with ${n} worker${n > 1 ? 's' : ''}; logs in ${join(dir, 'logs')}`,
      '',
      `  export HESSIAN_SERVER=${rec.server}`,
      "  hessctl analyze --model zoo:lenet --data 'fashion-mnist:train[0:256]'     # runs on the cluster when HESSIAN_SERVER is set",
      "  hessctl submit --model zoo:lenet --data 'fashion-mnist:train[0:256]'      # prints a job id; then: hessctl watch ID",
      '  hessctl workers',
      `  hessctl cluster down${dirArg}`,
      '',
    ].join('\n'),
  );
  return 0;
}

// ---------------------------------------------------------------- down

export async function clusterDown(argv: string[]): Promise<number> {
  const { values } = parseFlags(clusterDownCommand, argv);
  const dir = resolve(String(values.dir));
  const graceMs = (intFlag(values, 'grace', 0, 3600) ?? 10) * 1000;
  const rec = readRecord(dir);
  if (!rec) throw new UserError(`no cluster.json in ${dir}: nothing to stop (was the cluster started with --dir ${String(values.dir)}?)`, 'NOT_FOUND');
  // Workers first (they drain: finish or hand back their tasks), then the coordinator, then NATS.
  const killed: ProcessRecord[] = [];
  for (const role of ['worker', 'coordinator', 'nats'] as const) killed.push(...(await stopProcesses(rec.processes.filter((p) => p.role === role), graceMs)));
  const left = rec.processes.filter((p) => isAlive(p.pid) && isOurs(p));
  if (left.length) throw new UserError(`could not stop ${left.map((p) => `${p.id} (pid ${p.pid})`).join(', ')}; stop them by hand`, 'FAILED_PRECONDITION');
  rmSync(recordPath(dir), { force: true });
  if (values.purge === true) {
    rmSync(join(dir, 'nats'), { recursive: true, force: true });
    rmSync(join(dir, 'logs'), { recursive: true, force: true });
  }
  process.stdout.write(
    `cluster down: stopped ${rec.processes.length} processes${killed.length ? ` (${killed.map((p) => p.id).join(', ')} needed SIGKILL after ${graceMs / 1000} s)` : ''}${values.purge === true ? '; store and logs deleted' : `; logs kept in ${join(dir, 'logs')}`}\n`,
  );
  return 0;
}

// ---------------------------------------------------------------- status

export async function clusterStatus(argv: string[]): Promise<number> {
  const { values } = parseFlags(clusterStatusCommand, argv);
  const dir = resolve(String(values.dir));
  const format = choice(values, 'format', ['table', 'json'] as const) ?? 'table';
  const rec = readRecord(dir);
  if (!rec) {
    if (format === 'json') process.stdout.write(JSON.stringify({ dir, running: false }) + '\n');
    else process.stdout.write(`no cluster in ${dir} (start one with \`hessctl cluster up\`)\n`);
    return 1;
  }
  const procs = rec.processes.map((p) => ({ ...p, alive: isOurs(p) }));
  let registered: string[] | null = null;
  if (procs.find((p) => p.role === 'coordinator')?.alive) {
    try {
      const conn = await CoordinatorConnection.connect(rec.server, { deadlineMs: 3000 });
      try {
        registered = (await conn.listWorkers()).map((w) => w.id);
      } finally {
        conn.close();
      }
    } catch {
      registered = null;
    }
  }
  const allUp = procs.every((p) => p.alive) && registered !== null;
  if (format === 'json') {
    process.stdout.write(JSON.stringify({ ...rec, running: allUp, processes: procs, registeredWorkers: registered }, null, 2) + '\n');
    return allUp ? 0 : 1;
  }
  process.stdout.write(
    table([
      ['process', 'pid', 'state', 'address', 'log'],
      ...procs.map((p) => [
        p.id,
        String(p.pid),
        p.alive ? (p.role === 'worker' && registered && !registered.includes(p.id) ? 'running, not registered' : 'running') : 'stopped',
        p.role === 'nats' ? rec.natsUrl : p.grpcPort ? `127.0.0.1:${p.grpcPort}` : '-',
        p.log,
      ]),
    ]),
  );
  process.stdout.write(
    registered === null
      ? `the coordinator at ${rec.server} does not answer; see ${join(dir, 'logs', 'coordinator.log')}\n`
      : `the coordinator at ${rec.server} answers; ${registered.length} worker${registered.length === 1 ? '' : 's'} registered (export HESSIAN_SERVER=${rec.server})\n`,
  );
  return allUp ? 0 : 1;
}
