/**
 * `hessctl cluster up --port 0` picks the coordinator's port before the coordinator binds it, so
 * another program can take it in between (seen in CI: EADDRINUSE, the cluster did not start).
 * cluster up then picks another port and starts the coordinator again. The race is made certain
 * here: the --dir's previous port (which --port 0 reuses when a bind on 127.0.0.1 succeeds) is
 * held on 127.0.0.2, which that check does not see but the coordinator's bind on 0.0.0.0 does.
 * Skipped, saying why, without nats-server or the built services.
 */
import { findNatsServer } from '@hessian/wire';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { COORDINATOR_MAIN, WORKER_MAIN, type ClusterRecord } from '../src/commands/cluster.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const missing = [!findNatsServer() && 'nats-server (apt-get install nats-server)', !existsSync(COORDINATOR_MAIN) && `${COORDINATOR_MAIN} (build the coordinator)`, !existsSync(WORKER_MAIN) && `${WORKER_MAIN} (build the worker)`].filter(Boolean);
const skip = missing.length ? `the cluster port race test needs ${missing.join(', ')}` : false;
if (skip) process.stderr.write(`# SKIP: ${skip}\n`);

function hessctl(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, HESSIAN_SERVER: '' }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('cluster up --port 0 when its port is taken before the coordinator binds it', { skip, timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'hessctl-port-race-'));
  let holder: Server;
  let taken = 0;

  before(async () => {
    holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.2', r));
    taken = (holder.address() as { port: number }).port;
    writeFileSync(join(dir, 'ports.json'), JSON.stringify({ grpc: taken, nats: 0, metrics: -1 }) + '\n');
  });
  after(async () => {
    if (existsSync(join(dir, 'cluster.json'))) hessctl(['cluster', 'down', '--dir', dir, '--grace', '2']);
    await new Promise((r) => holder.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  test('the coordinator is started again on another port; the record and ports.json name the one it listens on', () => {
    const up = hessctl(['cluster', 'up', '--workers', '1', '--dir', dir, '--port', '0', '--nats-port', '0', '--metrics-port', '-1', '--backend', 'cpu', '--timeout', '60', '--format', 'json']);
    assert.equal(up.code, 0, up.stderr);
    const rec = JSON.parse(up.stdout) as ClusterRecord;
    const log = readFileSync(join(dir, 'logs', 'coordinator.log'), 'utf8');
    assert.match(log, new RegExp(`EADDRINUSE: address already in use 0\\.0\\.0\\.0:${taken}`), 'the first start met the taken port');
    const port = Number(rec.server.split(':')[1]);
    assert.notEqual(port, taken);
    assert.deepEqual(rec.processes.map((p) => p.role), ['nats', 'coordinator', 'worker'], 'the failed coordinator is not in the record');
    assert.equal(JSON.parse(readFileSync(join(dir, 'ports.json'), 'utf8')).grpc, port);
    const st = hessctl(['cluster', 'status', '--dir', dir]);
    assert.equal(st.code, 0, st.stdout + st.stderr);
    assert.match(st.stdout, /1 workers? registered/);
    const down = hessctl(['cluster', 'down', '--dir', dir, '--grace', '5']);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /stopped 3 processes/);
  });
});
