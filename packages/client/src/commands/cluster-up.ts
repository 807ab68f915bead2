/** `hessctl cluster up`: nats-server, the coordinator and N workers as background processes, ready when the coordinator lists all N. */
import { UserError } from '@hessian/linalg';
import { apiTokensFromEnv, findNatsServer, natsServerMissing, NatsStartError, startNatsServer, type NatsServer } from '@hessian/wire';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { choice, intFlag, parseFlags, type Command, type Flag, type Values } from '../flags.js';
import { CoordinatorConnection, type ConnectOptions } from '../grpc-client.js';
import { BACKENDS } from './analyze.js';
import { authOptions } from './auth.js';
import { ensureClusterAuth } from './cluster-auth.js';
import { COORDINATOR_MAIN, WORKER_MAIN, freePort, isAlive, isOurs, lastLines, listeningLine, ownLog, portFree, readRecord, recordPath, spawnDetached, stopProcesses, waitFor, withHugePageMalloc, writeRecord, type ClusterRecord, type ProcessRecord } from './cluster-process.js';

export const CLUSTER_HELP_FLAG: Flag = { name: 'help', short: 'h', type: 'boolean', help: 'show this help' };
export const CLUSTER_DIR_FLAG: Flag = { name: 'dir', type: 'string', arg: 'DIR', default: '.hessian-cluster', help: 'folder of cluster.json (pids and ports), logs/ and the JetStream store nats/' };
const HELP_FLAG = CLUSTER_HELP_FLAG;
const DIR_FLAG = CLUSTER_DIR_FLAG;

export const clusterUpCommand: Command = {
  name: 'cluster up',
  summary: 'start a local cluster in the background: nats-server (JetStream), the coordinator and N workers',
  usage: 'hessctl cluster up [--workers N] [--dir DIR] [--port P] [--nats-port P] [--backend B]',
  flags: [
    { name: 'workers', type: 'string', arg: 'N', default: '2', help: 'worker processes to start' },
    DIR_FLAG,
    { name: 'port', type: 'string', arg: 'P', default: '7070', help: "the coordinator's gRPC port (0: a free port, printed and recorded in cluster.json)" },
    { name: 'nats-port', type: 'string', arg: 'P', default: '4222', help: "nats-server's client port (0: the one this --dir had, else one nats-server picks)" },
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

/**
 * How cluster up and status reach the coordinator they start: HESSIAN_TLS_CA (etc.) as any
 * command, and the token HESSIAN_TOKEN, else the first of HESSIAN_API_TOKENS[_FILE] (the
 * coordinator started with that environment requires one of them).
 */
export function selfCheckAuth(env: NodeJS.ProcessEnv = process.env): ConnectOptions {
  const o = authOptions({}, env);
  return o.token ? o : { ...o, token: apiTokensFromEnv(env)[0] };
}

/** The ports a previous `cluster up` of this --dir chose (kept by `cluster down`, so a restart keeps them). */
interface Ports {
  grpc: number;
  nats: number;
  metrics: number;
}

function portsPath(dir: string): string {
  return join(dir, 'ports.json');
}

function readPorts(dir: string): Partial<Ports> {
  try {
    return JSON.parse(readFileSync(portsPath(dir), 'utf8')) as Partial<Ports>;
  } catch {
    return {};
  }
}

/**
 * The coordinator's ports with --port 0: the port this --dir had before when it is free, else a free
 * one. Always a concrete port, so a restarted coordinator keeps it (nats-server picks its own port:
 * startClusterNats).
 */
async function choosePort(asked: number, previous: number | undefined): Promise<number> {
  if (asked !== 0) return asked;
  if (previous && previous > 0 && (await portFree(previous))) return previous;
  return freePort();
}

function natsPortInUse(port: number): UserError {
  return new UserError(`--nats-port ${port} is in use (another nats-server?); pick another with --nats-port (0: nats-server picks one) or stop what holds it`, 'FAILED_PRECONDITION');
}

/**
 * nats-server with JetStream (store DIR/nats) and the users per role, detached, appending to
 * DIR/logs/nats.log. --nats-port 0: the port this --dir had before when nats-server can still bind
 * it, else one nats-server picks (never a port found free first: another process could take it
 * before nats-server binds it, and the cluster would then reach someone else's server). The record
 * gets nats-server's pid as soon as it is spawned, so an interrupted start is stopped too.
 */
export async function startClusterNats(binary: string, dir: string, asked: number, previous: number | undefined, config: string, rec: ClusterRecord): Promise<NatsServer> {
  const log = join(dir, 'logs', 'nats.log');
  const start = (port: number) =>
    startNatsServer({
      binary,
      port,
      storeDir: join(dir, 'nats'),
      extraArgs: ['-c', config],
      logTo: log,
      detached: true,
      onSpawn: (pid, logOffset) => {
        rec.processes = [{ role: 'nats', id: 'nats', pid, marker: 'nats-server', log, logOffset }, ...rec.processes.filter((p) => p.role !== 'nats')];
        writeRecord(rec);
      },
    });
  try {
    if (asked !== 0) return await start(asked);
    if (previous && previous > 0) {
      try {
        return await start(previous);
      } catch (e) {
        if (!(e instanceof NatsStartError && e.reason === 'port-in-use')) throw e;
      }
    }
    return await start(0);
  } catch (e) {
    if (e instanceof NatsStartError && e.reason === 'port-in-use') throw natsPortInUse(asked);
    if (e instanceof NatsStartError) throw new UserError(`${e.message}; see ${log}`, 'FAILED_PRECONDITION');
    throw e;
  }
}

function portArg(values: Values, name: string, min: number): number {
  return intFlag(values, name, min, 65535)!;
}

export async function clusterUp(argv: string[]): Promise<number> {
  const { values } = parseFlags(clusterUpCommand, argv);
  const n = intFlag(values, 'workers', 1, 256)!;
  const dir = resolve(String(values.dir));
  const askedPort = portArg(values, 'port', 0);
  const askedNats = portArg(values, 'nats-port', 0);
  const askedMetrics = portArg(values, 'metrics-port', -1);
  const backend = choice(values, 'backend', BACKENDS) ?? 'auto';
  const capacity = intFlag(values, 'capacity', 1, 1024)!;
  const logLevel = choice(values, 'log-level', ['trace', 'debug', 'info', 'warn', 'error'] as const) ?? 'info';
  const timeoutMs = (intFlag(values, 'timeout', 1, 3600) ?? 60) * 1000;
  const format = choice(values, 'format', ['text', 'json'] as const) ?? 'text';

  const nats = findNatsServer();
  if (!nats) throw new UserError(natsServerMissing(), 'FAILED_PRECONDITION');
  for (const [what, main] of [
    ['coordinator', COORDINATOR_MAIN],
    ['worker', WORKER_MAIN],
  ] as const)
    if (!existsSync(main)) throw new UserError(`the ${what} is not built (${main} is missing); build it with \`npm run build\``, 'FAILED_PRECONDITION');

  const old = readRecord(dir);
  if (old && old.processes.some(isOurs))
    throw new UserError(`a cluster is already running from ${dir} (coordinator at ${old.server}); stop it with \`hessctl cluster down --dir ${String(values.dir)}\` or use another --dir`, 'FAILED_PRECONDITION');

  // Checked here to fail before touching --dir; startClusterNats says the same if the port is taken in between.
  if (askedNats !== 0 && !(await portFree(askedNats))) throw natsPortInUse(askedNats);
  if (askedPort !== 0 && !(await portFree(askedPort)))
    throw new UserError(`--port ${askedPort} is in use (another coordinator?); pick another with --port (0: a free one) or stop it with \`hessctl cluster down\``, 'FAILED_PRECONDITION');
  if (askedMetrics > 0 && !(await portFree(askedMetrics)))
    throw new UserError(`--metrics-port ${askedMetrics} is in use; pick another with --metrics-port (0: a free one, -1: off)`, 'FAILED_PRECONDITION');
  const before = readPorts(dir);
  let port = await choosePort(askedPort, before.grpc);
  let metricsPort = askedMetrics < 0 ? -1 : await choosePort(askedMetrics, before.metrics);

  mkdirSync(join(dir, 'logs'), { recursive: true });
  mkdirSync(join(dir, 'nats'), { recursive: true });
  // NATS with one user per role and the workers' cluster secret, always: internals are never open.
  const auth = ensureClusterAuth(dir);
  // natsUrl: known once nats-server listens (it may pick its port).
  const rec: ClusterRecord = { version: 1, dir, startedAt: new Date().toISOString(), server: `127.0.0.1:${port}`, natsUrl: '', backend, processes: [] };
  const say = (s: string) => format === 'text' && process.stderr.write(s);
  const fail = (msg: string): never => {
    throw new UserError(msg, 'FAILED_PRECONDITION');
  };

  try {
    const natsServer = await startClusterNats(nats, dir, askedNats, before.nats, auth.natsConfig, rec);
    const natsUrl = natsServer.url;
    rec.natsUrl = natsUrl;
    for (const p of rec.processes) if (p.role === 'nats') p.port = natsServer.port;
    writeRecord(rec);
    say(`nats-server   pid ${natsServer.pid}  ${natsUrl} (JetStream store ${join(dir, 'nats')}; users per role, credentials in ${auth.dir})\n`);

    const base = { ...process.env, HESSIAN_NATS_URL: natsUrl, HESSIAN_LOG_LEVEL: logLevel, GLIBC_TUNABLES: withHugePageMalloc(process.env.GLIBC_TUNABLES) };
    // A port we picked (--port 0 or --metrics-port 0) was free a moment ago but is not reserved:
    // another program may bind it before the coordinator does. Then pick again, a few times.
    let coord: ProcessRecord;
    let cl: Awaited<ReturnType<typeof listeningLine>> | 'exited' | 'timeout';
    for (let attempt = 1; ; attempt++) {
      writeFileSync(portsPath(dir), JSON.stringify({ grpc: port, nats: natsServer.port, metrics: metricsPort } satisfies Ports) + '\n');
      const c = spawnDetached('coordinator', 'coordinator', process.execPath, [COORDINATOR_MAIN], join(dir, 'logs', 'coordinator.log'), {
        ...base,
        ...auth.env('coordinator'),
        HESSIAN_GRPC_PORT: String(port),
        HESSIAN_METRICS_PORT: String(metricsPort),
      });
      coord = c;
      rec.processes.push(c);
      writeRecord(rec);
      cl = await waitFor(() => listeningLine(c), timeoutMs, () => isAlive(c.pid));
      const raced = cl === 'exited' && attempt < 4 && (askedPort === 0 || askedMetrics === 0) && (ownLog(c) ?? '').includes('EADDRINUSE');
      if (!raced) break;
      rec.processes = rec.processes.filter((p) => p !== c);
      if (askedPort === 0) port = await freePort();
      if (askedMetrics === 0) metricsPort = await freePort();
    }
    if (cl === 'exited' || cl === 'timeout')
      return fail(`the coordinator ${cl === 'exited' ? 'exited during start' : `did not report "listening" within ${timeoutMs / 1000} s`}; see ${coord.log}: ${lastLines(coord)}`);
    coord.grpcPort = cl.grpcPort;
    coord.metricsPort = cl.metricsPort;
    rec.server = `127.0.0.1:${cl.grpcPort}`;
    writeRecord(rec);
    say(`coordinator   pid ${coord.pid}  grpc 127.0.0.1:${cl.grpcPort}${cl.metricsPort > 0 ? `  metrics http://127.0.0.1:${cl.metricsPort}/metrics` : ''}\n`);

    const workers: ProcessRecord[] = [];
    for (let i = 1; i <= n; i++) {
      const id = `worker-${i}`;
      const w = spawnDetached('worker', id, process.execPath, [WORKER_MAIN], join(dir, 'logs', `${id}.log`), {
        ...base,
        ...auth.env('worker'),
        HESSIAN_WORKER_ID: id,
        HESSIAN_WORKER_CAPACITY: String(capacity),
        HESSIAN_BACKEND: backend,
        HESSIAN_GRPC_PORT: '0',
        HESSIAN_METRICS_PORT: '0',
      });
      workers.push(w);
      rec.processes.push(w);
    }
    writeRecord(rec);
    const listening = await Promise.all(workers.map((w) => waitFor(() => listeningLine(w), timeoutMs, () => isAlive(w.pid))));
    listening.forEach((l, i) => {
      const w = workers[i];
      if (l === 'exited' || l === 'timeout')
        fail(`${w.id} ${l === 'exited' ? 'exited during start' : `did not report "listening" within ${timeoutMs / 1000} s`}; see ${w.log}: ${lastLines(w)}`);
      else {
        w.grpcPort = l.grpcPort;
        w.metricsPort = l.metricsPort;
        say(`${w.id.padEnd(12)}  pid ${w.pid}  grpc 127.0.0.1:${w.grpcPort}  backend ${backend}, capacity ${capacity}\n`);
      }
    });
    writeRecord(rec);

    // Ready when the coordinator lists all our workers (they register by heartbeat on NATS).
    const conn = await CoordinatorConnection.connect(rec.server, { ...selfCheckAuth(), deadlineMs: 10_000 });
    let seen = 0;
    let lastError = '';
    try {
      const ok = await waitFor(
        async () => {
          const ws = await conn.listWorkers().catch((e: unknown) => {
            lastError = e instanceof Error ? e.message : String(e);
            return [];
          });
          seen = ws.filter((w) => workers.some((o) => o.id === w.id)).length;
          return seen >= n ? true : null;
        },
        timeoutMs,
        () => rec.processes.every((p) => isAlive(p.pid)),
      );
      if (ok !== true) {
        const dead = rec.processes.filter((p) => !isAlive(p.pid)).map((p) => p.id);
        fail(
          `the coordinator at ${rec.server} sees ${seen} of ${n} workers ${ok === 'exited' ? `(${dead.join(', ')} exited)` : `after ${timeoutMs / 1000} s`}${lastError ? ` (last answer: ${lastError})` : ''}; see the logs in ${join(dir, 'logs')} (coordinator.log, worker-N.log, nats.log)`,
        );
      }
    } finally {
      conn.close();
    }
  } catch (e) {
    // Whatever went wrong (a UserError above, an unreachable coordinator, a bug): stop everything this run started.
    await stopProcesses(rec.processes, 3000);
    rmSync(recordPath(dir), { force: true });
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
      `  HESSIAN_NATS_USER=trainer HESSIAN_NATS_PASSWORD_FILE=${join(auth.dir, 'trainer.password')} HESSIAN_CLUSTER_SECRET_FILE=${join(auth.dir, 'cluster-secret')} \\`,
      `    hessctl train --model zoo:lenet --cluster ${rec.natsUrl} --out runs/lenet     # gradients on the workers`,
      `  hessctl cluster down${dirArg}`,
      '',
    ].join('\n'),
  );
  return 0;
}
