/** The terminal table: header lines, then one aligned block per operator. */
import type { OperatorName, Report } from '@hessian/analysis';
import { MISSING, OPERATOR_TITLE, fmtInt, fmtMeanErr, fmtSeconds, fmtSig, maxK, op, operatorsIn, orderedScopes } from './format.js';

export interface TableOptions {
  /** ANSI colours (bold headers, dim missing values). Default false. */
  color?: boolean;
  /** Most eigenvalue columns shown per row (default 4; all are in report.md). */
  maxEigenvalues?: number;
}

type Align = 'left' | 'right';

const ANSI = { bold: '\x1b[1m', dim: '\x1b[2m', cyan: '\x1b[36m', reset: '\x1b[0m' };

/** Lays out rows of cells in aligned columns (two spaces apart). */
export function alignColumns(header: string[], rows: string[][], align: Align[], color = false): string[] {
  const widths = header.map((h, i) => Math.max([...h].length, ...rows.map((r) => [...(r[i] ?? '')].length)));
  const pad = (s: string, i: number): string => {
    const fill = ' '.repeat(Math.max(0, widths[i] - [...s].length));
    return align[i] === 'right' ? fill + s : s + fill;
  };
  const paint = (s: string, cell: string, i: number, isHeader: boolean): string => {
    if (!color) return s;
    if (isHeader) return ANSI.bold + s + ANSI.reset;
    if (cell === MISSING) return ANSI.dim + s + ANSI.reset;
    if (i === 0) return ANSI.cyan + s + ANSI.reset;
    return s;
  };
  const fmtRow = (r: string[], isHeader: boolean): string =>
    header
      .map((_, i) => paint(pad(r[i] ?? '', i), r[i] ?? '', i, isHeader))
      .join('  ')
      .replace(/\s+$/, '');
  const rule = widths.map((w) => '\u2500'.repeat(w)).join('  ');
  return [fmtRow(header, true), color ? ANSI.dim + rule + ANSI.reset : rule, ...rows.map((r) => fmtRow(r, false))];
}

function headerLines(report: Report, color: boolean): string[] {
  const b = (s: string): string => (color ? ANSI.bold + s + ANSI.reset : s);
  const m = report.model;
  const shape = m.inputShape?.length ? `, input ${m.inputShape.join('\u00d7')}` : '';
  const t = report.totals;
  return [
    `${b('hessian-cluster report')}  ${report.tool.name} ${report.tool.version}  ${report.createdAt}`,
    `${b('model')}       ${m.spec}  (${m.name}, ${fmtInt(m.params)} params${shape})`,
    `${b('data')}        ${report.data.spec}  (${fmtInt(report.data.examples)} examples${report.data.description && report.data.description !== report.data.spec ? `; ${report.data.description}` : ''})`,
    `${b('loss')}        ${report.loss} = ${fmtSig(report.lossValue, 4)}   ${b('convention')} ${report.convention}   ${b('backend')} ${report.backend}   ${b('seed')} ${report.spec.seed}`,
    `${b('totals')}      ${fmtInt(t.hvps)} HVPs, ${fmtInt(t.tasks)} tasks, ${fmtSeconds(t.seconds)} s, ${fmtInt(t.workers)} worker${t.workers === 1 ? '' : 's'}`,
  ];
}

function block(report: Report, name: OperatorName, opts: Required<TableOptions>): string[] {
  const k = Math.min(maxK(report, name), Math.max(1, opts.maxEigenvalues));
  const kAll = maxK(report, name);
  const eigHeads = Array.from({ length: k }, (_, i) => `\u03bb${i + 1}`);
  const header = ['scope', 'class', 'params', ...eigHeads, 'trace \u00b1 SE', 'W1\u2192full', 'JS\u2192full', 'HVPs', 'sec'];
  const align: Align[] = ['left', 'left', 'right', ...eigHeads.map((): Align => 'right'), 'right', 'right', 'right', 'right', 'right'];
  const rows: string[][] = [];
  for (const s of orderedScopes(report)) {
    const o = op(s, name);
    if (!o) continue;
    const vals = o.top?.values ?? [];
    const eig = Array.from({ length: k }, (_, i) => fmtSig(vals[i], 3));
    rows.push([
      s.kind === 'full' ? `${s.name} (network)` : s.name,
      s.className || MISSING,
      fmtInt(s.params),
      ...eig,
      o.trace ? fmtMeanErr(o.trace.mean, o.trace.stderr) : MISSING,
      fmtSig(o.similarity?.wasserstein1, 3),
      fmtSig(o.similarity?.jensenShannon, 3),
      fmtInt(o.hvps),
      fmtSeconds(o.seconds),
    ]);
  }
  const title = `${OPERATOR_TITLE[name]}` + (kAll > k ? `   (\u03bb1..\u03bb${k} of top-${kAll} shown; all in report.md)` : '');
  return [opts.color ? ANSI.bold + ANSI.cyan + title + ANSI.reset : title, ...alignColumns(header, rows, align, opts.color)];
}

/** A terminal table of the report: header lines, then one block per operator present. */
export function renderTable(report: Report, opts: TableOptions = {}): string {
  const o: Required<TableOptions> = { color: opts.color ?? false, maxEigenvalues: opts.maxEigenvalues ?? 4 };
  const out = headerLines(report, o.color);
  const ops = operatorsIn(report);
  if (ops.length === 0) {
    out.push('', `${MISSING} no scopes in this report`);
    return out.join('\n') + '\n';
  }
  for (const name of ops) out.push('', ...block(report, name, o));
  out.push(
    '',
    'trace: estimate \u00b1 standard error (\u00b1 0: exact).  W1 / JS: Wasserstein-1 distance / Jensen-Shannon divergence',
    'of the layer\u2019s ESD to the full network\u2019s (smaller = more alike).  \u2014 = not computed.',
  );
  return out.join('\n') + '\n';
}
