/** `hessctl jobs`: the cluster's jobs, newest first. */
import { choice, intFlag, parseFlags, type Command } from '../flags.js';
import type { Job } from '../grpc-client.js';
import { formatDuration } from '../progress.js';
import { AUTH_FLAGS } from './auth.js';
import { HELP_FLAG, jobJson, liveProgress, SERVER_FLAG, table, withConnection } from './remote-common.js';

/** ListJobs' limit meaning "every job the coordinator keeps" (the field is a uint32). */
export const ALL_JOBS = 0xffffffff;

export const jobsCommand: Command = {
  name: 'jobs',
  summary: 'list the jobs of the cluster, newest first',
  usage: 'hessctl jobs [--limit N] [--format table|json] [--server HOST:PORT]',
  flags: [
    SERVER_FLAG,
    ...AUTH_FLAGS,
    { name: 'limit', type: 'string', arg: 'N', default: '20', help: 'at most N jobs (0: all the coordinator keeps)' },
    { name: 'format', type: 'string', arg: 'F', default: 'table', help: 'table | json' },
    HELP_FLAG,
  ],
};

export function jobsTable(jobs: Job[], now = Date.now()): string {
  if (jobs.length === 0) return 'no jobs\n';
  return table(
    [
      ['id', 'state', 'model', 'data', 'scope', 'tasks', 'HVPs', 'elapsed', 'created'],
      ...jobs.map((j) => {
        const p = liveProgress(j, now);
        return [j.id, j.state, j.spec?.model ?? '', j.spec?.data || '(default)', j.spec?.scope || 'batch', `${p.tasksDone + p.tasksSkipped}/${p.tasksTotal}`, String(p.hvps), formatDuration(p.elapsedSeconds), j.createdAt];
      }),
    ],
    new Set([5, 6, 7]),
  );
}

export async function jobs(argv: string[]): Promise<number> {
  const { values } = parseFlags(jobsCommand, argv);
  const limit = intFlag(values, 'limit', 0, 100000) ?? 20;
  const format = choice(values, 'format', ['table', 'json'] as const) ?? 'table';
  return withConnection(values, async (conn) => {
    // The coordinator reads limit 0 as its default page (100); the largest uint32 asks for all.
    const list = await conn.listJobs(limit === 0 ? ALL_JOBS : limit);
    process.stdout.write(format === 'json' ? JSON.stringify(list.map(jobJson), null, 2) + '\n' : jobsTable(list));
    return 0;
  });
}
