/** A sweep's report.md: what was analyzed, the series as tables (epochs across), the figures, how to read them, and the exact analysis. */
import { MISSING, fmtMeanErr, fmtSeconds, fmtSig } from './format.js';
import { mdCell } from './markdown.js';
import type { SweepData, SweepScopeSeries } from './sweep-figures.js';

const CAPTIONS: [RegExp, string][] = [
  [/^top-eigenvalue/, 'Top Hessian eigenvalue \u03bb1 of each layer (colour) and of the full network (grey, dashed) at every analyzed checkpoint; error bar: Ritz residual.'],
  [/^trace/, 'Hessian trace of each layer and of the full network at every analyzed checkpoint, mean \u00b1 2 standard errors.'],
  [/^esd-/, 'Eigenvalue spectral density of one scope at every analyzed checkpoint, light (early) to dark (late), log density.'],
];

function table(header: string[], rows: string[][]): string[] {
  const line = (r: string[]) => `| ${r.map(mdCell).join(' | ')} |`;
  return [line(header), `| :--- | ${header.slice(1).map(() => '---:').join(' | ')} |`, ...rows.map(line)];
}

function scopeName(s: SweepScopeSeries): string {
  return s.kind === 'full' ? 'full (network)' : s.name;
}

/** The Markdown report of a sweep; `figures` are the SVG file names written beside it. */
export function renderSweepMarkdown(s: SweepData, figures: string[]): string {
  const a = s.analysis;
  const out: string[] = [`# Hessian spectrum during training: ${s.run.split(/[\\/]/).filter(Boolean).pop() ?? s.run}`, ''];
  out.push('| | |', '| :--- | :--- |');
  const kv: [string, string][] = [
    ['Run', `\`${s.run}\``],
    ['Checkpoints analyzed', s.epochs.length ? `epochs ${s.epochs.join(', ')}` : 'none'],
    ['Data', `\`${a.data}\`${a.perClass > 0 ? `, ${a.perClass} per class` : ''}`],
    ['Loss', a.loss],
    ['Convention', `\`${a.convention}\``],
    ['Seed', String(a.seed)],
    ['Time', `${fmtSeconds(s.seconds)} s`],
  ];
  if (s.failed.length) kv.push(['Not analyzed', s.failed.map((f) => `epoch ${f.epoch} (${f.cancelled ? 'not finished' : 'failed'}: ${f.error})`).join('; ')]);
  for (const [k, v] of kv) out.push(`| **${k}** | ${v.replace(/\|/g, '\\|')} |`);
  out.push('');
  const header = ['Scope', ...s.epochs.map((e) => `epoch ${e}`)];
  if (s.scopes.some((sc) => sc.top.some((v) => v !== null))) {
    out.push('## Top Hessian eigenvalue \u03bb1', '');
    out.push(...table(header, s.scopes.map((sc) => [scopeName(sc), ...sc.top.map((v) => (v === null ? MISSING : fmtSig(v, 4)))])), '');
  }
  if (s.scopes.some((sc) => sc.trace.some((v) => v !== null))) {
    out.push('## Hessian trace (mean \u00b1 SE)', '');
    out.push(...table(header, s.scopes.map((sc) => [scopeName(sc), ...sc.trace.map((v, i) => (v === null ? MISSING : fmtMeanErr(v, sc.traceStderr[i])))])), '');
  }
  if (figures.length) {
    out.push('## Figures', '');
    for (const f of figures) out.push(`![${f.replace(/\.svg$/i, '')}](${f})`, '', `*${CAPTIONS.find(([re]) => re.test(f))?.[1] ?? f}*`, '');
  }
  out.push(
    '## How to read this report',
    '',
    '- Each checkpoint (`epoch-NNN` of the run; epoch 0 is the initial weights) is analyzed with the same settings and seed; its full report is `reports/epoch-NNN.json`, the series are `sweep.json`.',
    '- **\u03bb1**: the largest eigenvalue of the scope\u2019s Hessian block (Lanczos or power iteration); a falling \u03bb1 means a flatter minimum along its sharpest direction.',
    '- **Trace \u00b1 SE**: the Hutchinson estimate of the sum of the eigenvalues, with its standard error; the true trace lies within \u00b12 SE with about 95% probability.',
    '- **ESD**: the eigenvalue spectral density (stochastic Lanczos quadrature), log scale; zero density is left blank.',
    `- **${MISSING}** marks a quantity that was not computed for that scope or checkpoint.`,
    '',
  );
  out.push('<details><summary>Analysis spec of every checkpoint (exact JSON; the model is the checkpoint)</summary>', '', '```json', JSON.stringify(a, null, 2), '```', '', '</details>', '');
  return out.join('\n');
}
