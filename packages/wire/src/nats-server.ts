/**
 * Starting nats-server and learning the port it bound: the one way the tests and `hessctl cluster up`
 * do it. A port found free beforehand can be taken by another process before nats-server binds it;
 * then nats-server exits, or worse, the caller connects to someone else's server. So nats-server
 * gets `-p -1` (it picks) or the port asked for, plus `--ports_file_dir`, and the port is read from
 * the ports file that this very pid writes once it listens (`<executable>_<pid>.ports`).
 */
import { UserError } from '@hessian/linalg';
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, fstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Where nats-server may be besides PATH: Debian puts it in /usr/sbin, which is not on every user's PATH. */
const MORE_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/local/bin', '/usr/bin'];

function isExecutable(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** nats-server: $HESSIAN_NATS_SERVER (and only it, when set), else on PATH, else /usr/sbin and the other usual places; null when none. */
export function findNatsServer(env: NodeJS.ProcessEnv = process.env): string | null {
  const set = env['HESSIAN_NATS_SERVER'];
  if (set) return isExecutable(set) ? set : null;
  for (const d of [...(env['PATH'] ?? '').split(path.delimiter).filter(Boolean), ...MORE_DIRS]) {
    const p = path.join(d, 'nats-server');
    if (isExecutable(p)) return p;
  }
  return null;
}

/** The sentence for "findNatsServer found nothing", naming what to change. */
export function natsServerMissing(env: NodeJS.ProcessEnv = process.env): string {
  const set = env['HESSIAN_NATS_SERVER'];
  return set
    ? `HESSIAN_NATS_SERVER=${set} is not an executable file: point it at nats-server, or unset it to use the one on PATH`
    : 'nats-server is not installed: apt-get install nats-server (Debian, 2.9 or newer, with JetStream), or set HESSIAN_NATS_SERVER to its path';
}

export interface StartNatsOptions {
  /** The client port; 0 (default): nats-server picks a free one itself (-p -1). */
  port?: number;
  /** Address to bind (default 127.0.0.1). */
  host?: string;
  /** JetStream on (-js) with its store here (-sd). */
  storeDir?: string;
  /** More nats-server flags, e.g. ['-c', 'auth.conf'] or ['--user', 'u', '--pass', 'p']. */
  extraArgs?: readonly string[];
  /** Where nats-server writes its ports file: default storeDir, else a temporary folder removed when nats-server exits. */
  portsDir?: string;
  /** Append nats-server's output to this file (else it is kept in memory); output() reads this run's part. */
  logTo?: string;
  /** Outlive this process: own process group, not waited for (needs logTo). */
  detached?: boolean;
  env?: NodeJS.ProcessEnv;
  /** The executable; default findNatsServer(env). */
  binary?: string;
  /** How long to wait for the ports file (default 10 s); then nats-server is killed and the start fails. */
  timeoutMs?: number;
  /** nats-server's output as it comes (not with logTo). */
  onOutput?: (text: string) => void;
  /** Called once nats-server is spawned, before it listens (logOffset: as in NatsServer): e.g. to record its pid so an interrupted start can still be stopped. */
  onSpawn?: (pid: number, logOffset: number) => void;
}

export interface NatsServer {
  readonly process: ChildProcess;
  readonly pid: number;
  /** The port nats-server bound (from its ports file). */
  readonly port: number;
  /** The HTTP monitoring port it bound, when extraArgs asked for one (`-m -1`: it picks). */
  readonly monitorPort?: number;
  readonly url: string;
  /** Where this run's lines begin in logTo (the file is appended to); 0 without logTo. */
  readonly logOffset: number;
  /** What this nats-server wrote since it started. */
  output(): string;
  /** Signals it (default SIGTERM) and waits until it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export type NatsStartFailure = 'not-found' | 'port-in-use' | 'exited' | 'timeout';

/** Why nats-server did not start; a UserError (FAILED_PRECONDITION) with nats-server's own last lines, the full output in `output`. */
export class NatsStartError extends UserError {
  constructor(
    message: string,
    readonly reason: NatsStartFailure,
    readonly output: string,
    readonly port?: number,
  ) {
    super(message, 'FAILED_PRECONDITION');
  }
}

/** Attached servers are killed when this process exits (detached ones are meant to outlive it). */
const attached = new Set<ChildProcess>();
let exitHook = false;
function killOnExit(p: ChildProcess): void {
  attached.add(p);
  p.once('exit', () => attached.delete(p));
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const c of attached) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the ports files of dead processes (a SIGKILLed nats-server leaves its file): one naming a reused pid must not be mistaken for ours. */
function removeStalePortsFiles(dir: string): void {
  for (const f of readdirSync(dir)) {
    const m = /_(\d+)\.ports$/.exec(f);
    if (m && !pidAlive(Number(m[1]))) rmSync(path.join(dir, f), { force: true });
  }
}

/** The client (and monitoring) port in `pid`'s ports file, or null until it is there and complete. */
function portFromFile(dir: string, pid: number): { port: number; monitorPort?: number } | null {
  const f = readdirSync(dir).find((n) => n.endsWith(`_${pid}.ports`));
  if (!f) return null;
  try {
    const ports = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as { nats?: string[]; monitoring?: string[] };
    if (!ports.nats?.[0]) return null;
    const port = Number(new URL(ports.nats[0]).port);
    return ports.monitoring?.[0] ? { port, monitorPort: Number(new URL(ports.monitoring[0]).port) } : { port };
  } catch {
    return null; // written but not complete yet
  }
}

/** nats-server's last lines, without its usage text (printed after a bad flag) or the pid and time prefixes. */
export function natsLastLines(output: string, n = 5): string {
  const usage = output.indexOf('Usage: nats-server');
  const lines = (usage >= 0 ? output.slice(0, usage) : output)
    .split('\n')
    .map((l) => l.replace(/^\[\d+\] \d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\.\d+ /, '').trim())
    .filter(Boolean);
  return lines.length ? lines.slice(-n).join(' | ') : '(nats-server wrote nothing)';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts nats-server and resolves once it listens, with the port it bound. Fails with a
 * NatsStartError when it is not installed, when it exits first (a port in use gets its own
 * sentence naming the port; otherwise nats-server's last lines: a bad flag, an unreadable
 * config) or when it does not listen within timeoutMs (then it is killed).
 */
export async function startNatsServer(o: StartNatsOptions = {}): Promise<NatsServer> {
  const env = o.env ?? process.env;
  const binary = o.binary ?? findNatsServer(env);
  if (!binary) throw new NatsStartError(natsServerMissing(env), 'not-found', '');
  if (o.detached && !o.logTo) throw new Error('startNatsServer: a detached nats-server needs logTo (its output has nowhere else to go)');
  const host = o.host ?? '127.0.0.1';
  const asked = o.port ?? 0;
  const ownPortsDir = !o.portsDir && !o.storeDir;
  const portsDir = o.portsDir ?? o.storeDir ?? mkdtempSync(path.join(os.tmpdir(), 'hessian-nats-ports-'));
  if (!ownPortsDir) {
    mkdirSync(portsDir, { recursive: true });
    removeStalePortsFiles(portsDir);
  }
  const args = [...(o.storeDir ? ['-js', '-sd', o.storeDir] : []), '-p', String(asked || -1), '-a', host, '--ports_file_dir', portsDir, ...(o.extraArgs ?? [])];

  let memory = '';
  let logOffset = 0;
  let proc: ChildProcess;
  if (o.logTo) {
    const fd = openSync(o.logTo, 'a');
    try {
      logOffset = fstatSync(fd).size;
      proc = spawn(binary, args, { detached: o.detached ?? false, stdio: ['ignore', fd, fd], env });
    } finally {
      closeSync(fd);
    }
  } else {
    proc = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    const take = (d: Buffer) => {
      const t = d.toString();
      memory += t;
      o.onOutput?.(t);
    };
    proc.stdout!.on('data', take);
    proc.stderr!.on('data', take);
  }
  const logTo = o.logTo;
  const output = (): string => {
    if (!logTo) return memory;
    try {
      return readFileSync(logTo).subarray(logOffset).toString('utf8');
    } catch {
      return '';
    }
  };
  let spawnError = '';
  proc.on('error', (e) => (spawnError = e.message));
  // 'close' comes after the output pipes are drained: the failure message then has nats-server's last words.
  let closed = false;
  const closedP = new Promise<void>((r) => proc.once('close', () => ((closed = true), r())));
  if (ownPortsDir) void closedP.then(() => rmSync(portsDir, { recursive: true, force: true }));
  if (o.detached) proc.unref();
  else killOnExit(proc);
  if (proc.pid !== undefined) o.onSpawn?.(proc.pid, logOffset);

  const where = asked ? `${host}:${asked}` : `${host} (a port of its choice)`;
  const timeoutMs = o.timeoutMs ?? 10_000;
  for (const until = Date.now() + timeoutMs; ; ) {
    if (closed || spawnError) {
      const out = output();
      if (asked && /address already in use/.test(out))
        throw new NatsStartError(`nats-server could not listen on ${host}:${asked}: the port is in use (another nats-server?); pick another port, or 0 to let nats-server pick one`, 'port-in-use', out, asked);
      const how = spawnError || (proc.exitCode !== null ? `exit code ${proc.exitCode}` : `signal ${proc.signalCode}`);
      throw new NatsStartError(`nats-server (${binary}) exited (${how}) before listening on ${where}: ${natsLastLines(out)}`, 'exited', out, asked || undefined);
    }
    const bound = portFromFile(portsDir, proc.pid!);
    if (bound) {
      const p = proc;
      const port = bound.port;
      return {
        process: p,
        pid: p.pid!,
        port,
        ...(bound.monitorPort ? { monitorPort: bound.monitorPort } : {}),
        url: `nats://${host}:${port}`,
        logOffset,
        output,
        async stop(signal: NodeJS.Signals = 'SIGTERM') {
          if (closed) return;
          p.ref(); // a detached server is unref'd: keep this process alive until it has exited
          p.kill(signal);
          await closedP;
        },
      };
    }
    if (Date.now() > until) {
      proc.kill('SIGKILL');
      await closedP;
      const out = output();
      throw new NatsStartError(`nats-server (${binary}) did not listen on ${where} within ${timeoutMs / 1000} s (stopped it): ${natsLastLines(out)}`, 'timeout', out, asked || undefined);
    }
    await sleep(25);
  }
}
