/** `hessctl watch`: a job's events, one line (or JSON object) each, until it ends. */
import { choice, intFlag, parseFlags, type Command } from '../flags.js';
import type { JobEvent } from '../grpc-client.js';
import { AUTH_FLAGS } from './auth.js';
import { HELP_FLAG, oneId, progressText, SERVER_FLAG, withConnection } from './remote-common.js';

export const watchCommand: Command = {
  name: 'watch',
  summary: "follow a job's events until it ends (exit 0 when it succeeded, 1 when it failed or was cancelled)",
  usage: 'hessctl watch ID [--after N] [--format lines|json] [--server HOST:PORT]',
  positionals: true,
  flags: [
    SERVER_FLAG,
    ...AUTH_FLAGS,
    { name: 'after', type: 'string', arg: 'N', default: '0', help: 'show only events after sequence number N (0: from the start)' },
    { name: 'format', type: 'string', arg: 'F', default: 'lines', help: 'lines (time, type, task, worker, message) | json (one JSON event per line)' },
    HELP_FLAG,
  ],
  examples: ['hessctl watch 3f2c9e1a', 'hessctl watch 3f2c9e1a --format json | jq .type'],
};

function shortTime(t: string): string {
  return /^\d{4}-\d\d-\d\dT/.test(t) ? t.slice(11, 23) : t;
}

/** A partial result, e.g. {"scope":"conv1","trace":{"mean":..,"stderr":..,"probes":..}}, in a few words. */
export function partialText(json: string): string {
  try {
    const p = JSON.parse(json) as Record<string, unknown>;
    const parts: string[] = [];
    if (typeof p.scope === 'string') parts.push(p.scope);
    for (const [k, v] of Object.entries(p)) {
      if (k === 'scope') continue;
      const o = v as Record<string, unknown> | null;
      if (o && typeof o === 'object' && typeof o.mean === 'number')
        parts.push(`${k} ${o.mean.toPrecision(5)}${typeof o.stderr === 'number' ? ` ± ${o.stderr.toPrecision(2)}` : ''}${typeof o.probes === 'number' ? ` (${o.probes} probes)` : ''}`);
      else parts.push(`${k} ${JSON.stringify(v)}`);
    }
    return parts.join(' ');
  } catch {
    return json;
  }
}

export function eventLine(ev: JobEvent): string {
  const msg =
    ev.message ||
    (ev.partialJson ? partialText(ev.partialJson) : '') ||
    (ev.type === 'progress' || ev.type === 'task-done' ? progressText(ev.progress) : '') ||
    (ev.state && ev.state !== 'JOB_STATE_UNSPECIFIED' ? ev.state : '');
  return [shortTime(ev.time).padEnd(12), ev.type.padEnd(17), (ev.taskId || '-').padEnd(24), (ev.worker || '-').padEnd(10), msg].join(' ').trimEnd();
}

export async function watch(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(watchCommand, argv);
  const id = oneId(watchCommand, positionals);
  const after = intFlag(values, 'after', 0) ?? 0;
  const format = choice(values, 'format', ['lines', 'json'] as const) ?? 'lines';
  return withConnection(values, async (conn) => {
    let last: JobEvent | null = null;
    for await (const ev of conn.watchJob(id, {
      afterSequence: after,
      onReconnect: (r) => process.stderr.write(`lost the coordinator (${r.error}); reconnecting, resuming after event ${r.afterSequence}\n`),
    })) {
      last = ev;
      process.stdout.write(format === 'json' ? JSON.stringify(ev) + '\n' : eventLine(ev) + '\n');
    }
    const state = last && ['succeeded', 'failed', 'cancelled'].includes(last.type) ? last.type : (await conn.getJob(id)).state.toLowerCase();
    return state === 'succeeded' ? 0 : 1;
  });
}
