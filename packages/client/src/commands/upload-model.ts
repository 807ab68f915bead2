/** `hessctl upload-model`: a tfjs model (model.json and its weight files) into the cluster's store; prints its digest. */
import { UserError } from '@hessian/linalg';
import { parseFlags, type Command } from '../flags.js';
import { AUTH_FLAGS } from './auth.js';
import { HELP_FLAG, SERVER_FLAG, withConnection } from './remote-common.js';

export const uploadModelCommand: Command = {
  name: 'upload-model',
  summary: 'upload a tfjs model (model.json and its weight files) to the cluster and print its digest (use it as --model)',
  usage: 'hessctl upload-model PATH/model.json [--name NAME] [--server HOST:PORT]',
  positionals: true,
  flags: [
    SERVER_FLAG,
    ...AUTH_FLAGS,
    { name: 'name', type: 'string', arg: 'NAME', help: "a name for the model in the coordinator's store (default: the folder name of model.json)" },
    { name: 'quiet', short: 'q', type: 'boolean', help: 'print the digest alone, nothing on stderr' },
    HELP_FLAG,
  ],
  examples: ['hessctl upload-model ./my-model/model.json', 'hessctl submit --model $(hessctl upload-model ./my-model/model.json -q)'],
};

export async function uploadModel(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(uploadModelCommand, argv);
  if (positionals.length !== 1) throw new UserError(`give exactly one model.json: ${uploadModelCommand.usage}`);
  return withConnection(values, async (conn) => {
    const up = await conn.uploadModel(positionals[0], { name: typeof values.name === 'string' ? values.name : undefined });
    if (values.quiet !== true) process.stderr.write(`uploaded ${up.files.join(', ')} (${up.bytes} bytes)\n`);
    process.stdout.write(`${up.digest}\n`);
    return 0;
  });
}
