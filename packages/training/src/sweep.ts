/**
 * Sweeps: one embedded analysis (runAnalysis) per checkpoint of a training run, and the
 * time series they make: top eigenvalue and trace of the Hessian for the full network and
 * each analyzed layer against the epoch, and each scope's ESD at every epoch.
 *
 * OUT/
 *   sweep.json                    the series (schema hessian-cluster/sweep/v1)
 *   top-eigenvalue.svg, trace.svg one curve per scope against the epoch
 *   esd-<scope>.svg               one curve (log10 density) per epoch
 *   reports/epoch-NNN.json        the full report of each checkpoint
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { normalizeSpec, runAnalysis, type AnalysisSpec, type PartialSpec, type Progress, type Report, type RunOptions } from '@hessian/analysis';
import { UserError } from '@hessian/linalg';
import { timeSeriesFigure, writeFileAtomic, type TimeSeries } from '@hessian/report';
import { checkpointName, listCheckpoints } from './checkpoint.js';
import { readRunSpec } from './trainer.js';

export const SWEEP_SCHEMA = 'hessian-cluster/sweep/v1';

export interface ScopeSeries {
  name: string;
  kind: 'full' | 'layer';
  depth: number | null;
  epochs: number[];
  /** largest Hessian eigenvalue (null where top-k was off) */
  top: (number | null)[];
  topResidual: (number | null)[];
  trace: (number | null)[];
  traceStderr: (number | null)[];
  /** per epoch: grid and log10 density (null where density was off) */
  esd: ({ grid: number[]; logDensity: number[] } | null)[];
}

export interface Sweep {
  schema: typeof SWEEP_SCHEMA;
  run: string;
  /** the analysis applied to every checkpoint (model = the checkpoint) */
  analysis: Omit<AnalysisSpec, 'model'>;
  epochs: number[];
  scopes: ScopeSeries[];
  seconds: number;
}

export interface SweepOptions extends Pick<RunOptions, 'workers' | 'backend'> {
  onCheckpoint?: (info: { epoch: number; index: number; total: number }) => void;
  onProgress?: (p: Progress) => void;
  /** only these epochs (default: every checkpoint) */
  epochs?: number[];
}

function fileSafe(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** Runs the analysis on every checkpoint of runDir and writes the series under outDir. */
export async function runSweep(runDir: string, analysis: Omit<PartialSpec, 'model'>, outDir: string, opts: SweepOptions = {}): Promise<Sweep> {
  await readRunSpec(runDir);
  let cps = await listCheckpoints(runDir);
  if (opts.epochs) {
    const want = new Set(opts.epochs);
    const missing = opts.epochs.filter((e) => !cps.some((c) => c.epoch === e));
    if (missing.length) throw new UserError(`--epochs: run ${runDir} has no checkpoint for epoch ${missing.join(', ')}; it has ${cps.map((c) => c.epoch).join(', ')}.`, 'NOT_FOUND');
    cps = cps.filter((c) => want.has(c.epoch));
  }
  if (cps.length === 0) throw new UserError(`Run ${runDir} has no checkpoints yet; train at least one epoch first.`, 'FAILED_PRECONDITION');
  // Validate the analysis once, before any work.
  const base = normalizeSpec({ ...analysis, model: path.join(cps[0].dir, 'model.json') });
  const t0 = performance.now();
  await fs.mkdir(path.join(outDir, 'reports'), { recursive: true });
  const reports: Report[] = [];
  for (const [i, cp] of cps.entries()) {
    opts.onCheckpoint?.({ epoch: cp.epoch, index: i, total: cps.length });
    const spec = { ...base, model: path.join(cp.dir, 'model.json') };
    const report = await runAnalysis(spec, { workers: opts.workers, backend: opts.backend, onProgress: opts.onProgress });
    reports.push(report);
    await writeFileAtomic(path.join(outDir, 'reports', `${checkpointName(cp.epoch)}.json`), JSON.stringify(report) + '\n');
  }
  const epochs = cps.map((c) => c.epoch);
  const names = reports[0].scopes.map((s) => s.name);
  const scopes: ScopeSeries[] = names.map((name) => {
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
  const { model: _m, ...rest } = base;
  void _m;
  const sweep: Sweep = { schema: SWEEP_SCHEMA, run: path.resolve(runDir), analysis: rest, epochs, scopes, seconds: (performance.now() - t0) / 1000 };
  await writeFileAtomic(path.join(outDir, 'sweep.json'), JSON.stringify(sweep, null, 1) + '\n');
  for (const [file, svg] of sweepFigures(sweep)) await writeFileAtomic(path.join(outDir, file), svg);
  return sweep;
}

/** The figures of a sweep: [file name, SVG]. */
export function sweepFigures(sweep: Sweep): [string, string][] {
  const out: [string, string][] = [];
  const series = (pick: (s: ScopeSeries) => (number | null)[], err?: (s: ScopeSeries) => (number | null)[]): TimeSeries[] =>
    sweep.scopes
      .map((s) => {
        const y = pick(s);
        const keep = y.map((v, i) => (v === null ? -1 : i)).filter((i) => i >= 0);
        const e = err?.(s);
        return {
          label: s.name,
          x: keep.map((i) => s.epochs[i]),
          y: keep.map((i) => y[i] as number),
          ...(e ? { yErr: keep.map((i) => e[i] ?? 0) } : {}),
        };
      })
      .filter((t) => t.x.length > 0);
  const positive = (ts: TimeSeries[]): boolean => ts.every((t) => t.y.every((v) => v > 0));
  const top = series((s) => s.top);
  if (top.length) out.push(['top-eigenvalue.svg', timeSeriesFigure(top, { title: 'Top Hessian eigenvalue during training', xLabel: 'epoch', yLabel: 'lambda_max', logY: positive(top) })]);
  const tr = series((s) => s.trace, (s) => s.traceStderr);
  if (tr.length) out.push(['trace.svg', timeSeriesFigure(tr, { title: 'Hessian trace during training (Hutchinson, +- stderr)', xLabel: 'epoch', yLabel: 'trace', logY: positive(tr) })]);
  for (const s of sweep.scopes) {
    const curves: TimeSeries[] = [];
    s.esd.forEach((d, i) => {
      if (d) curves.push({ label: `epoch ${s.epochs[i]}`, x: d.grid, y: d.logDensity });
    });
    if (curves.length) out.push([`esd-${fileSafe(s.name)}.svg`, timeSeriesFigure(curves, { title: `ESD of ${s.kind === 'full' ? 'the full network' : `layer ${s.name}`} over epochs`, xLabel: 'eigenvalue', yLabel: 'log10 density' })]);
  }
  return out;
}
