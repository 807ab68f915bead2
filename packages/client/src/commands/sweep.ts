/** `hessctl sweep`: one embedded analysis per checkpoint of a training run, written as time series (JSON + SVG). */
import { runSweep } from '@hessian/training';
import { UserError } from '@hessian/linalg';
import { intFlag, parseFlags, type Command, type Flag } from '../flags.js';
import { ProgressBar } from '../progress.js';
import { analyzeCommand, backendFrom, givenFlags, specFromFlags } from './analyze.js';

/** analyze's analysis flags; the model is each checkpoint, the output a folder of series. */
const NOT_FOR_SWEEP = new Set(['model', 'model-seed', 'server', 'scope', 'embedded', 'out', 'format', 'quiet', 'help']);
const analysisFlags: Flag[] = analyzeCommand.flags.filter((f) => !NOT_FOR_SWEEP.has(f.name));

export const sweepCommand: Command = {
  name: 'sweep',
  summary: 'analyze every checkpoint of a training run: top eigenvalue, trace and ESD per layer against the epoch (embedded)',
  usage: 'hessctl sweep --run DIR --out DIR2 [analysis flags as for analyze]',
  flags: [
    { name: 'run', type: 'string', arg: 'DIR', help: 'the --out folder of a hessctl train run (required)' },
    { name: 'out', type: 'string', arg: 'DIR2', help: 'where sweep.json, top-eigenvalue.svg, trace.svg, esd-LAYER.svg and reports/epoch-NNN.json go (required)' },
    { name: 'epochs', type: 'string', arg: 'LIST', help: 'only these checkpoints, e.g. 0,5,10 (default: all)' },
    ...analysisFlags,
    { name: 'quiet', short: 'q', type: 'boolean', help: 'no progress on stderr' },
    { name: 'help', short: 'h', type: 'boolean', help: 'show this help' },
  ],
  examples: [
    'hessctl sweep --run runs/lenet-sgd --data fashion-mnist:train[0:256] --top-k 1 --trace-probes 50 --density-runs 3 --out sweeps/lenet-sgd',
  ],
};

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
  const { model: _model, ...analysis } = specFromFlags({ ...values, model: '<checkpoint>' }, givenFlags(argv));
  void _model;
  const quiet = values.quiet === true;
  const workers = intFlag(values, 'workers', 1, 64) ?? 1;
  let bar: ProgressBar | null = null;
  const sweep = await runSweep(run, analysis, out, {
    workers,
    backend: backendFrom(values, argv),
    epochs,
    onCheckpoint: (c) => {
      bar?.done();
      if (!quiet) process.stderr.write(`checkpoint epoch ${c.epoch} (${c.index + 1}/${c.total})\n`);
      bar = new ProgressBar(process.stderr, !quiet);
    },
    onProgress: (p) => bar?.update(p),
  });
  (bar as ProgressBar | null)?.done();
  const rows = [['scope', ...sweep.epochs.map((e) => `e${e} top / trace`)]];
  for (const s of sweep.scopes)
    rows.push([s.name, ...s.epochs.map((_, i) => `${s.top[i] === null ? '-' : s.top[i]!.toPrecision(3)} / ${s.trace[i] === null ? '-' : s.trace[i]!.toPrecision(3)}`)]);
  const w = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  process.stdout.write(rows.map((r) => r.map((c, j) => (j === 0 ? c.padEnd(w[j]) : c.padStart(w[j]))).join('  ')).join('\n') + '\n');
  process.stdout.write(`\n${sweep.epochs.length} checkpoints analyzed in ${sweep.seconds.toFixed(1)} s; series in ${out}/sweep.json, figures in ${out}/\n`);
  return 0;
}
