/** `hessctl submit`: submit an analysis (uploading a model given as a path) and print its job id. */
import { normalizeSpec } from '@hessian/analysis/spec';
import { choice, givenFlags, parseFlags, type Command } from '../flags.js';
import type { Scope } from '../grpc-client.js';
import { analyzeCommand, shardsFlag, specFromFlags } from './analyze.js';
import { AUTH_FLAG_NAMES, AUTH_FLAGS } from './auth.js';
import { HELP_FLAG, jobJson, resolveModel, SCOPE_FLAG, SERVER_FLAG, withConnection } from './remote-common.js';

const NOT_FOR_SUBMIT = new Set(['workers', 'backend', 'out', 'format', 'quiet', 'help', 'server', 'scope', 'embedded', 'dry-run']);

export const submitCommand: Command = {
  name: 'submit',
  summary: 'submit an analysis to the cluster and print its job id (follow it with `hessctl watch ID`)',
  usage: 'hessctl submit --model zoo:NAME|PATH/model.json [--data SPEC] [analysis flags] [--server HOST:PORT]',
  flags: [
    ...analyzeCommand.flags.filter((f) => !NOT_FOR_SUBMIT.has(f.name) && !AUTH_FLAG_NAMES.has(f.name)),
    SERVER_FLAG,
    ...AUTH_FLAGS,
    SCOPE_FLAG,
    { name: 'format', type: 'string', arg: 'F', default: 'id', help: 'id (the job id alone) | json (the job as the coordinator returned it)' },
    { name: 'quiet', short: 'q', type: 'boolean', help: 'nothing on stderr' },
    HELP_FLAG,
  ],
  examples: ['hessctl submit --model zoo:lenet --data fashion-mnist:train[0:256]', 'ID=$(hessctl submit --model zoo:mlp) && hessctl watch $ID'],
};

export async function submit(argv: string[]): Promise<number> {
  const { values } = parseFlags(submitCommand, argv);
  const format = choice(values, 'format', ['id', 'json'] as const) ?? 'id';
  const scope = (choice(values, 'scope', ['batch', 'dataset'] as const) ?? 'batch') as Scope;
  const shards = shardsFlag(values, scope);
  const partial = specFromFlags(values, givenFlags(argv));
  normalizeSpec(partial);
  return withConnection(values, async (conn) => {
    const spec = normalizeSpec(await resolveModel(conn, partial, values.quiet === true));
    const job = await conn.submitAnalysis(spec, { scope, shards });
    process.stdout.write(format === 'json' ? JSON.stringify(jobJson(job), null, 2) + '\n' : `${job.id}\n`);
    return 0;
  });
}
