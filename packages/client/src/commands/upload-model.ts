/** `hessctl upload-model`: a tfjs model (model.json and its weight files) or one .onnx / .h5 / .keras file into the cluster's store; prints its digest. */
import { UserError } from '@hessian/linalg';
import { parseFlags, type Command } from '../flags.js';
import { AUTH_FLAGS } from './auth.js';
import { HELP_FLAG, SERVER_FLAG, withConnection } from './remote-common.js';

export const uploadModelCommand: Command = {
  name: 'upload-model',
  summary: 'upload a model (tfjs model.json and its weight files, or one .onnx, .h5 or .keras file) to the cluster and print its digest (use it as --model)',
  usage: 'hessctl upload-model PATH/model.json|PATH.onnx|PATH.h5|PATH.keras [--name NAME] [--server HOST:PORT]',
  positionals: true,
  flags: [
    SERVER_FLAG,
    ...AUTH_FLAGS,
    { name: 'name', type: 'string', arg: 'NAME', help: "a name for the model in the coordinator's store (default: the folder name of model.json, or the file name)" },
    { name: 'quiet', short: 'q', type: 'boolean', help: 'print the digest alone, nothing on stderr' },
    HELP_FLAG,
  ],
  examples: ['hessctl upload-model ./my-model/model.json', 'hessctl upload-model ./resnet.onnx', 'hessctl upload-model ./mobilenet.keras', 'hessctl submit --model $(hessctl upload-model ./my-model/model.json -q)'],
};

export async function uploadModel(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(uploadModelCommand, argv);
  if (positionals.length !== 1) throw new UserError(`give exactly one model (a model.json, .onnx, .h5 or .keras file): ${uploadModelCommand.usage}`);
  return withConnection(values, async (conn) => {
    const up = await conn.uploadModel(positionals[0], { name: typeof values.name === 'string' ? values.name : undefined });
    if (values.quiet !== true) process.stderr.write(`uploaded ${up.files.join(', ')} (${up.bytes} bytes)\n`);
    process.stdout.write(`${up.digest}\n`);
    return 0;
  });
}
