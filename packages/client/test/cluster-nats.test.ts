/**
 * How `hessctl cluster up` starts nats-server (startClusterNats, real nats-server, detached):
 * an explicit --nats-port taken after the early check is the same sentence, and the process it
 * spawned is gone; --nats-port 0 reuses the port the --dir had when nats-server can bind it and
 * lets nats-server pick one when it cannot (never a port found free first). From the command
 * line: a taken --nats-port and a HESSIAN_NATS_SERVER that points at nothing are one sentence,
 * exit 2, nothing started. Skipped, saying why, without nats-server or the built services.
 */
import { findNatsServer, type NatsServer } from '@hessian/wire';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ensureClusterAuth } from '../src/commands/cluster-auth.js';
import { startClusterNats } from '../src/commands/cluster-up.js';
import { COORDINATOR_MAIN, isAlive, WORKER_MAIN, type ClusterRecord } from '../src/commands/cluster.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const binary = findNatsServer();
const missing = [!binary && 'nats-server (apt-get install nats-server)', !existsSync(COORDINATOR_MAIN) && `${COORDINATOR_MAIN} (build the coordinator)`, !existsSync(WORKER_MAIN) && `${WORKER_MAIN} (build the worker)`].filter(Boolean);
const skip = missing.length ? `the cluster nats-server test needs ${missing.join(', ')}` : false;
if (skip) process.stderr.write(`# SKIP: ${skip}\n`);

function hessctl(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, HESSIAN_SERVER: '', ...env }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('cluster up starts nats-server on a port nats-server binds itself', { skip, timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'hessctl-nats-'));
  const servers: NatsServer[] = [];
  let holder: Server;
  let taken = 0;
  const record = (): ClusterRecord => ({ version: 1, dir, startedAt: new Date().toISOString(), server: '', natsUrl: '', backend: 'cpu', processes: [] });
  const config = () => ensureClusterAuth(dir).natsConfig;

  before(async () => {
    mkdirSync(join(dir, 'logs'), { recursive: true });
    holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    taken = (holder.address() as { port: number }).port;
  });
  after(async () => {
    for (const s of servers) await s.stop('SIGKILL');
    await new Promise((r) => holder.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  test('an explicit --nats-port taken by someone else: the --nats-port sentence, and the nats-server it spawned has exited', async () => {
    const rec = record();
    await assert.rejects(startClusterNats(binary!, dir, taken, undefined, config(), rec), new RegExp(`^UserError: --nats-port ${taken} is in use \\(another nats-server\\?\\); pick another with --nats-port`));
    assert.equal(rec.processes.length, 1, 'recorded as soon as spawned');
    assert.equal(isAlive(rec.processes[0].pid), false);
    assert.match(readFileSync(join(dir, 'logs', 'nats.log'), 'utf8'), new RegExp(`Error listening on port: 127\\.0\\.0\\.1:${taken}.*address already in use`));
  });

  let picked = 0;
  test('--nats-port 0 with the previous port taken: nats-server picks another, the record names the one that listens', async () => {
    const rec = record();
    const s = await startClusterNats(binary!, dir, 0, taken, config(), rec);
    servers.push(s);
    picked = s.port;
    assert.notEqual(s.port, taken);
    assert.deepEqual(rec.processes.map((p) => [p.role, p.pid]), [['nats', s.pid]]);
    assert.equal(rec.processes[0].logOffset, s.logOffset);
    assert.ok(s.logOffset > 0, 'the failed attempts came first in nats.log');
    assert.doesNotMatch(s.output(), /address already in use/, "this run's lines only");
    assert.deepEqual((JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as ClusterRecord).processes.map((p) => p.pid), [s.pid]);
    await s.stop();
  });

  test('--nats-port 0 with the previous port free again: nats-server binds that one (a restarted cluster keeps its NATS URL)', async () => {
    assert.ok(picked > 0, 'the previous test picked a port');
    const s = await startClusterNats(binary!, dir, 0, picked, config(), record());
    servers.push(s);
    assert.equal(s.port, picked);
    assert.equal(s.url, `nats://127.0.0.1:${picked}`);
  });

  test('from the command line: a taken --nats-port, a HESSIAN_NATS_SERVER that is not there: one sentence, exit 2, no cluster.json', () => {
    const d = join(dir, 'cli');
    const inUse = hessctl(['cluster', 'up', '--dir', d, '--nats-port', String(taken), '--port', '0']);
    assert.equal(inUse.code, 2, inUse.stderr);
    assert.equal(inUse.stderr, `hessctl: --nats-port ${taken} is in use (another nats-server?); pick another with --nats-port (0: nats-server picks one) or stop what holds it\n`);
    const noBinary = hessctl(['cluster', 'up', '--dir', d], { HESSIAN_NATS_SERVER: join(dir, 'no-nats-server') });
    assert.equal(noBinary.code, 2, noBinary.stderr);
    assert.equal(noBinary.stderr, `hessctl: HESSIAN_NATS_SERVER=${join(dir, 'no-nats-server')} is not an executable file: point it at nats-server, or unset it to use the one on PATH\n`);
    assert.ok(!existsSync(join(d, 'cluster.json')));
  });
});
