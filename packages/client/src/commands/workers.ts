/** `hessctl workers`: the live workers the coordinator sees. */
import { choice, parseFlags, type Command } from '../flags.js';
import type { WorkerInfo } from '../grpc-client.js';
import { AUTH_FLAGS } from './auth.js';
import { HELP_FLAG, SERVER_FLAG, table, withConnection } from './remote-common.js';

export const workersCommand: Command = {
  name: 'workers',
  summary: 'list the live workers the coordinator sees (from their heartbeats)',
  usage: 'hessctl workers [--format table|json] [--server HOST:PORT]',
  flags: [SERVER_FLAG, ...AUTH_FLAGS, { name: 'format', type: 'string', arg: 'F', default: 'table', help: 'table | json' }, HELP_FLAG],
};

export function fmtBytes(n: number): string {
  if (!n) return '-';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let x = n;
  while (x >= 1024 && i < u.length - 1) {
    x /= 1024;
    i++;
  }
  return `${x.toFixed(i === 0 ? 0 : 1)} ${u[i]}`;
}

export function heartbeatAge(iso: string, now = Date.now()): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return iso || '-';
  return `${Math.max(0, (now - t) / 1000).toFixed(1)}s ago`;
}

export function workersTable(ws: WorkerInfo[], now = Date.now()): string {
  if (ws.length === 0) return 'no live workers (start some with `hessctl cluster up --workers N`)\n';
  return table(
    [
      ['id', 'address', 'backend', 'device', 'capacity', 'running', 'memory', 'last heartbeat'],
      ...ws.map((w) => [w.id, w.address, w.backend, w.device || '-', String(w.capacity), String(w.running), fmtBytes(Number(w.memoryBytes)), heartbeatAge(w.lastHeartbeat, now)]),
    ],
    new Set([4, 5, 6]),
  );
}

export async function workers(argv: string[]): Promise<number> {
  const { values } = parseFlags(workersCommand, argv);
  const format = choice(values, 'format', ['table', 'json'] as const) ?? 'table';
  return withConnection(values, async (conn) => {
    const list = await conn.listWorkers();
    process.stdout.write(format === 'json' ? JSON.stringify(list, null, 2) + '\n' : workersTable(list));
    return 0;
  });
}
