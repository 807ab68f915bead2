/** `hessctl analyze --server`: submit, follow with the progress bar, print and write like the embedded run. */
import { normalizeSpec } from '@hessian/analysis/spec';
import { UserError } from '@hessian/linalg';
import { choice, givenFlags, type Values } from '../flags.js';
import type { Scope } from '../grpc-client.js';
import { ProgressBar } from '../progress.js';
import { shardsFlag, specFromFlags } from './analyze.js';
import { checkOutDir, emitReport } from './output.js';
import { connectTo, noteEvent, parseReport, resolveModel, toProgress } from './remote-common.js';

export async function analyzeRemote(server: string, values: Values, argv: string[]): Promise<number> {
  const given = givenFlags(argv);
  for (const f of ['workers', 'backend'])
    if (given.has(f)) throw new UserError(`--${f}: applies to the embedded run only; with --server the cluster's workers run the tasks (see \`hessctl workers\`)`);
  const format = choice(values, 'format', ['table', 'json'] as const) ?? 'table';
  const scope = (choice(values, 'scope', ['batch', 'dataset'] as const) ?? 'batch') as Scope;
  const shards = shardsFlag(values, scope);
  const quiet = values.quiet === true;
  const partial = specFromFlags(values, given);
  normalizeSpec(partial); // the same sentences as the embedded run, before anything is sent
  if (typeof values.out === 'string') await checkOutDir('out', values.out);
  const conn = await connectTo(server, values);
  const stopWatch = new AbortController();
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
    process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}interrupted: cancelling the job\n`);
    stopWatch.abort();
  };
  try {
    const spec = normalizeSpec(await resolveModel(conn, partial, quiet));
    const job = await conn.submitAnalysis(spec, { scope, shards });
    if (!quiet) process.stderr.write(`job ${job.id} on ${conn.address} (scope ${scope}); follow it elsewhere with \`hessctl watch ${job.id}\`\n`);
    process.once('SIGINT', onSigint);
    const bar = new ProgressBar(process.stderr, !quiet);
    for await (const ev of conn.watchJob(job.id, {
      signal: stopWatch.signal,
      onReconnect: (r) => !quiet && process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}lost the coordinator (${r.error}); reconnecting, resuming after event ${r.afterSequence}\n`),
    })) {
      if (ev.progress) bar.update(toProgress(ev.progress));
      const note = noteEvent(ev);
      if (note && !quiet) process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}${note}\n`);
    }
    bar.done();
    if (interrupted) {
      const c = await conn.cancelJob(job.id);
      process.stderr.write(`job ${job.id}: ${c.state}\n`);
      return 130;
    }
    const final = await conn.getJob(job.id, { includeReport: true });
    if (final.state === 'SUCCEEDED') {
      await emitReport(parseReport(final), values, format, quiet);
      return 0;
    }
    process.stderr.write(`hessctl: job ${job.id} ${final.state === 'CANCELLED' ? 'was cancelled' : `failed: ${final.error || 'no reason given'}`}\n`);
    return 1;
  } finally {
    process.removeListener('SIGINT', onSigint);
    conn.close();
  }
}
