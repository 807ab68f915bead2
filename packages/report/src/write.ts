/** writeReportDir: report.json, report.md and the figures, each written atomically. */
import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Report } from '@hessian/analysis';
import { esdFigure, hasEsd, hasSimilarity, hasTop, hasTrace, similarityFigure, topEigenvalueFigure, traceFigure } from './figures.js';
import { operatorSuffix, operatorsIn } from './format.js';
import { renderMarkdown } from './markdown.js';

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException | null)?.code ?? String(e);
}

/**
 * mkdir -p, one level at a time. Node's `mkdir(dir, { recursive: true })` never returns under
 * /proc (ENOENT and EEXIST in turn); this walks up to the nearest existing folder and creates
 * the rest, and its Error says which path is in the way (a file, a folder it cannot create).
 */
export async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let p = resolve(dir); ; ) {
    const st = await stat(p).catch((e: unknown) => {
      const code = errCode(e);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new Error(`cannot read ${p} (${code})`);
      return null;
    });
    if (st?.isDirectory()) break;
    if (st) throw new Error(`${p} is a file, not a folder`);
    missing.push(p);
    const up = dirname(p);
    if (up === p) throw new Error(`cannot create ${p}`);
    p = up;
  }
  for (const m of missing.reverse()) {
    try {
      await mkdir(m);
    } catch (e) {
      if (errCode(e) === 'EEXIST' && (await stat(m).catch(() => null))?.isDirectory()) continue;
      throw new Error(`cannot create the folder ${m} (${errCode(e)})`);
    }
  }
}

/** makeDirs, then proves that a file can be written there (and removes it): call it before long work whose results go to `dir`. */
export async function checkWritableDir(dir: string): Promise<void> {
  await makeDirs(dir);
  const probe = join(dir, `.write-check.${process.pid}.${randomUUID()}`);
  try {
    await writeFile(probe, '');
  } catch (e) {
    throw new Error(`cannot write in ${resolve(dir)} (${errCode(e)})`);
  } finally {
    await rm(probe, { force: true });
  }
}

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
 * makeDirs(`dir`); writes report.json (pretty), the figures whose data exist (Gauss-Newton and
 * residual variants when present) and report.md embedding them. Returns the written paths.
 */
export async function writeReportDir(report: Report, dir: string): Promise<string[]> {
  await makeDirs(dir);
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
