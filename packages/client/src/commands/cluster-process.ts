/**
 * The local cluster's processes and record: where the services' mains are, starting detached
 * processes with their logs (nats-server: startNatsServer of @hessian/wire), reading their
 * "listening" lines, stopping them without ever signalling a reused pid, and DIR/cluster.json.
 */
import { UserError } from '@hessian/linalg';
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from '../grpc-client.js';

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
  /** Size of the log when this process started: its own lines come after (the log is kept across runs). */
  logOffset?: number;
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

/**
 * A port free now: only for the coordinator's ports, which it is told (a restart keeps them).
 * nats-server is never started on one: it picks its own (startNatsServer of @hessian/wire).
 */
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

/** This run's part of a process's log (the file is appended to by every `cluster up` of the --dir). */
export function ownLog(p: Pick<ProcessRecord, 'log' | 'logOffset'>): string | null {
  try {
    return readFileSync(p.log).subarray(p.logOffset ?? 0).toString('utf8');
  } catch {
    return null;
  }
}

export function lastLines(p: Pick<ProcessRecord, 'log' | 'logOffset'>, n = 3): string {
  const text = ownLog(p)?.trim();
  return text ? text.split('\n').slice(-n).join(' | ').slice(0, 600) : '(nothing in the log)';
}

/** The pino line {"msg":"listening","grpcPort":..,"metricsPort":..} this run of a service wrote, if written yet. */
export function listeningLine(p: Pick<ProcessRecord, 'log' | 'logOffset'>): { grpcPort: number; metricsPort: number } | null {
  const text = ownLog(p);
  if (text === null) return null;
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

/**
 * GLIBC_TUNABLES with glibc.malloc.hugetlb=1 added unless it names that tunable already: malloc
 * on transparent huge pages for the services (the hessctl wrapper says why).
 */
export function withHugePageMalloc(tunables: string | undefined): string {
  if (tunables && /(^|:)glibc\.malloc\.hugetlb=/.test(tunables)) return tunables;
  return tunables ? `${tunables}:glibc.malloc.hugetlb=1` : 'glibc.malloc.hugetlb=1';
}

/** Starts `cmd` detached, its output appended to `log`; the record remembers where this run's lines begin. */
export function spawnDetached(role: ProcessRecord['role'], id: string, cmd: string, args: string[], log: string, env: NodeJS.ProcessEnv, marker = args[0] ?? cmd): ProcessRecord {
  const fd = openSync(log, 'a');
  try {
    const logOffset = fstatSync(fd).size;
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env, cwd: REPO_ROOT });
    if (child.pid === undefined) throw new UserError(`could not start ${cmd}; see ${log}`, 'FAILED_PRECONDITION');
    child.on('error', () => {});
    child.unref();
    return { role, id, pid: child.pid, marker, log, logOffset };
  } finally {
    closeSync(fd);
  }
}

export function recordPath(dir: string): string {
  return join(dir, 'cluster.json');
}

export function readRecord(dir: string): ClusterRecord | null {
  try {
    return JSON.parse(readFileSync(recordPath(dir), 'utf8')) as ClusterRecord;
  } catch {
    return null;
  }
}

export function writeRecord(rec: ClusterRecord): void {
  const p = recordPath(rec.dir);
  writeFileSync(`${p}.tmp`, JSON.stringify(rec, null, 2) + '\n');
  renameSync(`${p}.tmp`, p);
}

export async function waitFor<T>(what: () => T | null | Promise<T | null>, timeoutMs: number, alive: () => boolean): Promise<T | 'timeout' | 'exited'> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await what();
    if (v !== null && v !== undefined) return v;
    if (!alive()) return 'exited';
    if (Date.now() > until) return 'timeout';
    await sleep(100);
  }
}

