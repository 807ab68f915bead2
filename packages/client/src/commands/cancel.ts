/** `hessctl cancel`: cancel a queued or running job. */
import { parseFlags, type Command } from '../flags.js';
import { AUTH_FLAGS } from './auth.js';
import { HELP_FLAG, oneId, SERVER_FLAG, withConnection } from './remote-common.js';

export const cancelCommand: Command = {
  name: 'cancel',
  summary: 'cancel a queued or running job (its workers stop its tasks)',
  usage: 'hessctl cancel ID [--server HOST:PORT]',
  positionals: true,
  flags: [SERVER_FLAG, ...AUTH_FLAGS, HELP_FLAG],
};

export async function cancel(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(cancelCommand, argv);
  const id = oneId(cancelCommand, positionals);
  return withConnection(values, async (conn) => {
    const job = await conn.cancelJob(id);
    process.stdout.write(`job ${job.id}: ${job.state}\n`);
    return 0;
  });
}
