/** Printing and writing a report: shared by the embedded and the cluster paths of analyze, so both look the same. */
import type { Report } from '@hessian/analysis';
import { UserError } from '@hessian/linalg';
import { checkWritableDir, renderTable, writeReportDir } from '@hessian/report';
import type { Values } from '../flags.js';

/**
 * Creates the output folder of `--FLAG` and proves it writable, before any work: a bad --out
 * (a file in the path, /proc, no permission) is one sentence and exit 2, not lost results.
 */
export async function checkOutDir(flag: string, dir: string): Promise<void> {
  try {
    await checkWritableDir(dir);
  } catch (e) {
    throw new UserError(`--${flag} ${dir}: ${e instanceof Error ? e.message : String(e)}; choose a folder you can write (nothing was computed)`);
  }
}

/** Prints the report (stdout), then writes --out: the numbers reach the user even if the folder fails later. */
export async function emitReport(report: Report, values: Values, format: 'table' | 'json', quiet: boolean): Promise<void> {
  process.stdout.write(format === 'json' ? JSON.stringify(report, null, 2) + '\n' : renderTable(report, { color: process.stdout.isTTY === true }));
  if (typeof values.out === 'string') {
    const written = await writeReportDir(report, values.out);
    if (!quiet) process.stderr.write(`wrote ${written.join(', ')}\n`);
  }
}
