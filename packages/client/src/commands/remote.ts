/**
 * hessctl against a cluster: `analyze --server`, submit, watch, get, cancel, jobs, workers,
 * upload-model. All of them talk to the coordinator through CoordinatorConnection.
 */
import { normalizeSpec, type PartialSpec, type Progress, type Report } from '@hessian/analysis';
import { UserError } from '@hessian/linalg';
import { writeReportDir } from '@hessian/report';
import type { ProtoProgressOutput } from '@hessian/wire';
import { specFromProto } from '@hessian/wire';
import { intFlag, parseFlags, type Command, type Flag, type Values } from '../flags.js';
import { CoordinatorConnection, TERMINAL_STATES, type Job, type JobEvent, type Scope, type WorkerInfo } from '../grpc-client.js';
import { formatDuration, ProgressBar } from '../progress.js';
import { analyzeCommand, choice, givenFlags, specFromFlags } from './analyze.js';
import { emitReport } from './output.js';
import { AUTH_FLAG_NAMES, AUTH_FLAGS, authOptions } from './auth.js';

export const DEFAULT_SERVER = '127.0.0.1:7070';

export const SERVER_FLAG: Flag = {
  name: 'server',
  type: 'string',
  arg: 'HOST:PORT',
  help: `address of the coordinator (default: $HESSIAN_SERVER when set, else ${DEFAULT_SERVER}; \`hessctl cluster up\` starts one)`,
};
const HELP_FLAG: Flag = { name: 'help', short: 'h', type: 'boolean', help: 'show this help' };
const SCOPE_FLAG: Flag = {
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

async function withConnection<T>(values: Values, fn: (c: CoordinatorConnection) => Promise<T>): Promise<T> {
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

export function progressText(p: ProtoProgressOutput | null | undefined): string {
  const q = toProgress(p);
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
async function resolveModel(conn: CoordinatorConnection, spec: PartialSpec, quiet: boolean): Promise<PartialSpec> {
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

/** `hessctl analyze --server`: submit, follow with the progress bar, print like the embedded run. */
export async function analyzeRemote(server: string, values: Values, argv: string[]): Promise<number> {
  const given = givenFlags(argv);
  for (const f of ['workers', 'backend'])
    if (given.has(f)) throw new UserError(`--${f}: applies to the embedded run only; with --server the cluster's workers run the tasks (see \`hessctl workers\`)`);
  const format = choice(values, 'format', ['table', 'json'] as const) ?? 'table';
  const scope = (choice(values, 'scope', ['batch', 'dataset'] as const) ?? 'batch') as Scope;
  const quiet = values.quiet === true;
  const partial = specFromFlags(values, given);
  normalizeSpec(partial); // the same sentences as the embedded run, before anything is sent
  const conn = await connectTo(server, values);
  const stopWatch = new AbortController();
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
    process.stderr.write('\ninterrupted: cancelling the job\n');
    stopWatch.abort();
  };
  try {
    const spec = normalizeSpec(await resolveModel(conn, partial, quiet));
    const job = await conn.submitAnalysis(spec, { scope });
    if (!quiet) process.stderr.write(`job ${job.id} on ${conn.address} (scope ${scope}); follow it elsewhere with \`hessctl watch ${job.id}\`\n`);
    process.once('SIGINT', onSigint);
    const bar = new ProgressBar(process.stderr, !quiet);
    for await (const ev of conn.watchJob(job.id, {
      signal: stopWatch.signal,
      onReconnect: (r) => !quiet && process.stderr.write(`\nlost the coordinator (${r.error}); reconnecting, resuming after event ${r.afterSequence}\n`),
    })) {
      if (ev.progress) bar.update(toProgress(ev.progress));
      const note = noteEvent(ev);
      if (note && !quiet) process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}${note}\n`);
    }
    bar.done();
    if (interrupted) {
      const c = await conn.cancelJob(job.id);
      process.stderr.write(`job ${job.id}: ${c.state}\n`);
      return 130;
    }
    const final = await conn.getJob(job.id, { includeReport: true });
    if (final.state === 'SUCCEEDED') {
      await emitReport(parseReport(final), values, format, quiet);
      return 0;
    }
    process.stderr.write(`hessctl: job ${job.id} ${final.state === 'CANCELLED' ? 'was cancelled' : `failed: ${final.error || 'no reason given'}`}\n`);
    return 1;
  } finally {
    process.removeListener('SIGINT', onSigint);
    conn.close();
  }
}

// ---------------------------------------------------------------- submit

const NOT_FOR_SUBMIT = new Set(['workers', 'backend', 'out', 'format', 'quiet', 'help', 'server', 'scope', 'embedded']);

export const submitCommand: Command = {
  name: 'submit',
  summary: 'submit an analysis to the cluster and print its job id (follow it with `hessctl watch ID`)',
  usage: 'hessctl submit --model zoo:NAME|PATH/model.json [--data SPEC] [analysis flags] [--server HOST:PORT]',
  flags: [
    ...analyzeCommand.flags.filter((f) => !NOT_FOR_SUBMIT.has(f.name) && !AUTH_FLAG_NAMES.has(f.name)),
    SERVER_FLAG,
    ...AUTH_FLAGS,
    SCOPE_FLAG,
    { name: 'format', type: 'string', arg: 'F', default: 'id', help: 'id (the job id alone) | json (the job as the coordinator returned it)' },
    { name: 'quiet', short: 'q', type: 'boolean', help: 'nothing on stderr' },
    HELP_FLAG,
  ],
  examples: ['hessctl submit --model zoo:lenet --data fashion-mnist:train[0:256]', 'ID=$(hessctl submit --model zoo:mlp) && hessctl watch $ID'],
};

export async function submit(argv: string[]): Promise<number> {
  const { values } = parseFlags(submitCommand, argv);
  const format = choice(values, 'format', ['id', 'json'] as const) ?? 'id';
  const scope = (choice(values, 'scope', ['batch', 'dataset'] as const) ?? 'batch') as Scope;
  const partial = specFromFlags(values, givenFlags(argv));
  normalizeSpec(partial);
  return withConnection(values, async (conn) => {
    const spec = normalizeSpec(await resolveModel(conn, partial, values.quiet === true));
    const job = await conn.submitAnalysis(spec, { scope });
    process.stdout.write(format === 'json' ? JSON.stringify(jobJson(job), null, 2) + '\n' : `${job.id}\n`);
    return 0;
  });
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

// ---------------------------------------------------------------- watch

export const watchCommand: Command = {
  name: 'watch',
  summary: "follow a job's events until it ends (exit 0 when it succeeded, 1 when it failed or was cancelled)",
  usage: 'hessctl watch ID [--after N] [--format lines|json] [--server HOST:PORT]',
  positionals: true,
  flags: [
    SERVER_FLAG,
    ...AUTH_FLAGS,
    { name: 'after', type: 'string', arg: 'N', default: '0', help: 'show only events after sequence number N (0: from the start)' },
    { name: 'format', type: 'string', arg: 'F', default: 'lines', help: 'lines (time, type, task, worker, message) | json (one JSON event per line)' },
    HELP_FLAG,
  ],
  examples: ['hessctl watch 3f2c9e1a', 'hessctl watch 3f2c9e1a --format json | jq .type'],
};

function oneId(cmd: Command, positionals: string[]): string {
  if (positionals.length !== 1 || !positionals[0].trim()) throw new UserError(`give exactly one job id: ${cmd.usage} (see \`hessctl jobs\`)`);
  return positionals[0].trim();
}

function shortTime(t: string): string {
  return /^\d{4}-\d\d-\d\dT/.test(t) ? t.slice(11, 23) : t;
}

/** A partial result, e.g. {"scope":"conv1","trace":{"mean":..,"stderr":..,"probes":..}}, in a few words. */
export function partialText(json: string): string {
  try {
    const p = JSON.parse(json) as Record<string, unknown>;
    const parts: string[] = [];
    if (typeof p.scope === 'string') parts.push(p.scope);
    for (const [k, v] of Object.entries(p)) {
      if (k === 'scope') continue;
      const o = v as Record<string, unknown> | null;
      if (o && typeof o === 'object' && typeof o.mean === 'number')
        parts.push(`${k} ${o.mean.toPrecision(5)}${typeof o.stderr === 'number' ? ` ± ${o.stderr.toPrecision(2)}` : ''}${typeof o.probes === 'number' ? ` (${o.probes} probes)` : ''}`);
      else parts.push(`${k} ${JSON.stringify(v)}`);
    }
    return parts.join(' ');
  } catch {
    return json;
  }
}

export function eventLine(ev: JobEvent): string {
  const msg =
    ev.message ||
    (ev.partialJson ? partialText(ev.partialJson) : '') ||
    (ev.type === 'progress' || ev.type === 'task-done' ? progressText(ev.progress) : '') ||
    (ev.state && ev.state !== 'JOB_STATE_UNSPECIFIED' ? ev.state : '');
  return [shortTime(ev.time).padEnd(12), ev.type.padEnd(17), (ev.taskId || '-').padEnd(24), (ev.worker || '-').padEnd(10), msg].join(' ').trimEnd();
}

export async function watch(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(watchCommand, argv);
  const id = oneId(watchCommand, positionals);
  const after = intFlag(values, 'after', 0) ?? 0;
  const format = choice(values, 'format', ['lines', 'json'] as const) ?? 'lines';
  return withConnection(values, async (conn) => {
    let last: JobEvent | null = null;
    for await (const ev of conn.watchJob(id, {
      afterSequence: after,
      onReconnect: (r) => process.stderr.write(`lost the coordinator (${r.error}); reconnecting, resuming after event ${r.afterSequence}\n`),
    })) {
      last = ev;
      process.stdout.write(format === 'json' ? JSON.stringify(ev) + '\n' : eventLine(ev) + '\n');
    }
    const state = last && ['succeeded', 'failed', 'cancelled'].includes(last.type) ? last.type : (await conn.getJob(id)).state.toLowerCase();
    return state === 'succeeded' ? 0 : 1;
  });
}

// ---------------------------------------------------------------- get

export const getCommand: Command = {
  name: 'get',
  summary: "show a job's state and progress; --report prints its report once it has succeeded",
  usage: 'hessctl get ID [--report] [--out DIR] [--format table|json] [--server HOST:PORT]',
  positionals: true,
  flags: [
    SERVER_FLAG,
    ...AUTH_FLAGS,
    { name: 'report', type: 'boolean', help: 'print the report (the same table as `hessctl analyze`; with --format json, the report JSON)' },
    { name: 'out', type: 'string', arg: 'DIR', help: 'write report.json, report.md and SVG figures here (the job must have succeeded)' },
    { name: 'format', type: 'string', arg: 'F', default: 'table', help: 'table | json' },
    HELP_FLAG,
  ],
  examples: ['hessctl get 3f2c9e1a', 'hessctl get 3f2c9e1a --report --out reports/lenet'],
};

export function jobSummary(job: Job): string {
  const spec = job.spec;
  const rows: [string, string][] = [
    ['job', job.id],
    ['state', job.state],
    ['model', spec?.model ?? ''],
    ['data', spec?.data || '(default)'],
    ['scope', spec?.scope || 'batch'],
    ['progress', progressText(job.progress)],
    ['created', job.createdAt],
    ['updated', job.updatedAt],
  ];
  if (job.error) rows.push(['error', job.error]);
  return rows.map(([k, v]) => `${k.padEnd(10)}${v}`).join('\n') + '\n';
}

export async function get(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(getCommand, argv);
  const id = oneId(getCommand, positionals);
  const format = choice(values, 'format', ['table', 'json'] as const) ?? 'table';
  const wantReport = values.report === true || typeof values.out === 'string';
  return withConnection(values, async (conn) => {
    const job = await conn.getJob(id, { includeReport: wantReport });
    if (!wantReport) {
      process.stdout.write(format === 'json' ? JSON.stringify(jobJson(job), null, 2) + '\n' : jobSummary(job));
      return 0;
    }
    if (job.state !== 'SUCCEEDED')
      throw new UserError(
        `job ${id} is ${job.state}${job.error ? ` (${job.error})` : ''}; a report exists once it has SUCCEEDED (follow it with \`hessctl watch ${id}\`)`,
        'FAILED_PRECONDITION',
      );
    const report = parseReport(job);
    if (values.report === true) await emitReport(report, values, format, false);
    else if (typeof values.out === 'string') {
      const written = await writeReportDir(report, values.out);
      process.stderr.write(`wrote ${written.join(', ')}\n`);
    }
    return 0;
  });
}

// ---------------------------------------------------------------- cancel

export const cancelCommand: Command = {
  name: 'cancel',
  summary: 'cancel a queued or running job (its workers stop its tasks)',
  usage: 'hessctl cancel ID [--server HOST:PORT]',
  positionals: true,
  flags: [SERVER_FLAG, ...AUTH_FLAGS, HELP_FLAG],
};

export async function cancel(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(cancelCommand, argv);
  const id = oneId(cancelCommand, positionals);
  return withConnection(values, async (conn) => {
    const job = await conn.cancelJob(id);
    process.stdout.write(`job ${job.id}: ${job.state}\n`);
    return 0;
  });
}

// ---------------------------------------------------------------- jobs

export const jobsCommand: Command = {
  name: 'jobs',
  summary: 'list the jobs of the cluster, newest first',
  usage: 'hessctl jobs [--limit N] [--format table|json] [--server HOST:PORT]',
  flags: [
    SERVER_FLAG,
    ...AUTH_FLAGS,
    { name: 'limit', type: 'string', arg: 'N', default: '20', help: 'at most N jobs (0: all the coordinator keeps)' },
    { name: 'format', type: 'string', arg: 'F', default: 'table', help: 'table | json' },
    HELP_FLAG,
  ],
};

/** Left-aligned first columns, right-aligned numbers. */
export function table(rows: string[][], right: Set<number> = new Set()): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (right.has(i) ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ').trimEnd()).join('\n') + '\n';
}

export function jobsTable(jobs: Job[]): string {
  if (jobs.length === 0) return 'no jobs\n';
  return table(
    [
      ['id', 'state', 'model', 'data', 'scope', 'tasks', 'HVPs', 'elapsed', 'created'],
      ...jobs.map((j) => {
        const p = toProgress(j.progress);
        return [j.id, j.state, j.spec?.model ?? '', j.spec?.data || '(default)', j.spec?.scope || 'batch', `${p.tasksDone + p.tasksSkipped}/${p.tasksTotal}`, String(p.hvps), formatDuration(p.elapsedSeconds), j.createdAt];
      }),
    ],
    new Set([5, 6, 7]),
  );
}

export async function jobs(argv: string[]): Promise<number> {
  const { values } = parseFlags(jobsCommand, argv);
  const limit = intFlag(values, 'limit', 0, 100000) ?? 20;
  const format = choice(values, 'format', ['table', 'json'] as const) ?? 'table';
  return withConnection(values, async (conn) => {
    const list = await conn.listJobs(limit);
    process.stdout.write(format === 'json' ? JSON.stringify(list.map(jobJson), null, 2) + '\n' : jobsTable(list));
    return 0;
  });
}

// ---------------------------------------------------------------- workers

export const workersCommand: Command = {
  name: 'workers',
  summary: 'list the live workers the coordinator sees (from their heartbeats)',
  usage: 'hessctl workers [--format table|json] [--server HOST:PORT]',
  flags: [SERVER_FLAG, ...AUTH_FLAGS, { name: 'format', type: 'string', arg: 'F', default: 'table', help: 'table | json' }, HELP_FLAG],
};

export function fmtBytes(n: number): string {
  if (!n) return '-';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let x = n;
  while (x >= 1024 && i < u.length - 1) {
    x /= 1024;
    i++;
  }
  return `${x.toFixed(i === 0 ? 0 : 1)} ${u[i]}`;
}

export function heartbeatAge(iso: string, now = Date.now()): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return iso || '-';
  return `${Math.max(0, (now - t) / 1000).toFixed(1)}s ago`;
}

export function workersTable(ws: WorkerInfo[], now = Date.now()): string {
  if (ws.length === 0) return 'no live workers (start some with `hessctl cluster up --workers N`)\n';
  return table(
    [
      ['id', 'address', 'backend', 'device', 'capacity', 'running', 'memory', 'last heartbeat'],
      ...ws.map((w) => [w.id, w.address, w.backend, w.device || '-', String(w.capacity), String(w.running), fmtBytes(Number(w.memoryBytes)), heartbeatAge(w.lastHeartbeat, now)]),
    ],
    new Set([4, 5, 6]),
  );
}

export async function workers(argv: string[]): Promise<number> {
  const { values } = parseFlags(workersCommand, argv);
  const format = choice(values, 'format', ['table', 'json'] as const) ?? 'table';
  return withConnection(values, async (conn) => {
    const list = await conn.listWorkers();
    process.stdout.write(format === 'json' ? JSON.stringify(list, null, 2) + '\n' : workersTable(list));
    return 0;
  });
}

// ---------------------------------------------------------------- upload-model

export const uploadModelCommand: Command = {
  name: 'upload-model',
  summary: 'upload a tfjs model (model.json and its weight files) to the cluster and print its digest (use it as --model)',
  usage: 'hessctl upload-model PATH/model.json [--name NAME] [--server HOST:PORT]',
  positionals: true,
  flags: [
    SERVER_FLAG,
    ...AUTH_FLAGS,
    { name: 'name', type: 'string', arg: 'NAME', help: "a name for the model in the coordinator's store (default: the folder name of model.json)" },
    { name: 'quiet', short: 'q', type: 'boolean', help: 'print the digest alone, nothing on stderr' },
    HELP_FLAG,
  ],
  examples: ['hessctl upload-model ./my-model/model.json', 'hessctl submit --model $(hessctl upload-model ./my-model/model.json -q)'],
};

export async function uploadModel(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(uploadModelCommand, argv);
  if (positionals.length !== 1) throw new UserError(`give exactly one model.json: ${uploadModelCommand.usage}`);
  return withConnection(values, async (conn) => {
    const up = await conn.uploadModel(positionals[0], { name: typeof values.name === 'string' ? values.name : undefined });
    if (values.quiet !== true) process.stderr.write(`uploaded ${up.files.join(', ')} (${up.bytes} bytes)\n`);
    process.stdout.write(`${up.digest}\n`);
    return 0;
  });
}

/** Is a job over? */
export function isTerminal(job: Job): boolean {
  return TERMINAL_STATES.has(job.state);
}
