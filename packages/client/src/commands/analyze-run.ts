/** `hessctl analyze`: embedded by default (plan, execute in this process, aggregate, print, write); --server goes to analyze-remote.ts. */
import { normalizeSpec } from '@hessian/analysis/spec';
import { UserError } from '@hessian/linalg';
import { choice, givenFlags, intFlag, parseFlags } from '../flags.js';
import { ProgressBar } from '../progress.js';
import { analyzeCommand, analyzeServer, backendFrom, specFromFlags } from './analyze.js';
import { checkOutDir, emitReport } from './output.js';

export async function analyze(argv: string[]): Promise<number> {
  const { values } = parseFlags(analyzeCommand, argv);
  if (values['dry-run'] === true) {
    const { dryRun } = await import('./dry-run.js');
    return dryRun(normalizeSpec(specFromFlags(values, givenFlags(argv))), backendFrom(values, argv), choice(values, 'format', ['table', 'json'] as const) ?? 'table');
  }
  const server = analyzeServer(values);
  if (server !== undefined) {
    if (typeof values.diagonal === 'string') throw new UserError('--diagonal: the diagonal is written by embedded runs; drop --server (or --diagonal)');
    // Loaded only here: the embedded path never loads gRPC.
    const { analyzeRemote } = await import('./analyze-remote.js');
    return analyzeRemote(server, values, argv);
  }
  if (givenFlags(argv).has('shards')) throw new UserError('--shards: splits the examples of --scope dataset over cluster workers: give --server HOST:PORT (or set HESSIAN_SERVER)');
  if (givenFlags(argv).has('scope') && values.scope !== 'batch')
    throw new UserError('--scope dataset shards the examples over cluster workers: give --server HOST:PORT (or set HESSIAN_SERVER)');
  const spec = normalizeSpec(specFromFlags(values, givenFlags(argv)));
  if (typeof values.out === 'string') await checkOutDir('out', values.out);
  const format = choice(values, 'format', ['table', 'json'] as const) ?? 'table';
  const backend = backendFrom(values, argv);
  const workers = intFlag(values, 'workers', 1, 64) ?? 1;
  const quiet = values.quiet === true;
  const bar = new ProgressBar(process.stderr, !quiet);
  // The engine and TensorFlow.js load here, for an embedded run only (--server never needs them).
  const { runAnalysis } = await import('@hessian/analysis');
  const report = await runAnalysis(spec, {
    workers,
    backend,
    onStart: (i) => {
      if (!quiet)
        process.stderr.write(
          `backend ${i.backend} (${i.backendDetail}); ${i.params} parameters, ${i.examples} examples; ${i.scopes} scopes, ${i.tasks} tasks on ${workers} worker${workers > 1 ? 's' : ''}; Hessian products by ${i.products}\n`,
        );
    },
    onProgress: (p) => bar.update(p),
  });
  bar.done();
  await emitReport(report, values, format, quiet);
  if (typeof values.diagonal === 'string') {
    const { writeDiagonals } = await import('./diagonal.js');
    const files = await writeDiagonals(spec, backend, values.diagonal);
    if (!quiet) process.stderr.write(`diagonal: ${files.length} layer file(s) and diagonal.json in ${values.diagonal}\n`);
  }
  return 0;
}
