/**
 * `hessctl sweep`: one analysis per checkpoint of a training run, written as time series
 * (JSON + SVG). Embedded by default (one checkpoint after the other in this process); with
 * `--server` (or HESSIAN_SERVER) every checkpoint is uploaded and submitted to the coordinator
 * at once and the jobs run on the cluster's workers (sweep-remote.ts). Both paths share
 * runSweep (@hessian/training): the same series, figures and reports.
 */
import { runSweep, type CheckpointInfo } from '@hessian/training';
import { UserError } from '@hessian/linalg';
import { choice, givenFlags, intFlag, parseFlags, type Command, type Flag, type Values } from '../flags.js';
import { ProgressBar } from '../progress.js';
import type { CoordinatorConnection, Scope } from '../grpc-client.js';
import type { SweepProgress } from './sweep-remote.js';
import { analyzeCommand, analyzeServer, backendFrom, shardsFlag, specFromFlags } from './analyze.js';
import { checkOutDir } from './output.js';

/** analyze's analysis flags (TLS and token flags included); the model is each checkpoint, the output a folder of series. */
const NOT_FOR_SWEEP = new Set(['model', 'model-seed', 'out', 'format', 'quiet', 'help', 'dry-run']);

const SERVER: Flag = {
  name: 'server',
  type: 'string',
  arg: 'HOST:PORT',
  help: "run on a cluster: upload every checkpoint to the coordinator at HOST:PORT, submit all their analyses at once (the coordinator queues them and spreads their tasks over its workers), follow them, write the same series (default: $HESSIAN_SERVER when set, else run embedded in this process)",
};
const MAX_JOBS: Flag = {
  name: 'max-jobs',
  type: 'string',
  arg: 'N',
  default: '0',
  help: "with --server: at most N checkpoints' jobs submitted and unfinished at once (0: all; the coordinator's HESSIAN_QUEUE_LIMIT refuses more than 100 queued jobs by default)",
};

const analysisFlags: Flag[] = analyzeCommand.flags
  .filter((f) => !NOT_FOR_SWEEP.has(f.name))
  .flatMap((f) => (f.name === 'server' ? [SERVER] : f.name === 'scope' ? [f, MAX_JOBS] : [f]));

export const sweepCommand: Command = {
  name: 'sweep',
  summary: 'analyze every checkpoint of a training run: top eigenvalue, trace and ESD per layer against the epoch (embedded, or on a cluster with --server)',
  usage: 'hessctl sweep --run DIR --out DIR2 [analysis flags as for analyze] [--server HOST:PORT]',
  flags: [
    { name: 'run', type: 'string', arg: 'DIR', help: "the --out folder of a hessctl train run (required); its --pad/--normalize are applied to --data (the run's statistics)" },
    { name: 'out', type: 'string', arg: 'DIR2', help: 'where sweep.json, top-eigenvalue.svg, trace.svg, esd-LAYER.svg and reports/epoch-NNN.json go (required)' },
    { name: 'epochs', type: 'string', arg: 'LIST', help: 'only these checkpoints, e.g. 0,5,10 (default: all)' },
    ...analysisFlags,
    { name: 'quiet', short: 'q', type: 'boolean', help: 'no progress on stderr' },
    { name: 'help', short: 'h', type: 'boolean', help: 'show this help' },
  ],
  examples: [
    'hessctl sweep --run runs/lenet-sgd --data fashion-mnist:train[0:256] --top-k 1 --trace-probes 50 --density-runs 3 --out sweeps/lenet-sgd',
    'hessctl sweep --run runs/lenet-sgd --top-k 1 --out sweeps/lenet-sgd --server 127.0.0.1:7070   (on a cluster: `hessctl cluster up`)',
  ],
};

/** Writes a line on stderr, clearing a progress bar drawn on a terminal. */
function say(quiet: boolean, line: string): void {
  if (!quiet) process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}${line}\n`);
}

export async function sweepCmd(argv: string[]): Promise<number> {
  const { values } = parseFlags(sweepCommand, argv);
  const run = typeof values.run === 'string' ? values.run.trim() : '';
  const out = typeof values.out === 'string' ? values.out.trim() : '';
  if (run === '') throw new UserError('--run is required: give the --out folder of a hessctl train run');
  if (out === '') throw new UserError('--out is required: give the folder for the sweep (sweep.json and SVG figures)');
  let epochs: number[] | undefined;
  if (typeof values.epochs === 'string') {
    const parts = values.epochs.split(',').map((s) => s.trim());
    if (parts.some((p) => !/^\d+$/.test(p))) throw new UserError(`--epochs: "${values.epochs}" is not a comma-separated list of epoch numbers, e.g. 0,5,10`);
    epochs = parts.map(Number);
  }
  const given = givenFlags(argv);
  const server = analyzeServer(values);
  const scope = (choice(values, 'scope', ['batch', 'dataset'] as const) ?? 'batch') as Scope;
  if (server === undefined && given.has('shards')) throw new UserError('--shards: splits the examples of --scope dataset over cluster workers: give --server HOST:PORT (or set HESSIAN_SERVER)');
  const shards = server !== undefined ? shardsFlag(values, scope) : 0;
  const maxJobs = intFlag(values, 'max-jobs', 0, 100000) ?? 0;
  if (server !== undefined) {
    for (const f of ['workers', 'backend'])
      if (given.has(f)) throw new UserError(`--${f}: applies to the embedded sweep only; with --server the cluster's workers run the tasks (see \`hessctl workers\`)`);
  } else {
    if (given.has('scope') && scope !== 'batch') throw new UserError('--scope dataset shards the examples over cluster workers: give --server HOST:PORT (or set HESSIAN_SERVER)');
    if (given.has('max-jobs')) throw new UserError('--max-jobs: applies to a sweep on a cluster; give --server HOST:PORT (or set HESSIAN_SERVER)');
  }
  const { model: _model, ...analysis } = specFromFlags({ ...values, model: '<checkpoint>' }, given);
  void _model;
  const quiet = values.quiet === true;

  const stop = new AbortController();
  const onSigint = () => {
    say(false, `interrupted: ${server !== undefined ? "cancelling the sweep's jobs" : 'stopping'}; what has finished is written (Ctrl-C again to quit at once)`);
    stop.abort();
  };
  process.once('SIGINT', onSigint);
  let conn: CoordinatorConnection | null = null;
  try {
    const sweep =
      server !== undefined
        ? await remoteSweep(server, values, run, analysis, out, { epochs, scope, shards, maxJobs, quiet, signal: stop.signal, setConn: (c) => (conn = c) })
        : await embeddedSweep(values, argv, run, analysis, out, epochs, quiet, stop.signal);
    if (sweep.epochs.length > 0) {
      const rows = [['scope', ...sweep.epochs.map((e) => `e${e} top / trace`)]];
      for (const s of sweep.scopes)
        rows.push([s.name, ...s.epochs.map((_, i) => `${s.top[i] === null ? '-' : s.top[i]!.toPrecision(3)} / ${s.trace[i] === null ? '-' : s.trace[i]!.toPrecision(3)}`)]);
      const w = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
      process.stdout.write(rows.map((r) => r.map((c, j) => (j === 0 ? c.padEnd(w[j]) : c.padStart(w[j]))).join('  ')).join('\n') + '\n\n');
    }
    const where = server !== undefined ? ` on ${server}` : '';
    process.stdout.write(`${sweep.epochs.length} checkpoint${sweep.epochs.length === 1 ? '' : 's'} analyzed${where} in ${sweep.seconds.toFixed(1)} s; series in ${out}/sweep.json, figures in ${out}/\n`);
    if (sweep.failed.length === 0) return 0;
    // One line per distinct sentence (an embedded data/model mismatch fails every checkpoint alike).
    const groups = new Map<string, number[]>();
    for (const f of sweep.failed) {
      const key = `${f.cancelled ? 'not finished' : 'failed'}: ${f.error}`;
      groups.set(key, [...(groups.get(key) ?? []), f.epoch]);
    }
    for (const [what, es] of groups) process.stderr.write(`hessctl: epoch${es.length > 1 ? 's' : ''} ${es.join(', ')} ${what}\n`);
    process.stderr.write(
      `hessctl: ${sweep.failed.length} of ${sweep.failed.length + sweep.epochs.length} checkpoints have no analysis; sweep.json lists them under "failed"` +
        (stop.signal.aborted || sweep.epochs.length === 0 ? '\n' : `; rerun them with --epochs ${sweep.failed.map((f) => f.epoch).join(',')} --out ANOTHER_DIR\n`),
    );
    return stop.signal.aborted ? 130 : 1;
  } finally {
    process.removeListener('SIGINT', onSigint);
    (conn as CoordinatorConnection | null)?.close();
  }
}

type Analysis = Parameters<typeof runSweep>[1];

function embeddedSweep(values: Values, argv: string[], run: string, analysis: Analysis, out: string, epochs: number[] | undefined, quiet: boolean, signal: AbortSignal) {
  const workers = intFlag(values, 'workers', 1, 64) ?? 1;
  let bar: ProgressBar | null = null;
  return runSweep(run, analysis, out, {
    workers,
    backend: backendFrom(values, argv),
    epochs,
    signal,
    onStart: () => checkOutDir('out', out),
    onCheckpoint: (c) => {
      bar?.done();
      if (!quiet) process.stderr.write(`checkpoint epoch ${c.epoch} (${c.index + 1}/${c.total})\n`);
      bar = new ProgressBar(process.stderr, !quiet);
    },
    onProgress: (p) => bar?.update(p),
    onCheckpointDone: () => {
      bar?.done();
      bar = null;
    },
  });
}

interface RemoteSweepOptions {
  epochs: number[] | undefined;
  scope: Scope;
  shards: number;
  maxJobs: number;
  quiet: boolean;
  signal: AbortSignal;
  setConn: (c: CoordinatorConnection) => void;
}

async function remoteSweep(server: string, values: Values, run: string, analysis: Analysis, out: string, o: RemoteSweepOptions) {
  // Loaded only here: the embedded sweep never loads gRPC.
  const { connectTo } = await import('./remote-common.js');
  const remote = await import('./sweep-remote.js');
  let agg: SweepProgress | null = null;
  const bar = new ProgressBar(process.stderr, !o.quiet);
  const jobs = new Map<number, string>();
  const started = new Map<number, number>();
  const label = (c: CheckpointInfo) => `epoch ${c.epoch} (${c.index + 1}/${c.total})`;
  const analyzer = (c: CoordinatorConnection) =>
    remote.remoteAnalyzer(c, {
      scope: o.scope,
      shards: o.shards,
      onSubmitted: (t, id) => {
        jobs.set(t.index, id);
        say(o.quiet, `${label(t)}: job ${id}`);
      },
      onNote: (t, note) => say(o.quiet, `${label(t)}: ${note}`),
      onReconnect: (t, r) => say(o.quiet, `${label(t)}: lost the coordinator (${r.error}); reconnecting, resuming after event ${r.afterSequence}`),
    });
  let analyze: ReturnType<typeof analyzer> | null = null;
  // Connecting in onStart: a missing run or a bad analysis flag is reported before an unreachable coordinator.
  const sweep = await runSweep(run, analysis, out, {
    epochs: o.epochs,
    concurrency: o.maxJobs,
    signal: o.signal,
    onStart: async (cps) => {
      await checkOutDir('out', out);
      const conn = await connectTo(server, values);
      o.setConn(conn);
      analyze = analyzer(conn);
      agg = new remote.SweepProgress(cps.length);
      say(o.quiet, `sweep of ${cps.length} checkpoint${cps.length === 1 ? '' : 's'} (epochs ${cps.map((c) => c.epoch).join(', ')}) on ${conn.address} (scope ${o.scope})`);
    },
    analyze: (t) => analyze!(t),
    onCheckpoint: (c) => started.set(c.index, performance.now()),
    onProgress: (p, c) => bar.update(agg!.update(c.index, p)),
    onCheckpointDone: (d) => {
      const secs = ((performance.now() - (started.get(d.index) ?? performance.now())) / 1000).toFixed(1);
      const job = jobs.get(d.index);
      if (d.report) say(o.quiet, `${label(d)}: succeeded${job ? ` (job ${job})` : ''} in ${secs} s`);
      else say(o.quiet, `${label(d)}: ${d.cancelled ? 'stopped' : 'FAILED'}: ${d.error}`);
    },
  });
  bar.done();
  return sweep;
}
