/**
 * A sweep's figures (one analysis per checkpoint of a training run), drawn like a report's
 * (figures.ts): the same header with a subtitle, panels, legend, colours (full network grey,
 * layers by palette), ± 2 SE error bars and log-density panels with the zero-density floor
 * left out; the x axis is the epoch, with whole-number ticks.
 *
 * `SweepData` is the shape of `Sweep` (@hessian/training) that the figures read; training
 * imports this package, so the type is declared here and training's Sweep satisfies it.
 */
import type { AnalysisSpec } from '@hessian/analysis';
import { gapAtFloor, header } from './figures.js';
import { panel, type PlotSeries } from './chart.js';
import { GREY, type LegendItem, color, isNum, legend, svgDoc } from './svg.js';
import { niceNum } from './ticks.js';

export interface SweepScopeSeries {
  name: string;
  kind: 'full' | 'layer';
  depth: number | null;
  epochs: number[];
  top: (number | null)[];
  topResidual: (number | null)[];
  trace: (number | null)[];
  traceStderr: (number | null)[];
  esd: ({ grid: number[]; logDensity: number[] } | null)[];
}

export interface SweepData {
  run: string;
  analysis: Omit<AnalysisSpec, 'model'>;
  epochs: number[];
  scopes: SweepScopeSeries[];
  failed: { epoch: number; error: string; cancelled: boolean }[];
  seconds: number;
}

export function sweepSubtitle(s: SweepData): string {
  const run = s.run.split(/[\\/]/).filter(Boolean).pop() ?? s.run;
  return `run ${run} \u00b7 ${s.analysis.data} \u00b7 ${s.analysis.loss} \u00b7 convention ${s.analysis.convention}`;
}

export function fileSafe(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_');
}

function scopeColor(s: SweepData, scope: SweepScopeSeries): string {
  return scope.kind === 'full' ? GREY : color(s.scopes.filter((x) => x.kind !== 'full').indexOf(scope));
}

function scopeLabel(scope: SweepScopeSeries): string {
  return scope.kind === 'full' ? 'full network' : scope.name;
}

/** Epoch axis: the epochs' range (half an epoch of margin for one epoch) with whole-number ticks only. */
function epochAxis(epochs: number[]): { xDomain: [number, number]; xTicks: number } {
  const lo = Math.min(...epochs);
  const hi = Math.max(...epochs);
  if (hi - lo < 1) return { xDomain: [lo - 0.5, hi + 0.5], xTicks: 2 };
  // svg.ts steps by niceNum(niceNum(span) / (ticks - 1)): with ticks - 1 <= niceNum(span) the step is
  // at least 1 (never 0.5), and exactly 1 for spans up to 5 epochs.
  const pad = (hi - lo) * 0.04;
  return { xDomain: [lo - pad, hi + pad], xTicks: Math.min(6, niceNum(hi - lo + 2 * pad, false) + 1) };
}

interface LineOpts {
  file: string;
  title: string;
  yLabel: string;
  pick: (s: SweepScopeSeries) => (number | null)[];
  err: (s: SweepScopeSeries, i: number) => number | null;
  errLabel: string;
}

/** One line per scope against the epoch, error bars from `err`; log y when all positive and spanning more than 2 decades (as a report's figures). */
function epochLines(s: SweepData, o: LineOpts): [string, string] | null {
  const scopes = s.scopes.filter((sc) => o.pick(sc).some(isNum));
  if (scopes.length === 0) return null;
  const all = scopes.flatMap((sc) => o.pick(sc).filter(isNum));
  const logY = all.every((v) => v > 0) && Math.max(...all) / Math.min(...all) > 100;
  const series: PlotSeries[] = scopes.map((sc) => {
    const y = o.pick(sc);
    const keep = y.map((v, i) => (isNum(v) ? i : -1)).filter((i) => i >= 0);
    return {
      label: scopeLabel(sc),
      x: keep.map((i) => sc.epochs[i]),
      y: keep.map((i) => y[i] as number),
      yErr: keep.map((i) => o.err(sc, i)),
      color: scopeColor(s, sc),
      dash: sc.kind === 'full' ? '5 3' : undefined,
      marker: 'circle',
      markerSize: 3.5,
    };
  });
  const width = 760;
  const height = 440;
  const items: LegendItem[] = scopes.map((sc) => ({ label: scopeLabel(sc), color: scopeColor(s, sc), dash: sc.kind === 'full' ? '5 3' : undefined, marker: 'circle' }));
  items.push({ label: o.errLabel, color: '#333333', line: false });
  const lg = legend(items, 70, 60, width - 90);
  const p = panel({
    x: 4,
    y: 60 + lg.height,
    width: width - 8,
    height: height - 60 - lg.height - 4,
    id: fileSafe(o.file),
    xLabel: 'epoch',
    yLabel: logY ? `${o.yLabel} (log scale)` : o.yLabel,
    logY,
    yIncludeZero: !logY,
    ...epochAxis(s.epochs),
    series,
  });
  return [o.file, svgDoc(width, height, [header(width, o.title, sweepSubtitle(s)), lg.svg, p.svg].join('\n'), o.title)];
}

/** A scope's ESD at every epoch: one curve per epoch, light (early) to dark (late), log density without the zero-density floor. */
function esdOverEpochs(s: SweepData, sc: SweepScopeSeries): [string, string] | null {
  const curves = sc.esd.map((d, i) => (d ? { epoch: sc.epochs[i], d } : null)).filter((c): c is { epoch: number; d: { grid: number[]; logDensity: number[] } } => c !== null);
  if (curves.length === 0) return null;
  const title = `Eigenvalue spectral density during training \u2014 ${sc.kind === 'full' ? 'full network' : `layer ${sc.name}`}`;
  // Opacity from 0.35 (first epoch) to 1 (last) in the scope's colour: later epochs on top.
  const base = sc.kind === 'full' ? '#1f3b57' : scopeColor(s, sc);
  const series: PlotSeries[] = curves.map((c, j) => ({
    label: `epoch ${c.epoch}`,
    x: c.d.grid,
    y: gapAtFloor(c.d.logDensity),
    color: base,
    width: 1.5,
    opacity: curves.length === 1 ? 1 : 0.35 + (0.65 * j) / (curves.length - 1),
  }));
  const width = 760;
  const height = 460;
  const items: LegendItem[] = [`epoch ${curves[0].epoch} (light)`, ...(curves.length > 1 ? [`epoch ${curves[curves.length - 1].epoch} (dark)`] : [])].map((label) => ({ label, color: base }));
  const lg = legend(items, 70, 60, width - 90);
  const xs = curves.flatMap((c) => c.d.grid.filter(isNum));
  const p = panel({
    x: 4,
    y: 60 + lg.height,
    width: width - 8,
    height: height - 60 - lg.height - 4,
    id: `esd-${fileSafe(sc.name)}`,
    xLabel: 'eigenvalue',
    yLabel: 'density (log scale)',
    yIsLog10: true,
    maxDecades: 12,
    xDomain: [Math.min(...xs), Math.max(...xs)],
    series,
  });
  return [`esd-${fileSafe(sc.name)}.svg`, svgDoc(width, height, [header(width, title, sweepSubtitle(s)), lg.svg, p.svg].join('\n'), title)];
}

/** The figures of a sweep: [file name, SVG]. */
export function sweepFigures(s: SweepData): [string, string][] {
  if (s.epochs.length === 0) return [];
  const out: [string, string][] = [];
  const top = epochLines(s, {
    file: 'top-eigenvalue.svg',
    title: 'Top Hessian eigenvalue per layer during training',
    yLabel: '\u03bb1',
    pick: (sc) => sc.top,
    err: (sc, i) => sc.topResidual[i],
    errLabel: 'error bar: Ritz residual',
  });
  if (top) out.push(top);
  const tr = epochLines(s, {
    file: 'trace.svg',
    title: 'Hessian trace per layer during training (mean \u00b1 2 SE)',
    yLabel: 'trace',
    pick: (sc) => sc.trace,
    err: (sc, i) => (isNum(sc.traceStderr[i]) ? 2 * (sc.traceStderr[i] as number) : null),
    errLabel: 'error bar: \u00b1 2 standard errors',
  });
  if (tr) out.push(tr);
  for (const sc of s.scopes) {
    const f = esdOverEpochs(s, sc);
    if (f) out.push(f);
  }
  return out;
}
