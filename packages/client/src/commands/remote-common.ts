/**
 * What the cluster commands share: the --server flag and its resolution, one connection per
 * command, the job's progress in the embedded run's terms, a report out of a job, and a job
 * as JSON. Each command lives in its own file (submit.ts, watch.ts, get.ts, ...).
 */
import type { PartialSpec, Progress, Report } from '@hessian/analysis';
import { UserError } from '@hessian/linalg';
import { specFromProto, type ProtoProgressOutput } from '@hessian/wire';
import type { Command, Flag, Values } from '../flags.js';
import { CoordinatorConnection, TERMINAL_STATES, type Job, type JobEvent } from '../grpc-client.js';
import { formatDuration } from '../progress.js';
import { authOptions } from './auth.js';

export const DEFAULT_SERVER = '127.0.0.1:7070';

export const SERVER_FLAG: Flag = {
  name: 'server',
  type: 'string',
  arg: 'HOST:PORT',
  help: `address of the coordinator (default: $HESSIAN_SERVER when set, else ${DEFAULT_SERVER}; \`hessctl cluster up\` starts one)`,
};
export const HELP_FLAG: Flag = { name: 'help', short: 'h', type: 'boolean', help: 'show this help' };
export const SCOPE_FLAG: Flag = {
  name: 'scope',
  type: 'string',
  arg: 'S',
  default: 'batch',
  help: 'batch (every worker holds all examples; tasks are spread over workers) | dataset (examples sharded over the workers, each HVP a sum over shards: for data sets larger than one worker)',
};

/** The coordinator address: --server, else HESSIAN_SERVER, else `fallback` (undefined: none). */
export function resolveServer(values: Values, env: NodeJS.ProcessEnv = process.env, fallback: string | undefined = DEFAULT_SERVER): string | undefined {
  if (typeof values.server === 'string') {
    if (values.server.trim() === '') throw new UserError('--server: is empty; give HOST:PORT of the coordinator, e.g. 127.0.0.1:7070');
    return values.server.trim();
  }
  const e = env.HESSIAN_SERVER?.trim();
  if (e) return e;
  return fallback;
}

export function connectTo(server: string, values: Values = {}): Promise<CoordinatorConnection> {
  const ms = Number(process.env.HESSIAN_CONNECT_TIMEOUT_MS ?? 10_000);
  return CoordinatorConnection.connect(server, { ...authOptions(values), deadlineMs: Number.isFinite(ms) && ms > 0 ? ms : 10_000 });
}

export async function withConnection<T>(values: Values, fn: (c: CoordinatorConnection) => Promise<T>): Promise<T> {
  const conn = await connectTo(resolveServer(values)!, values);
  try {
    return await fn(conn);
  } finally {
    conn.close();
  }
}

/** Cluster progress -> the embedded run's Progress, so the same bar shows both. */
export function toProgress(p: ProtoProgressOutput | null | undefined): Progress {
  const done = (p?.tasksDone ?? 0) + (p?.tasksSkipped ?? 0);
  const eta = Number(p?.etaSeconds ?? -1);
  return {
    tasksDone: p?.tasksDone ?? 0,
    tasksSkipped: p?.tasksSkipped ?? 0,
    tasksTotal: p?.tasksTotal ?? 0,
    hvps: Number(p?.hvps ?? 0),
    costDone: done,
    costTotal: p?.tasksTotal ?? 0,
    elapsedSeconds: Number(p?.elapsedSeconds ?? 0),
    etaSeconds: eta >= 0 && Number.isFinite(eta) ? eta : null,
  };
}

/**
 * A stored job's progress as of now. The coordinator writes progress (and updatedAt) when a task
 * ends, so during a long first task the record says "elapsed 0": for a RUNNING job, the time
 * since updatedAt is added to elapsed and taken off the ETA.
 */
export function liveProgress(job: Pick<Job, 'state' | 'progress' | 'updatedAt'>, now = Date.now()): Progress {
  const p = toProgress(job.progress);
  const at = Date.parse(job.updatedAt);
  if (job.state !== 'RUNNING' || !Number.isFinite(at)) return p;
  const since = Math.max(0, (now - at) / 1000);
  return { ...p, elapsedSeconds: p.elapsedSeconds + since, etaSeconds: p.etaSeconds === null ? null : Math.max(0, p.etaSeconds - since) };
}

export function progressText(p: ProtoProgressOutput | Progress | null | undefined): string {
  const q = p && 'costDone' in p ? p : toProgress(p);
  return `tasks ${q.tasksDone + q.tasksSkipped}/${q.tasksTotal}  HVPs ${q.hvps}  elapsed ${formatDuration(q.elapsedSeconds)}  ETA ${formatDuration(q.etaSeconds)}`;
}

/** A model given as a path (not zoo: or sha256:) is uploaded first. */
export function isModelPath(model: string): boolean {
  return !/^(zoo|sha256):/.test(model);
}

export function parseReport(job: Job): Report {
  if (!job.reportJson) throw new Error(`job ${job.id} is SUCCEEDED but the coordinator sent no report`);
  const r = JSON.parse(job.reportJson) as Report;
  if (r.schema !== 'hessian-cluster/report/v1') throw new Error(`job ${job.id}: report schema "${String(r.schema)}" is not hessian-cluster/report/v1`);
  return r;
}

/** Uploads the model when it is a path; returns the spec with the model's digest. */
export async function resolveModel(conn: CoordinatorConnection, spec: PartialSpec, quiet: boolean): Promise<PartialSpec> {
  if (!isModelPath(spec.model)) return spec;
  const up = await conn.uploadModel(spec.model);
  if (!quiet) process.stderr.write(`uploaded ${spec.model} (${up.files.length} files, ${up.bytes} bytes) as ${up.digest}\n`);
  return { ...spec, model: up.digest };
}

export function noteEvent(ev: JobEvent): string | null {
  if (ev.type === 'task-retry' || ev.type === 'task-redispatched')
    return `${ev.type} ${ev.taskId}${ev.worker ? ` (worker ${ev.worker})` : ''}${ev.message ? `: ${ev.message}` : ''}`;
  return null;
}

/** A job as JSON for people and scripts: the spec in the analysis package's terms, the report parsed. */
export function jobJson(job: Job): Record<string, unknown> {
  const { reportJson, spec, ...rest } = job;
  return {
    ...rest,
    spec: spec ? specFromProto(spec) : null,
    ...(reportJson ? { report: JSON.parse(reportJson) as Report } : {}),
  };
}

export function oneId(cmd: Command, positionals: string[]): string {
  if (positionals.length !== 1 || !positionals[0].trim()) throw new UserError(`give exactly one job id: ${cmd.usage} (see \`hessctl jobs\`)`);
  return positionals[0].trim();
}

/** Left-aligned first columns, right-aligned numbers. */
export function table(rows: string[][], right: Set<number> = new Set()): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (right.has(i) ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ').trimEnd()).join('\n') + '\n';
}

/** Is a job over? */
export function isTerminal(job: Job): boolean {
  return TERMINAL_STATES.has(job.state);
}
