/** `hessctl get`: a job's state and progress, or its report once it has succeeded. */
import { UserError } from '@hessian/linalg';
import { writeReportDir } from '@hessian/report';
import { choice, parseFlags, type Command } from '../flags.js';
import type { Job } from '../grpc-client.js';
import { AUTH_FLAGS } from './auth.js';
import { checkOutDir, emitReport } from './output.js';
import { HELP_FLAG, jobJson, liveProgress, oneId, parseReport, progressText, SERVER_FLAG, withConnection } from './remote-common.js';

export const getCommand: Command = {
  name: 'get',
  summary: "show a job's state and progress; --report prints its report once it has succeeded",
  usage: 'hessctl get ID [--report] [--out DIR] [--format table|json] [--server HOST:PORT]',
  positionals: true,
  flags: [
    SERVER_FLAG,
    ...AUTH_FLAGS,
    { name: 'report', type: 'boolean', help: 'print the report (the same table as `hessctl analyze`; with --format json, the report JSON)' },
    { name: 'out', type: 'string', arg: 'DIR', help: 'write report.json, report.md and SVG figures here (the job must have succeeded)' },
    { name: 'format', type: 'string', arg: 'F', default: 'table', help: 'table | json' },
    HELP_FLAG,
  ],
  examples: ['hessctl get 3f2c9e1a', 'hessctl get 3f2c9e1a --report --out reports/lenet'],
};

export function jobSummary(job: Job, now = Date.now()): string {
  const spec = job.spec;
  const rows: [string, string][] = [
    ['job', job.id],
    ['state', job.state],
    ['model', spec?.model ?? ''],
    ['data', spec?.data || '(default)'],
    ['scope', spec?.scope || 'batch'],
    ['progress', progressText(liveProgress(job, now))],
    ['created', job.createdAt],
    ['updated', job.updatedAt],
  ];
  if (job.error) rows.push(['error', job.error]);
  return rows.map(([k, v]) => `${k.padEnd(10)}${v}`).join('\n') + '\n';
}

export async function get(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(getCommand, argv);
  const id = oneId(getCommand, positionals);
  const format = choice(values, 'format', ['table', 'json'] as const) ?? 'table';
  const wantReport = values.report === true || typeof values.out === 'string';
  if (typeof values.out === 'string') await checkOutDir('out', values.out);
  return withConnection(values, async (conn) => {
    const job = await conn.getJob(id, { includeReport: wantReport });
    if (!wantReport) {
      process.stdout.write(format === 'json' ? JSON.stringify(jobJson(job), null, 2) + '\n' : jobSummary(job));
      return 0;
    }
    if (job.state !== 'SUCCEEDED')
      throw new UserError(
        `job ${id} is ${job.state}${job.error ? ` (${job.error})` : ''}; a report exists once it has SUCCEEDED (follow it with \`hessctl watch ${id}\`)`,
        'FAILED_PRECONDITION',
      );
    const report = parseReport(job);
    if (values.report === true) await emitReport(report, values, format, false);
    else if (typeof values.out === 'string') {
      const written = await writeReportDir(report, values.out);
      process.stderr.write(`wrote ${written.join(', ')}\n`);
    }
    return 0;
  });
}
