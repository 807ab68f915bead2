/** report.md: the report's numbers as Markdown tables, how to read them, the method, the spec and the figures. */
import type { OperatorName, Report } from '@hessian/analysis';
import { MISSING, OPERATOR_TITLE, fmtInt, fmtMeanErr, fmtSeconds, fmtSig, maxK, op, operatorsIn, orderedScopes } from './format.js';

/** Escapes a table cell: pipes, newlines, and HTML-ish characters. */
export function mdCell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r?\n/g, ' ');
}

function mdTable(header: string[], rows: string[][], rightAlign: boolean[]): string[] {
  const sep = header.map((_, i) => (rightAlign[i] ? '---:' : ':---'));
  const line = (r: string[]): string => `| ${r.map(mdCell).join(' | ')} |`;
  return [line(header), `| ${sep.join(' | ')} |`, ...rows.map(line)];
}

function scopeName(kind: string, name: string): string {
  return kind === 'full' ? `${name} (network)` : name;
}

const FIGURE_CAPTIONS: [RegExp, string][] = [
  [/^esd/, 'Eigenvalue spectral density of each layer (colour) with the full network\u2019s (grey, dashed), log density.'],
  [/^top-eigenvalue/, 'Top eigenvalues per layer; \u03bb1 filled with its Ritz residual as error bar, \u03bb2\u2026\u03bbk open.'],
  [/^trace/, 'Trace per layer, mean \u00b1 2 standard errors.'],
  [/^similarity/, 'Distance of each layer\u2019s ESD to the full network\u2019s against normalized depth.'],
];

function caption(file: string): string {
  const base = file.split('/').pop() ?? file;
  const stem = base.replace(/\.svg$/i, '');
  const op = /-(gauss-newton|residual)$/.exec(stem)?.[1];
  const c = FIGURE_CAPTIONS.find(([re]) => re.test(stem))?.[1] ?? stem;
  return op ? `${c} Operator: ${op}.` : c;
}

function summaryTable(report: Report, name: OperatorName): string[] {
  const header = ['Scope', 'Class', 'Params', 'Depth', 'Top eigenvalues', 'Trace \u00b1 SE', 'Probes', 'Trace from full probes', 'W1 \u2192 full', 'JS \u2192 full', 'HVPs', 'Seconds'];
  const rows: string[][] = [];
  for (const s of orderedScopes(report)) {
    const o = op(s, name);
    if (!o) continue;
    const vals = o.top?.values ?? [];
    rows.push([
      scopeName(s.kind, s.name),
      s.className || MISSING,
      fmtInt(s.params),
      s.depth === null || s.depth === undefined ? MISSING : fmtSig(s.depth, 2),
      vals.length ? vals.map((v) => fmtSig(v, 3)).join(', ') : MISSING,
      o.trace ? fmtMeanErr(o.trace.mean, o.trace.stderr) : MISSING,
      o.trace ? fmtInt(o.trace.probes) : MISSING,
      o.traceFromFullProbes ? fmtMeanErr(o.traceFromFullProbes.mean, o.traceFromFullProbes.stderr) : MISSING,
      fmtSig(o.similarity?.wasserstein1, 3),
      fmtSig(o.similarity?.jensenShannon, 3),
      fmtInt(o.hvps),
      fmtSeconds(o.seconds),
    ]);
  }
  return mdTable(header, rows, [false, false, true, true, true, true, true, true, true, true, true, true]);
}

function eigenTable(report: Report, name: OperatorName): string[] {
  const k = maxK(report, name);
  if (k === 0) return [];
  const header = ['Scope', 'Method', ...Array.from({ length: k }, (_, i) => `\u03bb${i + 1} (residual)`), 'Converged', 'Iterations', 'HVPs'];
  const rows: string[][] = [];
  for (const s of orderedScopes(report)) {
    const t = op(s, name)?.top;
    if (!t) continue;
    rows.push([
      scopeName(s.kind, s.name),
      t.method,
      ...Array.from({ length: k }, (_, i) => (i < t.values.length ? `${fmtSig(t.values[i], 4)} (${fmtSig(t.residuals?.[i], 2)})` : MISSING)),
      t.converged ? 'yes' : 'no',
      fmtInt(t.iterations),
      fmtInt(t.hvps),
    ]);
  }
  return mdTable(header, rows, [false, false, ...Array.from({ length: k }, () => true), false, true, true]);
}

function densityTable(report: Report, name: OperatorName): string[] {
  const rows: string[][] = [];
  for (const s of orderedScopes(report)) {
    const d = op(s, name)?.density;
    if (!d) continue;
    const g = d.grid ?? [];
    rows.push([
      scopeName(s.kind, s.name),
      d.preset,
      fmtInt(d.runs),
      fmtInt(d.steps),
      fmtSig(d.sigma, 3),
      g.length ? `[${fmtSig(g[0], 3)}, ${fmtSig(g[g.length - 1], 3)}] \u00d7 ${fmtInt(g.length)}` : MISSING,
      fmtInt(d.nodes?.length ?? 0),
      fmtInt(d.hvps),
    ]);
  }
  if (rows.length === 0) return [];
  return mdTable(['Scope', 'Preset', 'Runs', 'Steps', '\u03c3', 'Grid', 'Nodes', 'HVPs'], rows, [false, false, true, true, true, false, true, true]);
}

function sumHvps(report: Report, pick: (o: Report['scopes'][number]['operators'][number]) => number | undefined): number {
  let t = 0;
  for (const s of report.scopes) for (const o of s.operators) t += pick(o) ?? 0;
  return t;
}

function methodSection(report: Report): string[] {
  const sp = report.spec;
  const out: string[] = ['## Method', ''];
  const layers = sp.layers.select === 'names' ? sp.layers.names.join(', ') : sp.layers.select === 'regex' ? `/${sp.layers.pattern}/` : sp.layers.select;
  out.push(`- **Scopes**: layers \`${layers}\`${sp.full ? ', plus the full network' : ''}; convention \`${sp.convention}\` (${sp.convention === 'layer' ? 'all trainable weights of a layer, kernel and bias' : 'the kernel alone'}).`);
  out.push(`- **Operators**: Hessian${sp.gaussNewton ? ', Gauss-Newton G = J\u1d40 H_out J and residual R = H \u2212 G' : ''}; every product is an exact Hessian-vector product (double backprop).`);
  if (sp.topK) out.push(`- **Top eigenvalues**: ${sp.topK.method}, k = ${sp.topK.k}, tol = ${sp.topK.tol}, at most ${fmtInt(sp.topK.maxIter)} ${sp.topK.method === 'power' ? 'iterations' : 'steps'}; ${fmtInt(sumHvps(report, (o) => o.top?.hvps))} HVPs.`);
  else out.push('- **Top eigenvalues**: not computed.');
  if (sp.trace)
    out.push(
      `- **Trace**: ${sp.trace.method}, budget ${fmtInt(sp.trace.probes)} probes in chunks of ${fmtInt(sp.trace.chunk)}` +
        `${sp.trace.targetRelStderr > 0 ? `, stopping at relative SE \u2264 ${sp.trace.targetRelStderr}` : ''}` +
        `${sp.trace.fromFullProbes ? '; also from full-network probes' : ''}; ${fmtInt(sumHvps(report, (o) => o.trace?.hvps))} HVPs` +
        `${sp.trace.fromFullProbes ? ` (+${fmtInt(sumHvps(report, (o) => o.traceFromFullProbes?.hvps))} for full-network probes)` : ''}.`,
    );
  else out.push('- **Trace**: not computed.');
  if (sp.density)
    out.push(
      `- **Density (SLQ)**: ${fmtInt(sp.density.runs)} Lanczos run(s) of ${fmtInt(sp.density.steps)} steps, preset \`${sp.density.preset}\`, ` +
        `${fmtInt(sp.density.gridPoints)} grid points; ${fmtInt(sumHvps(report, (o) => o.density?.hvps))} HVPs.` +
        spanNote(report),
    );
  else out.push('- **Density (SLQ)**: not computed.');
  out.push(`- **Similarity**: ${sp.similarity ? 'W1 on the eigenvalue axis between quadrature measures; JS between smoothed densities on a common grid' : 'not computed'}.`);
  out.push(`- **Data**: \`${report.data.spec}\`${sp.perClass > 0 ? `, ${sp.perClass} per class` : ''}, ${fmtInt(report.data.examples)} examples; micro-batch ${sp.batchSize > 0 ? fmtInt(sp.batchSize) : 'whole batch'}; seed ${sp.seed}, model seed ${sp.modelSeed}.`);
  const t = report.totals;
  out.push(`- **Cost**: ${fmtInt(t.hvps)} HVPs in ${fmtInt(t.tasks)} tasks on ${fmtInt(t.workers)} worker(s), ${fmtSeconds(t.seconds)} s; backend \`${report.backend}\`.`);
  return out;
}

/**
 * Scopes whose Lanczos runs were restricted to the span of a fixed Dense input: their exact zero
 * eigenvalues, e.g. " Restricted to the span of a fixed input (exact zero eigenvalues left out):
 * full 135,168 (dense1's input: rank 256 of 784)."; empty where none were.
 */
function spanNote(report: Report): string {
  const parts: string[] = [];
  for (const s of report.scopes) {
    const z = s.operators.find((o) => o.density?.exactZeros)?.density?.exactZeros;
    if (z) parts.push(`${s.name} ${fmtInt(z.count)} (${z.layer}'s input: rank ${fmtInt(z.rank)} of ${fmtInt(z.width)})`);
  }
  return parts.length ? ` Restricted to the span of a fixed input (exact zero eigenvalues left out, in the density as a node at 0): ${parts.join('; ')}.` : '';
}

/** Imported models: which slice of our parameter vector is which tensor of the file (PyTorch state_dict names). */
function parameterSection(report: Report): string[] {
  if (!report.parameters?.length) return [];
  const out = ['## Parameters of the imported model', '', 'Our parameter vector, tensor by tensor, and the tensor of the file each slice holds (for `torch.onnx` exports: the PyTorch `state_dict` name), permuted as the layout says.', ''];
  out.push('| range | tensor | shape here | file tensor | layout |', '| :--- | :--- | :--- | :--- | :--- |');
  for (const p of report.parameters) out.push(`| ${p.offset}..${p.offset + p.size - 1} | ${p.tensor} | [${p.shape.join(', ')}] | \`${p.origin}\` | ${p.layout.replace(/\|/g, '\\|')} |`);
  return [...out, ''];
}

const HOW_TO_READ = [
  '## How to read this report',
  '',
  '- **Trace \u00b1 SE**: the Hutchinson estimate of Tr(H) for the scope, the mean of v\u1d40Hv over Rademacher probes v, with the standard error of that mean. The true trace lies within \u00b12 SE with about 95% probability. *Trace from full probes* estimates every layer\u2019s trace from the same full-network products (v_l\u1d40(Hv)_l): cheaper, usually noisier.',
  '- **Top eigenvalues and Ritz residual**: Lanczos (or power iteration) returns Ritz values \u03b8 with unit vectors x; the residual \u2016Ax \u2212 \u03b8x\u2016 bounds the distance from \u03b8 to the nearest true eigenvalue. Small residual relative to \u03b8 = converged.',
  '- **ESD**: the eigenvalue spectral density from stochastic Lanczos quadrature (runs \u00d7 steps), Gaussian-smoothed with width \u03c3 and plotted as log10 density.',
  '- **Seconds per scope**: a layer\u2019s Hessian-vector product runs the forward pass and the backward pass from the loss down to that layer, twice (double backprop), over every example; so a product for an early layer costs nearly as much as one for the full network however few parameters it has (conv1, the first layer of LeNet, is its slowest scope: its backward pass goes through every layer, and its kernel gradient is taken on the largest feature maps, 28\u00d728), while a late layer (fc3) stops the backward pass early. A small block also lets Lanczos run to its dimension when its top eigenvalues are close, which adds steps.',
  '- **W1 / JS**: how far a layer\u2019s ESD is from the full network\u2019s. W1 is the Wasserstein-1 (earth mover\u2019s) distance in eigenvalue units; JS is the Jensen-Shannon divergence in nats, between 0 (same) and ln 2 \u2248 0.693 (disjoint). Smaller = more alike; the paper finds the middle layers closest to the full network.',
  '- **\u2014** marks a quantity that was not computed for that scope.',
];

/** The Markdown report; `figures` are relative SVG file names, embedded in the order given. */
export function renderMarkdown(report: Report, figures: string[]): string {
  const m = report.model;
  const out: string[] = [];
  out.push(`# Hessian spectrum report: ${m.name || m.spec}`, '');
  out.push(`| | |`, `| :--- | :--- |`);
  const kv: [string, string][] = [
    ['Model', `\`${m.spec}\` (${m.name}, ${fmtInt(m.params)} parameters${m.inputShape?.length ? `, input ${m.inputShape.join('\u00d7')}` : ''})`],
    ['Data', `\`${report.data.spec}\` (${fmtInt(report.data.examples)} examples${report.data.description && report.data.description !== report.data.spec ? `; ${report.data.description}` : ''})`],
    ['Loss', `${report.loss} = ${fmtSig(report.lossValue, 4)}`],
    ['Convention', `\`${report.convention}\``],
    ['Backend', `\`${report.backend}\``],
    ...(report.products ? [['Hessian products', report.products] as [string, string]] : []),
    ['Seed', String(report.spec.seed)],
    ['Totals', `${fmtInt(report.totals.hvps)} HVPs, ${fmtInt(report.totals.tasks)} tasks, ${fmtSeconds(report.totals.seconds)} s, ${fmtInt(report.totals.workers)} worker(s)`],
    ['Created', `${report.createdAt} by ${report.tool.name} ${report.tool.version}`],
  ];
  for (const [k, v] of kv) out.push(`| **${k}** | ${v.replace(/\|/g, '\\|')} |`);
  out.push('');
  const ops = operatorsIn(report);
  for (const name of ops) {
    out.push(`## ${OPERATOR_TITLE[name]}`, '');
    out.push(...summaryTable(report, name), '');
    const e = eigenTable(report, name);
    if (e.length) out.push(`### Top eigenvalues (Ritz residual in parentheses)`, '', ...e, '');
    const d = densityTable(report, name);
    if (d.length) out.push(`### Spectral density`, '', ...d, '');
  }
  if (ops.length === 0) out.push('_No scopes in this report._', '');
  if (figures.length > 0) {
    out.push('## Figures', '');
    for (const f of figures) out.push(`![${(f.split('/').pop() ?? f).replace(/\.svg$/i, '')}](${f})`, '', `*${caption(f)}*`, '');
  }
  out.push(...HOW_TO_READ, '');
  out.push(...methodSection(report), '');
  out.push(...parameterSection(report));
  out.push('<details><summary>Analysis spec (exact JSON)</summary>', '', '```json', JSON.stringify(report.spec, null, 2), '```', '', '</details>', '');
  return out.join('\n');
}
