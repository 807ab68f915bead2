/**
 * `cluster up` on a reused --dir (issue 16, items 8 and 9): a failed start stops everything it
 * started; a second run on the same --dir reads only its own log lines, records the right
 * ports and keeps the coordinator's port (--port 0 chose it once); with HESSIAN_API_TOKENS the
 * start-up and `cluster status` use a token; `cluster down` leaves no process. One worker, real
 * services and nats-server; skipped, saying why, when they are not built or installed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { COORDINATOR_MAIN, findNatsServer, isAlive, WORKER_MAIN, type ClusterRecord } from '../src/commands/cluster.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const TOKEN = 'cluster-restart-test-token';

function hessctl(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, HESSIAN_BACKEND: 'cpu', HESSIAN_SERVER: '', HESSIAN_TOKEN: '', HESSIAN_API_TOKENS: TOKEN, ...env },
    timeout: 180_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Pids of live processes of a cluster: nats-server by its store DIR/nats in its arguments (its port
 * is not there when it picked it: -p -1), the services by the NATS URL in their environment.
 */
function processesOf(natsPort: number, dir: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || !isAlive(Number(d))) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      const env = readFileSync(`/proc/${d}/environ`, 'utf8').split('\0');
      if ((cmd[0].endsWith('nats-server') && cmd.includes(join(dir, 'nats'))) || env.includes(`HESSIAN_NATS_URL=nats://127.0.0.1:${natsPort}`)) out.push(Number(d));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return out;
}

const missing = [
  !existsSync(COORDINATOR_MAIN) && `${COORDINATOR_MAIN} (build the coordinator)`,
  !existsSync(WORKER_MAIN) && `${WORKER_MAIN} (build the worker)`,
  !findNatsServer() && 'nats-server (apt-get install nats-server)',
  !existsSync('/proc/self/environ') && '/proc',
].filter(Boolean);
const skip = missing.length ? `the cluster restart test needs ${missing.join(', ')}` : false;
if (skip) process.stderr.write(`# SKIP: ${skip}\n`);

const UP = ['cluster', 'up', '--workers', '1', '--port', '0', '--nats-port', '0', '--metrics-port', '-1', '--backend', 'cpu', '--format', 'json'];

describe('cluster up on a reused --dir', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'hessctl-restart-'));
  after(() => {
    if (existsSync(join(dir, 'cluster.json'))) hessctl(['cluster', 'down', '--dir', dir, '--grace', '2']);
  });

  test('a start that fails stops every process it started and leaves no cluster.json', () => {
    // The worker refuses its environment and exits (HESSIAN_MAX_ENGINES must be at least 1; only
    // workers read it): the start fails after nats-server and the coordinator were up. (A one-second
    // --timeout did this only on a loaded machine: a quiet one started the whole cluster in time.)
    const up = hessctl([...UP, '--dir', dir], { HESSIAN_MAX_ENGINES: '0' });
    assert.equal(up.code, 2, up.stdout + up.stderr);
    assert.match(up.stderr, /worker-1 exited during start.*HESSIAN_MAX_ENGINES: must be a whole number >= 1/s);
    assert.match(up.stderr, /^hessctl: /, 'no blank line before the sentence');
    const ports = JSON.parse(readFileSync(join(dir, 'ports.json'), 'utf8')) as { nats: number };
    assert.deepEqual(processesOf(ports.nats, dir), [], 'no process of the failed start is left');
    assert.ok(!existsSync(join(dir, 'cluster.json')));
  });

  let first: ClusterRecord;
  test('with API tokens on, cluster up checks its workers with a token; status answers; the record has the ports the services report', () => {
    const up = hessctl([...UP, '--dir', dir, '--timeout', '120']);
    assert.equal(up.code, 0, up.stderr);
    first = JSON.parse(up.stdout) as ClusterRecord;
    const coord = first.processes.find((p) => p.role === 'coordinator')!;
    assert.deepEqual(processesOf(Number(new URL(first.natsUrl).port), dir).sort(), first.processes.map((p) => p.pid).sort(), 'processesOf finds them all');
    assert.equal(first.server, `127.0.0.1:${coord.grpcPort}`);
    const st = hessctl(['cluster', 'status', '--dir', dir]);
    assert.equal(st.code, 0, st.stdout + st.stderr);
    assert.match(st.stdout, /answers; 1 worker registered/);
    const w = hessctl(['workers', '--server', first.server, '--format', 'json'], { HESSIAN_TOKEN: TOKEN });
    assert.equal(w.code, 0, w.stderr);
    const worker = first.processes.find((p) => p.role === 'worker')!;
    assert.deepEqual((JSON.parse(w.stdout) as { address: string }[]).map((x) => x.address), [`127.0.0.1:${worker.grpcPort}`]);
    const down = hessctl(['cluster', 'down', '--dir', dir, '--grace', '5']);
    assert.equal(down.code, 0, down.stderr);
  });

  test('a second run on the same --dir keeps the ports, reads only its own log lines, and down leaves no process', () => {
    assert.ok(first, 'the previous test started a cluster');
    const up = hessctl([...UP, '--dir', dir, '--timeout', '120']);
    assert.equal(up.code, 0, up.stderr);
    const second = JSON.parse(up.stdout) as ClusterRecord;
    assert.equal(second.server, first.server, 'the coordinator keeps its port');
    assert.equal(second.natsUrl, first.natsUrl);
    for (const p of second.processes) assert.ok(isAlive(p.pid), `${p.id} alive`);
    assert.notEqual(second.processes[1].pid, first.processes[1].pid);
    // The log holds both runs: two "listening" lines, and the record's offset points past the first.
    const log = readFileSync(join(dir, 'logs', 'worker-1.log'), 'utf8');
    assert.equal(log.split('\n').filter((l) => l.includes('"msg":"listening"')).length, 2);
    const w2 = second.processes.find((p) => p.role === 'worker')!;
    assert.ok((w2.logOffset ?? 0) > 0);
    const down = hessctl(['cluster', 'down', '--dir', dir, '--grace', '5']);
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(processesOf(Number(new URL(second.natsUrl).port), dir), []);
  });
});
