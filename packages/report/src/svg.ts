/**
 * Plotting primitives for hand-written SVG: escaping, coordinate formatting, scales, polylines,
 * markers, error bars, text, legends and the document. Every number that reaches the markup
 * goes through `n()` (finite, rounded), so no NaN or Infinity can leak into an SVG; every
 * string goes through `esc()`. Nice ticks are in ticks.ts, the axes panel and the generic line
 * chart in chart.ts.
 */

export const FONT = 'sans-serif';
/** Categorical palette (colour-blind friendly order of the Tableau 10 colours). */
export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];
export const GREY = '#6e6e6e';
export const AXIS = '#333333';
export const GRID = '#e6e6e6';

export function color(i: number): string {
  return PALETTE[((i % PALETTE.length) + PALETTE.length) % PALETTE.length];
}

/** Escapes text for SVG/XML content and attribute values; drops characters XML forbids. */
export function esc(s: string): string {
  return String(s)
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A coordinate for the markup: rounded to 0.01, clamped, never NaN/Infinity. */
export function n(x: number): string {
  if (!Number.isFinite(x)) return '0';
  const c = Math.max(-1e5, Math.min(1e5, x));
  const r = Math.round(c * 100) / 100;
  return Object.is(r, -0) ? '0' : String(r);
}

export function isNum(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

/** Rough text width (sans-serif average advance) in px. */
export function textWidth(s: string, fontSize: number): number {
  return s.length * fontSize * 0.58;
}

// ---------------------------------------------------------------- scales

export interface Scale {
  (v: number): number;
  domain: [number, number];
  range: [number, number];
}

export function linearScale(domain: [number, number], range: [number, number]): Scale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const k = d1 !== d0 ? (r1 - r0) / (d1 - d0) : 0;
  const f = ((v: number) => r0 + (v - d0) * k) as Scale;
  f.domain = domain;
  f.range = range;
  return f;
}

// ---------------------------------------------------------------- primitives

export interface Stroke {
  color: string;
  width?: number;
  dash?: string;
  opacity?: number;
}

function strokeAttrs(s: Stroke): string {
  let a = `stroke="${esc(s.color)}" stroke-width="${n(s.width ?? 1.5)}"`;
  if (s.dash) a += ` stroke-dasharray="${esc(s.dash)}"`;
  if (s.opacity !== undefined && s.opacity < 1) a += ` stroke-opacity="${n(s.opacity)}"`;
  return a;
}

/** A path through the points, broken where a coordinate is not finite. */
export function polyline(xs: number[], ys: number[], sx: Scale, sy: Scale, stroke: Stroke): string {
  const parts: string[] = [];
  let pen = false;
  const len = Math.min(xs.length, ys.length);
  for (let i = 0; i < len; i++) {
    const x = xs[i];
    const y = ys[i];
    if (!isNum(x) || !isNum(y)) {
      pen = false;
      continue;
    }
    parts.push(`${pen ? 'L' : 'M'}${n(sx(x))} ${n(sy(y))}`);
    pen = true;
  }
  if (parts.length === 0) return '';
  return `<path d="${parts.join(' ')}" fill="none" ${strokeAttrs(stroke)} stroke-linejoin="round" stroke-linecap="round"/>`;
}

export type MarkerShape = 'circle' | 'open-circle' | 'diamond' | 'open-diamond' | 'square';

export function marker(cx: number, cy: number, shape: MarkerShape, fill: string, size = 3.5): string {
  if (!isNum(cx) || !isNum(cy)) return '';
  const open = shape.startsWith('open');
  const f = open ? 'white' : esc(fill);
  const st = `stroke="${esc(fill)}" stroke-width="1.3"`;
  if (shape === 'circle' || shape === 'open-circle') return `<circle cx="${n(cx)}" cy="${n(cy)}" r="${n(size)}" fill="${f}" ${st}/>`;
  if (shape === 'square') return `<rect x="${n(cx - size)}" y="${n(cy - size)}" width="${n(2 * size)}" height="${n(2 * size)}" fill="${f}" ${st}/>`;
  const s = size * 1.3;
  return `<path d="M${n(cx)} ${n(cy - s)} L${n(cx + s)} ${n(cy)} L${n(cx)} ${n(cy + s)} L${n(cx - s)} ${n(cy)} Z" fill="${f}" ${st}/>`;
}

/** Vertical error bar from y0 to y1 (pixels) at x, with caps. */
export function errorBar(x: number, y0: number, y1: number, stroke: string, cap = 4): string {
  if (!isNum(x) || !isNum(y0) || !isNum(y1)) return '';
  const a = `stroke="${esc(stroke)}" stroke-width="1.2"`;
  return (
    `<line x1="${n(x)}" y1="${n(y0)}" x2="${n(x)}" y2="${n(y1)}" ${a}/>` +
    `<line x1="${n(x - cap)}" y1="${n(y0)}" x2="${n(x + cap)}" y2="${n(y0)}" ${a}/>` +
    `<line x1="${n(x - cap)}" y1="${n(y1)}" x2="${n(x + cap)}" y2="${n(y1)}" ${a}/>`
  );
}

export interface TextOpts {
  size?: number;
  anchor?: 'start' | 'middle' | 'end';
  weight?: 'normal' | 'bold';
  fill?: string;
  rotate?: number;
  baseline?: 'auto' | 'middle' | 'hanging';
  italic?: boolean;
  /** Content is already SVG markup (escaped), e.g. from powerLabel. */
  raw?: boolean;
}

export function text(x: number, y: number, content: string, o: TextOpts = {}): string {
  // Baselines by explicit offsets: dominant-baseline is not honoured by every renderer.
  const size = o.size ?? 11;
  const yy = o.baseline === 'middle' ? y + size * 0.35 : o.baseline === 'hanging' ? y + size * 0.8 : y;
  let a = `x="${n(x)}" y="${n(yy)}"`;
  if (o.size) a += ` font-size="${n(o.size)}"`;
  if (o.anchor && o.anchor !== 'start') a += ` text-anchor="${o.anchor}"`;
  if (o.weight === 'bold') a += ' font-weight="bold"';
  if (o.italic) a += ' font-style="italic"';
  a += ` fill="${esc(o.fill ?? AXIS)}"`;
  if (o.rotate) a += ` transform="rotate(${n(o.rotate)} ${n(x)} ${n(yy)})"`;
  return `<text ${a}>${o.raw ? content : esc(content)}</text>`;
}

export function line(x1: number, y1: number, x2: number, y2: number, s: Stroke): string {
  return `<line x1="${n(x1)}" y1="${n(y1)}" x2="${n(x2)}" y2="${n(y2)}" ${strokeAttrs(s)}/>`;
}

export interface LegendItem {
  label: string;
  color: string;
  dash?: string;
  marker?: MarkerShape;
  line?: boolean;
}

/** A horizontal legend row starting at (x, y) (y = text middle); wraps at maxWidth. Returns markup and height used. */
export function legend(items: LegendItem[], x: number, y: number, maxWidth: number, size = 11): { svg: string; height: number } {
  let cx = x;
  let cy = y;
  const rowH = size + 7;
  const parts: string[] = [];
  for (const it of items) {
    const w = 26 + textWidth(it.label, size) + 16;
    if (cx > x && cx + w > x + maxWidth) {
      cx = x;
      cy += rowH;
    }
    if (it.line !== false) parts.push(line(cx, cy, cx + 22, cy, { color: it.color, width: 2, dash: it.dash }));
    if (it.marker) parts.push(marker(cx + 11, cy, it.marker, it.color, 3.2));
    parts.push(text(cx + 27, cy, it.label, { size, baseline: 'middle' }));
    cx += w;
  }
  return { svg: `<g class="legend">${parts.join('')}</g>`, height: cy - y + rowH };
}

/** A standalone SVG document. */
export function svgDoc(width: number, height: number, body: string, title: string): string {
  const w = Math.ceil(isNum(width) ? width : 400);
  const h = Math.ceil(isNum(height) ? height : 300);
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" ` +
    `font-family="${FONT}" font-size="11">\n` +
    `<title>${esc(title)}</title>\n` +
    `<rect x="0" y="0" width="${w}" height="${h}" fill="white"/>\n` +
    body +
    `\n</svg>\n`
  );
}

/** A figure that says there is nothing to plot (still valid SVG). */
export function emptyFigure(title: string, message: string, width = 480, height = 160): string {
  const body =
    text(width / 2, 28, title, { size: 13, anchor: 'middle', weight: 'bold' }) +
    text(width / 2, height / 2 + 10, message, { size: 12, anchor: 'middle', fill: GREY, italic: true });
  return svgDoc(width, height, body, title);
}
