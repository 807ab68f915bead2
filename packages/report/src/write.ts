/** writeReportDir: report.json, report.md and the figures, each written atomically. */
import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Report } from '@hessian/analysis';
import { esdFigure, hasEsd, hasSimilarity, hasTop, hasTrace, similarityFigure, topEigenvalueFigure, traceFigure } from './figures.js';
import { operatorSuffix, operatorsIn } from './format.js';
import { renderMarkdown } from './markdown.js';

/** Writes `content` to `path` via a temporary file in the same directory and a rename. */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  const dir = join(path, '..');
  const tmp = join(dir, `.${path.split(/[\\/]/).pop() ?? 'file'}.${process.pid}.${randomUUID()}.tmp`);
  try {
    await writeFile(tmp, content, 'utf8');
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** The figures a report has data for: [file name, SVG]. */
export function reportFigures(report: Report): [string, string][] {
  const out: [string, string][] = [];
  for (const name of operatorsIn(report)) {
    const sfx = operatorSuffix(name);
    if (hasEsd(report, name)) out.push([`esd${sfx}.svg`, esdFigure(report, name)]);
    if (hasTop(report, name)) out.push([`top-eigenvalue${sfx}.svg`, topEigenvalueFigure(report, name)]);
    if (hasTrace(report, name)) out.push([`trace${sfx}.svg`, traceFigure(report, name)]);
  }
  if (hasSimilarity(report)) out.push(['similarity.svg', similarityFigure(report)]);
  const rank = (f: string): number => ['esd', 'top-eigenvalue', 'trace', 'similarity'].findIndex((p) => f.startsWith(p));
  return out.sort((a, b) => rank(a[0]) - rank(b[0]));
}

/**
 * mkdir -p `dir`; writes report.json (pretty), the figures whose data exist (Gauss-Newton and
 * residual variants when present) and report.md embedding them. Returns the written paths.
 */
export async function writeReportDir(report: Report, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  const put = async (name: string, content: string): Promise<void> => {
    const p = join(dir, name);
    await writeFileAtomic(p, content);
    written.push(p);
  };
  await put('report.json', JSON.stringify(report, null, 2) + '\n');
  const figures = reportFigures(report);
  for (const [name, svg] of figures) await put(name, svg);
  await put('report.md', renderMarkdown(report, figures.map(([name]) => name)));
  return written;
}
