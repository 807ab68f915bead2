/** The axes panel every figure draws its series in (`panel`), and a generic single-panel line chart (`lineChart`). */
import { GREY, AXIS, GRID, color, n, isNum, textWidth, linearScale, polyline, marker, errorBar, text, line, legend, svgDoc, emptyFigure, type Scale, type MarkerShape, type LegendItem } from './svg.js';
import { saneRange, niceStep, niceTicks, niceDomain, decadeTicks, fmtTick, powerLabel } from './ticks.js';
// ---------------------------------------------------------------- panel: axes + series

export interface PlotSeries {
  label?: string;
  x: number[];
  y: number[];
  /** Symmetric error (half-width) per point, in data units. */
  yErr?: (number | null | undefined)[];
  color: string;
  width?: number;
  dash?: string;
  /** Draw the connecting line (default true). */
  line?: boolean;
  marker?: MarkerShape;
  markerSize?: number;
  /** Stems from the bottom of the axis (or 0) to each point: lollipop chart. */
  stems?: boolean;
  /** Text beside each point. */
  pointLabels?: string[];
  /** Horizontal offset in px (to place several series side by side over categories). */
  dx?: number;
  opacity?: number;
}

export interface PanelOptions {
  /** Outer box of the panel, labels included. */
  x: number;
  y: number;
  width: number;
  height: number;
  /** Unique id, used for the clip path. */
  id: string;
  title?: string;
  titleColor?: string;
  xLabel?: string;
  yLabel?: string;
  series: PlotSeries[];
  /** y values are transformed with log10 (non-positive values are dropped). */
  logY?: boolean;
  /** y values are already log10: ticks at whole decades, labelled 10^k. */
  yIsLog10?: boolean;
  xDomain?: [number, number];
  yDomain?: [number, number];
  /** Loose x domain (extended to nice numbers); default tight (data range). */
  xNice?: boolean;
  /** Category labels: x values are indices 0..n-1. */
  xCategories?: string[];
  /** Include 0 in the y domain (linear only). */
  yIncludeZero?: boolean;
  /** Show at most this many decades below the maximum (log axes). */
  maxDecades?: number;
  xTicks?: number;
  yTicks?: number;
  fontSize?: number;
}

export interface PanelResult {
  svg: string;
  /** Plot area in figure pixels. */
  plot: { x: number; y: number; width: number; height: number };
}

function finite(xs: Iterable<number>): number[] {
  const out: number[] = [];
  for (const v of xs) if (isNum(v)) out.push(v);
  return out;
}

function minMax(xs: number[]): [number, number] | null {
  if (xs.length === 0) return null;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of xs) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** Axes, grid, ticks, labels and the series of one panel. */
export function panel(o: PanelOptions): PanelResult {
  const fs = o.fontSize ?? 11;
  const logMode = Boolean(o.logY || o.yIsLog10);
  const ty = (v: number): number => (o.logY ? (v > 0 ? Math.log10(v) : NaN) : v);

  // ---- domains
  const cats = o.xCategories;
  let xDom: [number, number];
  if (cats) xDom = [-0.6, Math.max(0, cats.length - 1) + 0.6];
  else if (o.xDomain) xDom = saneRange(o.xDomain[0], o.xDomain[1]);
  else {
    const mm = minMax(finite(o.series.flatMap((s) => s.x)));
    xDom = mm ? saneRange(mm[0], mm[1]) : [0, 1];
    if (o.xNice) xDom = niceDomain(xDom[0], xDom[1], o.xTicks ?? 5);
  }
  let yDom: [number, number];
  if (o.yDomain) yDom = saneRange(ty(o.yDomain[0]), ty(o.yDomain[1]));
  else {
    const ys: number[] = [];
    for (const s of o.series) {
      for (let i = 0; i < s.y.length; i++) {
        const y = s.y[i];
        if (!isNum(y)) continue;
        const e = s.yErr?.[i];
        if (isNum(e) && e > 0) {
          ys.push(ty(y + e));
          const lo = ty(y - e);
          if (isNum(lo)) ys.push(lo);
        }
        ys.push(ty(y));
      }
    }
    const mm = minMax(finite(ys));
    let [lo, hi] = mm ?? [0, 1];
    if (!logMode && o.yIncludeZero) {
      lo = Math.min(lo, 0);
      hi = Math.max(hi, 0);
    }
    if (logMode && o.maxDecades && hi - lo > o.maxDecades) lo = hi - o.maxDecades;
    if (logMode) {
      [lo, hi] = saneRange(lo, hi);
      const span = hi - lo;
      yDom = span >= 1 ? [Math.floor(lo + 1e-9), Math.ceil(hi - 1e-9)] : [lo - span * 0.05, hi + span * 0.05];
      if (yDom[1] - yDom[0] < 1e-12) yDom = [yDom[0] - 0.5, yDom[1] + 0.5];
    } else {
      const [a, b] = saneRange(lo, hi);
      const pad = (b - a) * 0.04;
      yDom = niceDomain(a - (o.yIncludeZero && a === 0 ? 0 : pad), b + pad, o.yTicks ?? 5);
    }
  }

  // ---- ticks and labels
  const yTickVals = logMode
    ? yDom[1] - yDom[0] >= 1.5
      ? decadeTicks(yDom[0], yDom[1], o.yTicks ?? 6)
      : niceTicks(10 ** yDom[0], 10 ** yDom[1], o.yTicks ?? 4).filter((v) => v > 0).map(Math.log10)
    : niceTicks(yDom[0], yDom[1], o.yTicks ?? 5);
  const yStep = niceStep(yDom[0], yDom[1], o.yTicks ?? 5);
  const decades = logMode && yDom[1] - yDom[0] >= 1.5;
  const yLabelText = (v: number): { s: string; raw: boolean; w: number } => {
    if (decades) return { s: powerLabel(v), raw: true, w: textWidth(`10${Math.round(v)}`, fs) * 0.9 };
    if (logMode) {
      const raw = 10 ** v;
      const s = fmtTick(raw, niceStep(10 ** yDom[0], 10 ** yDom[1], 4));
      return { s, raw: false, w: textWidth(s, fs) };
    }
    const s = fmtTick(v, yStep);
    return { s, raw: false, w: textWidth(s, fs) };
  };
  const yLabels = yTickVals.map((v) => ({ v, ...yLabelText(v) }));
  const yLabW = Math.max(12, ...yLabels.map((l) => l.w));

  const xTickVals = cats ? cats.map((_, i) => i) : niceTicks(xDom[0], xDom[1], o.xTicks ?? 5);
  const xStep = niceStep(xDom[0], xDom[1], o.xTicks ?? 5);
  const xLabelStrs = cats ? cats : xTickVals.map((v) => fmtTick(v, xStep));

  // ---- layout
  const top = o.y + (o.title ? fs + 14 : 8);
  const left = o.x + 8 + (o.yLabel ? fs + 8 : 0) + yLabW + 6;
  const right = o.x + o.width - 10;
  let rotate = false;
  if (cats && cats.length > 0) {
    const slot = (right - left) / (xDom[1] - xDom[0]);
    rotate = Math.max(...cats.map((c) => textWidth(c, fs))) > slot * 0.95;
  }
  const xLabH = rotate ? Math.min(90, Math.max(...xLabelStrs.map((c) => textWidth(c, fs))) * 0.62 + fs) : fs + 4;
  const bottom = o.y + o.height - (o.xLabel ? fs + 10 : 2) - xLabH - 6;
  const pw = Math.max(10, right - left);
  const ph = Math.max(10, bottom - top);
  const sx = linearScale(xDom, [left, left + pw]);
  const sy = linearScale(yDom, [top + ph, top]);

  const g: string[] = [];
  // grid + ticks
  for (const l of yLabels) {
    const py = sy(l.v);
    if (py < top - 0.5 || py > top + ph + 0.5) continue;
    g.push(line(left, py, left + pw, py, { color: GRID, width: 1 }));
    g.push(line(left - 4, py, left, py, { color: AXIS, width: 1 }));
    g.push(text(left - 7, py, l.s, { size: fs, anchor: 'end', baseline: 'middle', raw: l.raw }));
  }
  xTickVals.forEach((v, i) => {
    const px = sx(v);
    if (px < left - 0.5 || px > left + pw + 0.5) return;
    if (!cats) g.push(line(px, top, px, top + ph, { color: GRID, width: 1 }));
    g.push(line(px, top + ph, px, top + ph + 4, { color: AXIS, width: 1 }));
    const label = xLabelStrs[i] ?? '';
    if (rotate) g.push(text(px + 3, top + ph + 10, label, { size: fs, anchor: 'end', rotate: -35, baseline: 'hanging' }));
    else g.push(text(px, top + ph + 7, label, { size: fs, anchor: 'middle', baseline: 'hanging' }));
  });
  // zero line
  if (!logMode && yDom[0] < 0 && yDom[1] > 0) g.push(line(left, sy(0), left + pw, sy(0), { color: '#999999', width: 1 }));

  // series, clipped to the plot area
  const clip = `clip-${o.id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const body: string[] = [];
  const lines: string[] = [];
  const yBase = logMode ? yDom[0] : Math.max(yDom[0], Math.min(yDom[1], 0));
  for (const s of o.series) {
    const dx = s.dx ?? 0;
    const xs = s.x.map((v) => (isNum(v) ? v : NaN));
    const ys = s.y.map((v) => (isNum(v) ? ty(v) : NaN));
    const sxo = ((v: number) => sx(v) + dx) as Scale;
    sxo.domain = sx.domain;
    sxo.range = sx.range;
    if (s.stems) {
      for (let i = 0; i < ys.length; i++)
        if (isNum(xs[i]) && isNum(ys[i])) body.push(line(sxo(xs[i]), sy(yBase), sxo(xs[i]), sy(ys[i]), { color: s.color, width: 2.5, opacity: 0.55 }));
    }
    if (s.yErr) {
      for (let i = 0; i < ys.length; i++) {
        const e = s.yErr[i];
        const y = s.y[i];
        if (!isNum(e) || !isNum(y) || !isNum(xs[i]) || e <= 0) continue;
        let lo = ty(y - e);
        const hi = ty(y + e);
        if (!isNum(lo)) lo = yDom[0];
        body.push(errorBar(sxo(xs[i]), sy(lo), sy(hi), s.color));
      }
    }
    if (s.line !== false) lines.push(polyline(xs, ys, sxo, sy, { color: s.color, width: s.width ?? 1.6, dash: s.dash, opacity: s.opacity }));
    if (s.marker) for (let i = 0; i < ys.length; i++) body.push(marker(sxo(xs[i]), sy(ys[i]), s.marker, s.color, s.markerSize ?? 3.5));
    if (s.pointLabels) {
      for (let i = 0; i < ys.length; i++) {
        const lab = s.pointLabels[i];
        if (lab && isNum(xs[i]) && isNum(ys[i])) body.push(text(sxo(xs[i]) + 6, sy(ys[i]) - 6, lab, { size: fs - 2, fill: '#444444' }));
      }
    }
  }
  // Lines are clipped to the plot area exactly; markers and error bars may overhang it a little.
  g.push(
    `<clipPath id="${clip}"><rect x="${n(left)}" y="${n(top)}" width="${n(pw)}" height="${n(ph)}"/></clipPath>` +
      `<clipPath id="${clip}-m"><rect x="${n(left - 6)}" y="${n(top - 6)}" width="${n(pw + 12)}" height="${n(ph + 12)}"/></clipPath>` +
      `<g clip-path="url(#${clip})">${lines.join('')}</g>` +
      `<g clip-path="url(#${clip}-m)">${body.join('')}</g>`,
  );
  // frame
  g.push(`<rect x="${n(left)}" y="${n(top)}" width="${n(pw)}" height="${n(ph)}" fill="none" stroke="${AXIS}" stroke-width="1"/>`);
  // titles and axis labels
  if (o.title) g.push(text(left + pw / 2, o.y + fs + 2, o.title, { size: fs + 1, anchor: 'middle', weight: 'bold', fill: o.titleColor ?? AXIS }));
  if (o.xLabel) g.push(text(left + pw / 2, o.y + o.height - 4, o.xLabel, { size: fs, anchor: 'middle' }));
  if (o.yLabel) g.push(text(o.x + 4 + fs, top + ph / 2, o.yLabel, { size: fs, anchor: 'middle', rotate: -90 }));
  return { svg: `<g class="panel">${g.join('')}</g>`, plot: { x: left, y: top, width: pw, height: ph } };
}

// ---------------------------------------------------------------- a generic line chart

export interface LineChartSeries {
  label: string;
  x: number[];
  y: number[];
  yErr?: number[];
  color?: string;
  dash?: string;
  marker?: MarkerShape | 'none';
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  logY?: boolean;
  width?: number;
  height?: number;
  subtitle?: string;
}

/** The data range widened by 3% on each side, so that end markers do not sit on the frame. */
function padded(xs: number[]): [number, number] | undefined {
  const mm = minMax(finite(xs));
  if (!mm) return undefined;
  const [lo, hi] = saneRange(mm[0], mm[1]);
  const pad = (hi - lo) * 0.03;
  return [lo - pad, hi + pad];
}

/** One panel with a legend: lines (with markers and optional ±error bars) for each series. */
export function lineChart(series: LineChartSeries[], opts: LineChartOptions): string {
  const width = opts.width ?? 640;
  const height = opts.height ?? 400;
  const hasData = series.some((s) => s.x.some((x, i) => isNum(x) && isNum(s.y[i]) && (!opts.logY || s.y[i] > 0)));
  if (!hasData) return emptyFigure(opts.title, 'no data to plot', width, 160);
  const parts: string[] = [];
  parts.push(text(width / 2, 22, opts.title, { size: 14, anchor: 'middle', weight: 'bold' }));
  let y0 = 34;
  if (opts.subtitle) {
    parts.push(text(width / 2, 40, opts.subtitle, { size: 11, anchor: 'middle', fill: GREY }));
    y0 = 50;
  }
  const items: LegendItem[] = series.map((s, i) => ({
    label: s.label,
    color: s.color ?? color(i),
    dash: s.dash,
    marker: s.marker === 'none' ? undefined : (s.marker ?? 'circle'),
  }));
  const lg = series.length > 1 || (series[0]?.label ?? '') !== '' ? legend(items, 60, y0 + 8, width - 80) : { svg: '', height: 0 };
  parts.push(lg.svg);
  const p = panel({
    x: 4,
    y: y0 + lg.height,
    width: width - 8,
    height: height - y0 - lg.height - 4,
    id: 'line-chart',
    xLabel: opts.xLabel,
    yLabel: opts.yLabel,
    logY: opts.logY,
    xDomain: padded(series.flatMap((s) => s.x)),
    series: series.map((s, i) => {
      const many = s.x.length > 40;
      return {
        label: s.label,
        x: s.x,
        y: s.y,
        yErr: s.yErr,
        color: s.color ?? color(i),
        dash: s.dash,
        marker: s.marker === 'none' || many ? undefined : (s.marker ?? 'circle'),
        markerSize: 3,
      };
    }),
  });
  parts.push(p.svg);
  return svgDoc(width, height, parts.join('\n'), opts.title);
}
