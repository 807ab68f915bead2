/** The report's figures, built from the primitives in svg.ts. Each returns a standalone SVG document. */
import type { OperatorName, Report, ScopeReport } from '@hessian/analysis';
import { OPERATOR_TITLE, op, operatorsIn, orderedScopes } from './format.js';
import { lineChart, panel, type LineChartSeries, type PlotSeries } from './chart.js';
import { GREY, type LegendItem, color, emptyFigure, isNum, legend, svgDoc, text } from './svg.js';

const OP_COLOR: Record<OperatorName, string> = { hessian: '#1f77b4', 'gauss-newton': '#ff7f0e', residual: '#2ca02c' };
const OP_DASH: Record<OperatorName, string | undefined> = { hessian: undefined, 'gauss-newton': '6 3', residual: '2 3' };

function subtitle(report: Report): string {
  return `${report.model.name || report.model.spec} \u00b7 ${report.data.spec} \u00b7 ${report.loss} \u00b7 convention ${report.convention}`;
}

/** Title and grey subtitle at the top of every figure (a report's and a sweep's). */
export function header(width: number, title: string, sub: string): string {
  return (
    text(width / 2, 22, title, { size: 14, anchor: 'middle', weight: 'bold' }) +
    text(width / 2, 40, sub, { size: 11, anchor: 'middle', fill: GREY })
  );
}

/** Colour of a scope: grey for the full network, the palette by layer index otherwise. */
function scopeColors(report: Report): Map<string, string> {
  const m = new Map<string, string>();
  let i = 0;
  for (const s of report.scopes) m.set(s.name + '\u0000' + s.kind, s.kind === 'full' ? GREY : color(i++));
  return m;
}

function colorOf(colors: Map<string, string>, s: ScopeReport): string {
  return colors.get(s.name + '\u0000' + s.kind) ?? GREY;
}

function scopeLabel(s: ScopeReport): string {
  return s.kind === 'full' ? 'full network' : s.name;
}

interface Curve {
  grid: number[];
  logDensity: number[];
}

function curveOf(s: ScopeReport, name: OperatorName): Curve | null {
  const d = op(s, name)?.density;
  if (!d || !Array.isArray(d.grid) || d.grid.length === 0) return null;
  let ld = Array.isArray(d.logDensity) && d.logDensity.length === d.grid.length ? d.logDensity : null;
  if (!ld && Array.isArray(d.density) && d.density.length === d.grid.length) ld = d.density.map((v) => Math.log10(Math.max(v, 1e-30)));
  if (!ld) return null;
  if (!d.grid.some((x, i) => isNum(x) && isNum(ld[i]))) return null;
  return { grid: d.grid, logDensity: gapAtFloor(ld) };
}

/**
 * Where the smoothed density is zero, log density sits on its floor (log10 of the floor the
 * density preset adds): drawn, that is a flat segment along the bottom of the axis that looks
 * like data. The points on that floor (its minimum, repeated) become gaps in the line.
 */
export function gapAtFloor(logDensity: number[]): number[] {
  let lo = Infinity;
  for (const v of logDensity) if (isNum(v) && v < lo) lo = v;
  const atFloor = (v: number) => isNum(v) && v - lo <= 1e-9 * Math.max(1, Math.abs(lo));
  if (logDensity.filter(atFloor).length < 2) return logDensity;
  return logDensity.map((v) => (atFloor(v) ? NaN : v));
}

function range(xs: number[]): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of xs) {
    if (!isNum(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : null;
}

export function hasEsd(report: Report, name: OperatorName = 'hessian'): boolean {
  return report.scopes.some((s) => curveOf(s, name) !== null);
}
export function hasTop(report: Report, name: OperatorName = 'hessian'): boolean {
  return report.scopes.some((s) => (op(s, name)?.top?.values ?? []).some(isNum));
}
export function hasTrace(report: Report, name: OperatorName = 'hessian'): boolean {
  return report.scopes.some((s) => isNum(op(s, name)?.trace?.mean));
}
export function hasSimilarity(report: Report): boolean {
  return report.scopes.some((s) => s.operators.some((o) => isNum(o.similarity?.wasserstein1) || isNum(o.similarity?.jensenShannon)));
}

/**
 * Small multiples: one panel per layer with its ESD (log10 density against eigenvalue, in
 * colour) and the full network's (grey, dashed) overlaid, as in the paper's figures.
 */
export function esdFigure(report: Report, operator: OperatorName = 'hessian'): string {
  const title = `Eigenvalue spectral density \u2014 ${OPERATOR_TITLE[operator]}`;
  const full = report.scopes.find((s) => s.kind === 'full');
  const fullCurve = full ? curveOf(full, operator) : null;
  const layers = report.scopes.filter((s) => s.kind !== 'full');
  const withCurve = layers.map((s) => ({ s, c: curveOf(s, operator) })).filter((x): x is { s: ScopeReport; c: Curve } => x.c !== null);
  const missing = layers.filter((s) => curveOf(s, operator) === null).map((s) => s.name);
  if (withCurve.length === 0 && !fullCurve) return emptyFigure(title, 'no density was computed for this operator');
  const colors = scopeColors(report);

  const panels: { name: string; className: string; color: string; curve: Curve | null }[] =
    withCurve.length > 0
      ? withCurve.map(({ s, c }) => ({ name: s.name, className: s.className, color: colorOf(colors, s), curve: c }))
      : [{ name: 'full network', className: full?.className ?? '', color: GREY, curve: null }];

  const count = panels.length;
  const cols = count <= 3 ? count : count === 4 ? 2 : Math.min(4, Math.ceil(Math.sqrt(count)));
  const rows = Math.ceil(count / cols);
  const pw = 330;
  const ph = 250;
  const width = cols * pw + 20;
  const items: LegendItem[] = [];
  if (withCurve.length > 0) items.push({ label: 'layer (colour per layer)', color: withCurve.length === 1 ? panels[0].color : '#333333' });
  if (fullCurve) items.push({ label: 'full network', color: GREY, dash: '5 3' });
  const lg = legend(items, 24, 60, width - 48);
  const top = 60 + lg.height;
  const foot = missing.length > 0 ? 22 : 8;
  const height = top + rows * ph + foot;

  const parts: string[] = [header(width, title, subtitle(report)), lg.svg];
  panels.forEach((p, i) => {
    const r = Math.floor(i / cols);
    const c = i % cols;
    const series: PlotSeries[] = [];
    const xs: number[] = [];
    if (fullCurve) {
      series.push({ x: fullCurve.grid, y: fullCurve.logDensity, color: GREY, dash: '5 3', width: 1.3 });
      xs.push(...fullCurve.grid);
    }
    if (p.curve) {
      series.push({ x: p.curve.grid, y: p.curve.logDensity, color: p.color, width: 1.7 });
      xs.push(...p.curve.grid);
    }
    const xr = range(xs) ?? [0, 1];
    const res = panel({
      x: 10 + c * pw,
      y: top + r * ph,
      width: pw,
      height: ph,
      id: `esd-${operator}-${i}`,
      title: p.className ? `${p.name} (${p.className})` : p.name,
      titleColor: p.color === GREY ? '#333333' : p.color,
      xLabel: r === rows - 1 || i + cols >= count ? 'eigenvalue' : undefined,
      yLabel: c === 0 ? 'density (log scale)' : undefined,
      yIsLog10: true,
      maxDecades: 12,
      xDomain: xr,
      series,
    });
    parts.push(res.svg);
  });
  if (missing.length > 0)
    parts.push(text(24, height - 8, `no density for: ${missing.join(', ')}`, { size: 10, fill: GREY, italic: true }));
  return svgDoc(width, height, parts.join('\n'), title);
}

function categoryWidth(count: number): number {
  return Math.max(520, Math.min(1200, 140 + 78 * count));
}

/** Lollipop chart of the top eigenvalue per scope (full network first), with λ2..λk as open dots; log y when the values span more than 2 decades. */
export function topEigenvalueFigure(report: Report, operator: OperatorName = 'hessian'): string {
  const title = `Top eigenvalues per layer \u2014 ${OPERATOR_TITLE[operator]}`;
  const scopes = orderedScopes(report).filter((s) => (op(s, operator)?.top?.values ?? []).some(isNum));
  if (scopes.length === 0) return emptyFigure(title, 'no eigenvalues were computed for this operator');
  const colors = scopeColors(report);
  const firsts = scopes.map((s) => op(s, operator)?.top?.values[0]).filter(isNum);
  const all = scopes.flatMap((s) => (op(s, operator)?.top?.values ?? []).filter(isNum));
  const pos = all.filter((v) => v > 0);
  const logY = firsts.length > 0 && firsts.every((v) => v > 0) && pos.length > 0 && Math.max(...pos) / Math.min(...pos) > 100;
  const dropped = logY ? all.filter((v) => v <= 0).length : 0;
  const series: PlotSeries[] = [];
  let maxK = 1;
  scopes.forEach((s, i) => {
    const t = op(s, operator)?.top;
    if (!t) return;
    const c = colorOf(colors, s);
    maxK = Math.max(maxK, t.values.length);
    series.push({ x: [i], y: [t.values[0]], yErr: [t.residuals?.[0]], color: c, line: false, marker: 'circle', markerSize: 5, stems: true });
    if (t.values.length > 1)
      series.push({ x: t.values.slice(1).map(() => i), y: t.values.slice(1), color: c, line: false, marker: 'open-circle', markerSize: 3.5 });
  });
  const width = categoryWidth(scopes.length);
  const height = 430;
  const items: LegendItem[] = [{ label: '\u03bb1 (error bar: Ritz residual)', color: '#333333', marker: 'circle', line: false }];
  if (maxK > 1) items.push({ label: `\u03bb2 \u2026 \u03bb${maxK}`, color: '#333333', marker: 'open-circle', line: false });
  const lg = legend(items, 70, 60, width - 90);
  const p = panel({
    x: 4,
    y: 60 + lg.height,
    width: width - 8,
    height: height - 60 - lg.height - (dropped ? 18 : 4),
    id: `top-${operator}`,
    yLabel: logY ? 'eigenvalue (log scale)' : 'eigenvalue',
    logY,
    yIncludeZero: !logY,
    xCategories: scopes.map(scopeLabel),
    series,
  });
  const parts = [header(width, title, subtitle(report)), lg.svg, p.svg];
  if (dropped) parts.push(text(20, height - 6, `${dropped} non-positive eigenvalue(s) not shown on the log axis`, { size: 10, fill: GREY, italic: true }));
  return svgDoc(width, height, parts.join('\n'), title);
}

/** Trace per scope: Hutchinson mean with ±2 SE error bars (and the full-network-probe estimate beside it when present). */
export function traceFigure(report: Report, operator: OperatorName = 'hessian'): string {
  const title = `Trace per layer (mean \u00b1 2 SE) \u2014 ${OPERATOR_TITLE[operator]}`;
  const scopes = orderedScopes(report).filter((s) => isNum(op(s, operator)?.trace?.mean) || isNum(op(s, operator)?.traceFromFullProbes?.mean));
  if (scopes.length === 0) return emptyFigure(title, 'no trace was computed for this operator');
  const colors = scopeColors(report);
  const means = scopes.flatMap((s) => [op(s, operator)?.trace?.mean, op(s, operator)?.traceFromFullProbes?.mean]).filter(isNum);
  const logY = means.length > 0 && means.every((v) => v > 0) && Math.max(...means) / Math.min(...means) > 100;
  const anyFull = scopes.some((s) => isNum(op(s, operator)?.traceFromFullProbes?.mean));
  const series: PlotSeries[] = [];
  scopes.forEach((s, i) => {
    const o = op(s, operator);
    const c = colorOf(colors, s);
    const t = o?.trace;
    const f = o?.traceFromFullProbes;
    const both = isNum(t?.mean) && isNum(f?.mean);
    if (t && isNum(t.mean))
      series.push({ x: [i], y: [t.mean], yErr: [isNum(t.stderr) ? 2 * t.stderr : null], color: c, line: false, marker: 'circle', markerSize: 4.5, dx: both ? -7 : 0 });
    if (f && isNum(f.mean))
      series.push({ x: [i], y: [f.mean], yErr: [isNum(f.stderr) ? 2 * f.stderr : null], color: c, line: false, marker: 'open-diamond', markerSize: 4, dx: both ? 7 : 0 });
  });
  const width = categoryWidth(scopes.length);
  const height = 430;
  const items: LegendItem[] = [{ label: `${scopes.map((s) => op(s, operator)?.trace?.method).find((m) => m) ?? 'Hutchinson'} (per block)`, color: '#333333', marker: 'circle', line: false }];
  if (anyFull) items.push({ label: 'from full-network probes', color: '#333333', marker: 'open-diamond', line: false });
  const lg = legend(items, 70, 60, width - 90);
  const p = panel({
    x: 4,
    y: 60 + lg.height,
    width: width - 8,
    height: height - 60 - lg.height - 4,
    id: `trace-${operator}`,
    yLabel: logY ? 'trace (log scale)' : 'trace',
    logY,
    yIncludeZero: !logY,
    xCategories: scopes.map(scopeLabel),
    series,
  });
  return svgDoc(width, height, [header(width, title, subtitle(report)), lg.svg, p.svg].join('\n'), title);
}

/** Two panels (W1, JS): distance of each layer's ESD to the full network's against normalized depth, one line per operator. */
export function similarityFigure(report: Report): string {
  const title = 'Distance of each layer\u2019s ESD to the full network\u2019s, by depth';
  if (!hasSimilarity(report)) return emptyFigure(title, 'no similarity was computed');
  const layers = report.scopes.filter((s) => s.kind !== 'full');
  const depthOf = (s: ScopeReport, i: number): number => (isNum(s.depth) ? s.depth : layers.length > 1 ? i / (layers.length - 1) : 0.5);
  const ordered = layers.map((s, i) => ({ s, d: depthOf(s, i) })).sort((a, b) => a.d - b.d);
  const ops = operatorsIn(report).filter((name) => ordered.some(({ s }) => op(s, name)?.similarity !== undefined));
  const build = (metric: 'wasserstein1' | 'jensenShannon'): PlotSeries[] =>
    ops.map((name, j) => {
      const pts = ordered.filter(({ s }) => isNum(op(s, name)?.similarity?.[metric]));
      return {
        label: OPERATOR_TITLE[name],
        x: pts.map((p) => p.d),
        y: pts.map(({ s }) => op(s, name)?.similarity?.[metric] ?? NaN),
        color: OP_COLOR[name],
        dash: OP_DASH[name],
        marker: 'circle',
        markerSize: 4,
        pointLabels: j === 0 ? pts.map(({ s }) => s.name) : undefined,
      };
    });
  const pw = 440;
  const width = 2 * pw + 20;
  const height = 420;
  const items: LegendItem[] = ops.map((name) => ({ label: OPERATOR_TITLE[name], color: OP_COLOR[name], dash: OP_DASH[name], marker: 'circle' }));
  const lg = legend(items, 70, 60, width - 90);
  const y0 = 60 + lg.height;
  const common = { y: y0, width: pw, height: height - y0 - 4, xDomain: [-0.06, 1.12] as [number, number], xLabel: 'normalized depth (0 = first layer, 1 = last)', yIncludeZero: true };
  const a = panel({ ...common, x: 10, id: 'sim-w1', title: 'Wasserstein-1 distance', yLabel: 'W1 to full network', series: build('wasserstein1') });
  const b = panel({ ...common, x: 10 + pw, id: 'sim-js', title: 'Jensen-Shannon divergence', yLabel: 'JS to full network (nats)', series: build('jensenShannon') });
  return svgDoc(width, height, [header(width, title, subtitle(report)), lg.svg, a.svg, b.svg].join('\n'), title);
}

export interface TimeSeries {
  label: string;
  x: number[];
  y: number[];
  yErr?: number[];
}

/** A generic line chart for sweeps (e.g. a quantity per epoch), ±yErr bars where given. */
export function timeSeriesFigure(series: TimeSeries[], opts: { title: string; xLabel: string; yLabel: string; logY?: boolean }): string {
  const s: LineChartSeries[] = series.map((t, i) => ({ label: t.label, x: t.x, y: t.y, yErr: t.yErr, color: color(i) }));
  return lineChart(s, opts);
}
