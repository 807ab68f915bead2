/** Printing and writing a report: shared by the embedded and the cluster paths of analyze, so both look the same. */
import type { Report } from '@hessian/analysis';
import { renderTable, writeReportDir } from '@hessian/report';
import type { Values } from '../flags.js';

export async function emitReport(report: Report, values: Values, format: 'table' | 'json', quiet: boolean): Promise<void> {
  if (typeof values.out === 'string') {
    const written = await writeReportDir(report, values.out);
    if (!quiet) process.stderr.write(`wrote ${written.join(', ')}\n`);
  }
  process.stdout.write(format === 'json' ? JSON.stringify(report, null, 2) + '\n' : renderTable(report, { color: process.stdout.isTTY === true }));
}
