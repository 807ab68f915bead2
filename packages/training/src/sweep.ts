/**
 * Sweeps: one analysis per checkpoint of a training run, and the time series they make:
 * top eigenvalue and trace of the Hessian for the full network and each analyzed layer
 * against the epoch, and each scope's ESD at every epoch.
 *
 * Where each checkpoint is analyzed is injected (`SweepOptions.analyze`): by default the
 * embedded runAnalysis in this process, one checkpoint after the other; hessctl's
 * `sweep --server` passes one that uploads the checkpoint and runs it as a cluster job, with
 * all checkpoints in flight at once (`concurrency`). The series and figures are the same code.
 *
 * A checkpoint whose analysis fails (or is cancelled) does not stop the others: it is listed
 * in `failed` with its sentence, and the series and figures are written from the checkpoints
 * that succeeded.
 *
 * OUT/
 *   sweep.json                    the series (schema hessian-cluster/sweep/v1)
 *   report.md                     the series as tables, the figures, how to read them (as analyze's report.md)
 *   top-eigenvalue.svg, trace.svg one curve per scope against the epoch (@hessian/report's sweepFigures)
 *   esd-<scope>.svg               one curve (log10 density) per epoch
 *   reports/epoch-NNN.json        the full report of each checkpoint (written as each finishes)
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { normalizeSpec, runAnalysis, type AnalysisSpec, type PartialSpec, type Progress, type Report, type RunOptions } from '@hessian/analysis';
import { splitTransform, withTransform } from '@hessian/engine';
import { isUserError, UserError } from '@hessian/linalg';
import { renderSweepMarkdown, sweepFigures, writeFileAtomic } from '@hessian/report';
import { checkpointName, listCheckpoints } from './checkpoint.js';
import { dataTransform, type TrainSpec } from './spec.js';
import type { SweepScopeSeries } from '@hessian/report';
import { readRunSpec } from './trainer.js';

export const SWEEP_SCHEMA = 'hessian-cluster/sweep/v1';

/** One scope's series over the checkpoints: the type the sweep figures draw (@hessian/report). */
export type ScopeSeries = SweepScopeSeries;

/** A checkpoint whose analysis did not succeed, and why (one sentence). */
export interface FailedCheckpoint {
  epoch: number;
  error: string;
  /** true when it was cancelled (SweepOptions.signal) rather than failed */
  cancelled: boolean;
}

export interface Sweep {
  schema: typeof SWEEP_SCHEMA;
  run: string;
  /** the analysis applied to every checkpoint (model = the checkpoint) */
  analysis: Omit<AnalysisSpec, 'model'>;
  /** the epochs whose analysis succeeded (the x axis of every series) */
  epochs: number[];
  scopes: ScopeSeries[];
  /** checkpoints asked for whose analysis failed or was cancelled (not in `epochs`) */
  failed: FailedCheckpoint[];
  seconds: number;
}

/** Which checkpoint, among how many. */
export interface CheckpointInfo {
  epoch: number;
  index: number;
  total: number;
}

/** One checkpoint to analyze: the normalized spec with model = DIR/model.json. */
export interface CheckpointTask extends CheckpointInfo {
  /** the checkpoint folder (model.json, weights.bin) */
  dir: string;
  spec: AnalysisSpec;
  /** aborted: stop and throw (the sweep records the checkpoint as cancelled) */
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

/** Analyzes one checkpoint and returns its report (throws to fail that checkpoint). */
export type AnalyzeCheckpoint = (task: CheckpointTask) => Promise<Report>;

/** The default: runAnalysis in this process. */
export function embeddedAnalyzer(opts: Pick<RunOptions, 'workers' | 'backend'> = {}): AnalyzeCheckpoint {
  return (t) => runAnalysis(t.spec, { workers: opts.workers, backend: opts.backend, signal: t.signal, onProgress: t.onProgress });
}

export interface SweepOptions extends Pick<RunOptions, 'workers' | 'backend'> {
  /** how each checkpoint is analyzed (default: embeddedAnalyzer({ workers, backend })) */
  analyze?: AnalyzeCheckpoint;
  /** checkpoints analyzed at once (default 1; 0: all) */
  concurrency?: number;
  /** awaited once the run and the analysis spec are validated, before any analysis (e.g. to connect); a throw ends the sweep */
  onStart?: (checkpoints: CheckpointInfo[]) => void | Promise<void>;
  /** a checkpoint's analysis starts */
  onCheckpoint?: (info: CheckpointInfo) => void;
  /** a checkpoint's analysis ended: its report, or its error */
  onCheckpointDone?: (info: CheckpointInfo & ({ report: Report; error?: undefined } | { report?: undefined; error: string; cancelled: boolean })) => void;
  onProgress?: (p: Progress, info: CheckpointInfo) => void;
  /** only these epochs (default: every checkpoint) */
  epochs?: number[];
  /** stops the sweep: running analyses get the signal, the rest do not start; all are listed as cancelled */
  signal?: AbortSignal;
}

/**
 * The run's padding and normalization applied to the analysis data (the network was trained on
 * preprocessed inputs; its Hessian on raw ones would be another function). A data spec that
 * names its own options (`?pad=...`) is taken as the user wrote it.
 */
export function withRunPreprocessing(spec: AnalysisSpec, run: TrainSpec): AnalysisSpec {
  const t = dataTransform(run);
  if ((t.pad === 0 && !t.normalize) || splitTransform(spec.data).options !== null) return spec;
  return { ...spec, data: withTransform(spec.data, t) };
}

/** A UserError's sentence; anything else (a bug) keeps its name. */
function errorSentence(e: unknown): string {
  if (isUserError(e)) return e.message;
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** The series of the reports (in epoch order; all from the same analysis spec). */
export function sweepSeries(epochs: number[], reports: Report[]): ScopeSeries[] {
  if (reports.length === 0) return [];
  const names = reports[0].scopes.map((s) => s.name);
  return names.map((name) => {
    const first = reports[0].scopes.find((s) => s.name === name)!;
    const ser: ScopeSeries = { name, kind: first.kind, depth: first.depth, epochs, top: [], topResidual: [], trace: [], traceStderr: [], esd: [] };
    for (const r of reports) {
      const h = r.scopes.find((s) => s.name === name)?.operators.find((o) => o.operator === 'hessian');
      ser.top.push(h?.top ? h.top.values[0] : null);
      ser.topResidual.push(h?.top ? h.top.residuals[0] : null);
      ser.trace.push(h?.trace ? h.trace.mean : null);
      ser.traceStderr.push(h?.trace ? h.trace.stderr : null);
      ser.esd.push(h?.density ? { grid: h.density.grid, logDensity: h.density.logDensity } : null);
    }
    return ser;
  });
}

/**
 * Runs the analysis on every checkpoint of runDir and writes the series under outDir.
 * Errors of the run or the analysis spec (no run, no checkpoint, a bad flag) throw before any
 * work; a checkpoint whose analysis fails is listed in `failed` and the others go on.
 */
export async function runSweep(runDir: string, analysis: Omit<PartialSpec, 'model'>, outDir: string, opts: SweepOptions = {}): Promise<Sweep> {
  const runSpec = await readRunSpec(runDir);
  let cps = await listCheckpoints(runDir);
  if (opts.epochs) {
    const want = new Set(opts.epochs);
    const missing = opts.epochs.filter((e) => !cps.some((c) => c.epoch === e));
    if (missing.length) throw new UserError(`--epochs: run ${runDir} has no checkpoint for epoch ${missing.join(', ')}; it has ${cps.map((c) => c.epoch).join(', ')}.`, 'NOT_FOUND');
    cps = cps.filter((c) => want.has(c.epoch));
  }
  if (cps.length === 0) throw new UserError(`Run ${runDir} has no checkpoints yet; train at least one epoch first.`, 'FAILED_PRECONDITION');
  // Validate the analysis once, before any work.
  const base = withRunPreprocessing(normalizeSpec({ ...analysis, model: path.join(cps[0].dir, 'model.json') }), runSpec);
  const analyze = opts.analyze ?? embeddedAnalyzer({ workers: opts.workers, backend: opts.backend });
  const total = cps.length;
  await opts.onStart?.(cps.map((c, index) => ({ epoch: c.epoch, index, total })));
  const t0 = performance.now();
  await fs.mkdir(path.join(outDir, 'reports'), { recursive: true });
  const reports: (Report | null)[] = cps.map(() => null);
  const failures: (FailedCheckpoint | null)[] = cps.map(() => null);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      const cp = cps[i];
      const info: CheckpointInfo = { epoch: cp.epoch, index: i, total };
      if (opts.signal?.aborted) {
        failures[i] = { epoch: cp.epoch, error: 'not analyzed: the sweep was interrupted', cancelled: true };
        continue;
      }
      opts.onCheckpoint?.(info);
      try {
        const report = await analyze({
          ...info,
          dir: cp.dir,
          spec: { ...base, model: path.join(cp.dir, 'model.json') },
          signal: opts.signal,
          onProgress: opts.onProgress ? (p) => opts.onProgress!(p, info) : undefined,
        });
        reports[i] = report;
        await writeFileAtomic(path.join(outDir, 'reports', `${checkpointName(cp.epoch)}.json`), JSON.stringify(report) + '\n');
        opts.onCheckpointDone?.({ ...info, report });
      } catch (e) {
        const cancelled = opts.signal?.aborted === true;
        const error = errorSentence(e);
        failures[i] = { epoch: cp.epoch, error, cancelled };
        opts.onCheckpointDone?.({ ...info, error, cancelled });
      }
    }
  };
  const lanes = opts.concurrency === 0 ? total : Math.max(1, Math.min(total, opts.concurrency ?? 1));
  await Promise.all(Array.from({ length: lanes }, lane));
  const done = cps.map((c, i) => ({ epoch: c.epoch, report: reports[i] })).filter((x): x is { epoch: number; report: Report } => x.report !== null);
  const epochs = done.map((d) => d.epoch);
  const { model: _m, ...rest } = base;
  void _m;
  const sweep: Sweep = {
    schema: SWEEP_SCHEMA,
    run: path.resolve(runDir),
    analysis: rest,
    epochs,
    scopes: sweepSeries(epochs, done.map((d) => d.report)),
    failed: failures.filter((f): f is FailedCheckpoint => f !== null),
    seconds: (performance.now() - t0) / 1000,
  };
  await writeFileAtomic(path.join(outDir, 'sweep.json'), JSON.stringify(sweep, null, 1) + '\n');
  // The figures and report.md come from @hessian/report, drawn like a single analysis's.
  const figures = sweepFigures(sweep);
  for (const [file, svg] of figures) await writeFileAtomic(path.join(outDir, file), svg);
  await writeFileAtomic(path.join(outDir, 'report.md'), renderSweepMarkdown(sweep, figures.map(([f]) => f)));
  return sweep;
}
