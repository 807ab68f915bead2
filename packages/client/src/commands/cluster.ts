/**
 * `hessctl cluster up|down|status`: a local development cluster as background processes
 * (nats-server with JetStream, the coordinator, N workers), recorded in DIR/cluster.json
 * with logs in DIR/logs. Production runs on Kubernetes (k8s/); this is the same services,
 * started by hand.
 */
import { UserError } from '@hessian/linalg';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { choice, intFlag, parseFlags, type Command } from '../flags.js';
import { CoordinatorConnection } from '../grpc-client.js';
import { clusterCredentials, clusterCredentialsCommand } from './cluster-credentials.js';
import { clusterUp, clusterUpCommand, CLUSTER_DIR_FLAG as DIR_FLAG, CLUSTER_HELP_FLAG as HELP_FLAG, selfCheckAuth } from './cluster-up.js';
import { isAlive, isOurs, readRecord, recordPath, stopProcesses, type ProcessRecord } from './cluster-process.js';
import { table } from './remote-common.js';

export { clusterUpCommand } from './cluster-up.js';
export { findNatsServer } from '@hessian/wire';
export { COORDINATOR_MAIN, WORKER_MAIN, REPO_ROOT, isAlive, isOurs, readRecord, stopProcesses, portFree, freePort, listeningLine, type ClusterRecord, type ProcessRecord } from './cluster-process.js';

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
  summary: 'a local development cluster: cluster up | cluster down | cluster status | cluster credentials',
  usage: 'hessctl cluster up|down|status|credentials [flags]      hessctl cluster SUBCOMMAND --help for its flags',
  flags: [HELP_FLAG],
};

const SUBCOMMANDS: Record<string, Command> = { up: clusterUpCommand, down: clusterDownCommand, status: clusterStatusCommand, credentials: clusterCredentialsCommand };

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
    ...Object.entries(SUBCOMMANDS).map(([k, c]) => `  ${k.padEnd(12)}${c.summary}`),
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
  if (sub === 'credentials') return clusterCredentials(rest);
  throw new UserError(`cluster: ${sub ? `unknown subcommand "${sub}"` : 'missing subcommand'}; give up, down, status or credentials (see \`hessctl cluster --help\`)`);
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
  // Ask the address itself, whatever the pids say: the answer (or its error) is the truth a client meets.
  let registered: string[] | null = null;
  let why = '';
  try {
    const conn = await CoordinatorConnection.connect(rec.server, { ...selfCheckAuth(), deadlineMs: 3000 });
    try {
      registered = (await conn.listWorkers()).map((w) => w.id);
    } finally {
      conn.close();
    }
  } catch (e) {
    why = e instanceof Error ? e.message : String(e);
  }
  const coordAlive = procs.find((p) => p.role === 'coordinator')?.alive === true;
  const allUp = procs.every((p) => p.alive) && registered !== null;
  if (format === 'json') {
    process.stdout.write(JSON.stringify({ ...rec, running: allUp, processes: procs, registeredWorkers: registered, ...(why ? { coordinatorError: why } : {}) }, null, 2) + '\n');
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
  const n = registered?.length ?? 0;
  process.stdout.write(
    registered === null
      ? `the coordinator at ${rec.server} does not answer${coordAlive ? '' : ` (its process, pid ${procs.find((p) => p.role === 'coordinator')?.pid ?? '?'}, is not running)`}: ${why}; see ${join(dir, 'logs', 'coordinator.log')}\n`
      : `the coordinator at ${rec.server} answers${coordAlive ? '' : ' (not the process `cluster up` started: that one is stopped)'}; ${n} worker${n === 1 ? '' : 's'} registered (export HESSIAN_SERVER=${rec.server})\n`,
  );
  return allUp ? 0 : 1;
}
