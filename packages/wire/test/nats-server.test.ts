/**
 * startNatsServer against the real nats-server (Debian's 2.9): it picks a port and serves a
 * connection with JetStream; a restart on the same store keeps the port; an explicit port that is
 * taken fails at once naming the port; a bad config or flag fails with nats-server's own lines
 * (not a timeout); a detached server logs to its file from an offset; a binary that never listens
 * is killed after the timeout; findNatsServer's places. Skipped, saying why, without nats-server.
 */
import { connect } from 'nats';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { findNatsServer, NatsStartError, natsLastLines, natsServerMissing, startNatsServer, type NatsServer } from '../src/index.js';

const skip = findNatsServer() ? false : `needs nats-server (apt-get install nats-server): ${natsServerMissing()}`;
if (skip) process.stderr.write(`# SKIP: ${skip}\n`);

/** Output reaches us through pipes after the ports file is written: wait for a line rather than expect it at once. */
async function eventually(output: () => string, re: RegExp): Promise<void> {
  for (let i = 0; i < 400 && !re.test(output()); i++) await new Promise((r) => setTimeout(r, 25));
  assert.match(output(), re);
}

const isStartError = (reason: NatsStartError['reason'], check: (e: NatsStartError) => void) => (e: unknown) => {
  assert.ok(e instanceof NatsStartError, `a NatsStartError, got ${String(e)}`);
  assert.equal(e.reason, reason, e.message);
  assert.equal(e.code, 'FAILED_PRECONDITION');
  check(e);
  return true;
};

describe('startNatsServer on a real nats-server', { skip, timeout: 60_000 }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hessian-nats-start-'));
  const servers: NatsServer[] = [];
  after(async () => {
    for (const s of servers) await s.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  let first: NatsServer;
  test('port 0: nats-server picks the port, and it serves a connection with JetStream there', async () => {
    first = await startNatsServer({ storeDir: path.join(dir, 'js') });
    servers.push(first);
    assert.ok(first.port > 0 && first.port < 65536);
    assert.equal(first.url, `nats://127.0.0.1:${first.port}`);
    await eventually(first.output, new RegExp(`Listening for client connections on 127\\.0\\.0\\.1:${first.port}`));
    const nc = await connect({ servers: first.url, timeout: 5000 });
    try {
      const kv = await nc.jetstream().views.kv('start-test');
      await kv.put('k', 'v1');
      assert.equal((await kv.get('k'))?.string(), 'v1');
    } finally {
      await nc.close();
    }
  });

  test('-m -1: it picks a monitoring port too, read from the same ports file; /varz answers there', async () => {
    const s = await startNatsServer({ extraArgs: ['-m', '-1'] });
    servers.push(s);
    assert.equal(first.monitorPort, undefined, 'no monitoring port unless asked');
    assert.ok(s.monitorPort && s.monitorPort !== s.port, `monitor ${s.monitorPort}, client ${s.port}`);
    const varz = (await (await fetch(`http://127.0.0.1:${s.monitorPort}/varz`)).json()) as { port: number };
    assert.equal(varz.port, s.port);
  });

  test('an explicit port that is taken: fails at once, naming the port; the server holding it is untouched', async () => {
    await assert.rejects(
      startNatsServer({ port: first.port, storeDir: path.join(dir, 'js2') }),
      isStartError('port-in-use', (e) => {
        assert.equal(e.port, first.port);
        assert.match(e.message, new RegExp(`^nats-server could not listen on 127\\.0\\.0\\.1:${first.port}: the port is in use`));
        assert.match(e.output, /address already in use/);
      }),
    );
    const nc = await connect({ servers: first.url, timeout: 5000 });
    await nc.close();
  });

  test('killed and started again on the same store and port: the same port, the stream kept, the dead pid ports file gone', async () => {
    const port = first.port;
    await first.stop('SIGKILL');
    assert.deepEqual(readdirSync(path.join(dir, 'js')).filter((f) => f.endsWith('.ports')), [`nats-server_${first.pid}.ports`], 'SIGKILL leaves the ports file');
    const again = await startNatsServer({ port, storeDir: path.join(dir, 'js') });
    servers.push(again);
    assert.equal(again.port, port);
    assert.deepEqual(readdirSync(path.join(dir, 'js')).filter((f) => f.endsWith('.ports')), [`nats-server_${again.pid}.ports`]);
    const nc = await connect({ servers: again.url, timeout: 5000 });
    try {
      // The bucket's stream is on disk; its last write may not be (nats-server syncs on its own schedule, and this was SIGKILL).
      assert.deepEqual((await (await nc.jetstreamManager()).streams.names().next()), ['KV_start-test']);
    } finally {
      await nc.close();
    }
  });

  test("a config it cannot read, a config it cannot parse, an unknown flag: nats-server's own line, not a timeout", async () => {
    const missing = path.join(dir, 'no-such.conf');
    await assert.rejects(
      startNatsServer({ extraArgs: ['-c', missing] }),
      isStartError('exited', (e) => assert.match(e.message, new RegExp(`exited \\(exit code 1\\) before listening on 127\\.0\\.0\\.1 \\(a port of its choice\\): nats-server: open ${missing}: no such file or directory$`))),
    );
    const bad = path.join(dir, 'bad.conf');
    writeFileSync(bad, 'authorization {{{ user: \n');
    await assert.rejects(
      startNatsServer({ extraArgs: ['-c', bad] }),
      isStartError('exited', (e) => assert.match(e.message, /nats-server: Parse error on line \d+/)),
    );
    await assert.rejects(
      startNatsServer({ extraArgs: ['--no-such-flag'] }),
      isStartError('exited', (e) => {
        assert.match(e.message, /: flag provided but not defined: -no-such-flag$/);
        assert.doesNotMatch(e.message, /Usage/, 'the usage text is left out of the sentence');
      }),
    );
  });

  test('detached with a log file: this run starts at logOffset, output() is only this run, stop() ends it', async () => {
    const log = path.join(dir, 'nats.log');
    writeFileSync(log, 'an earlier run\n');
    const pids: number[] = [];
    const s = await startNatsServer({ logTo: log, detached: true, portsDir: dir, onSpawn: (pid) => pids.push(pid) });
    servers.push(s);
    assert.deepEqual(pids, [s.pid]);
    assert.equal(s.logOffset, 'an earlier run\n'.length);
    await eventually(s.output, /Server is ready/);
    assert.doesNotMatch(s.output(), /an earlier run/);
    await s.stop();
    assert.match(s.output(), /Server Exiting/);
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.ports')), [], 'a server stopped by SIGTERM removes its own ports file');
  });

  test('a binary that never listens is killed after the timeout; the message has its last lines', async () => {
    const fake = path.join(dir, 'bin', 'nats-server');
    mkdirSync(path.dirname(fake));
    writeFileSync(fake, '#!/bin/sh\necho "pretending to start"\nexec sleep 60\n');
    chmodSync(fake, 0o755);
    let pid = 0;
    await assert.rejects(
      startNatsServer({ binary: fake, timeoutMs: 500, onSpawn: (p) => (pid = p) }),
      isStartError('timeout', (e) => assert.match(e.message, /did not listen on 127\.0\.0\.1 \(a port of its choice\) within 0\.5 s \(stopped it\): pretending to start$/)),
    );
    assert.throws(() => process.kill(pid, 0), /ESRCH/, 'the process is gone');
    // findNatsServer: PATH first; HESSIAN_NATS_SERVER alone when set, and a sentence naming it when it points at nothing.
    assert.equal(findNatsServer({ PATH: path.dirname(fake) }), fake);
    assert.equal(findNatsServer({ HESSIAN_NATS_SERVER: fake, PATH: '' }), fake);
    const env = { HESSIAN_NATS_SERVER: path.join(dir, 'nothing-here'), PATH: path.dirname(fake) };
    assert.equal(findNatsServer(env), null);
    await assert.rejects(startNatsServer({ env }), isStartError('not-found', (e) => assert.match(e.message, /^HESSIAN_NATS_SERVER=.*nothing-here is not an executable file/)));
  });

  test('natsLastLines: without pid and time prefixes or the usage text', () => {
    assert.equal(natsLastLines('[12] 2026/01/02 03:04:05.678901 [INF] Starting\n[12] 2026/01/02 03:04:05.678902 [FTL] Error listening\n'), '[INF] Starting | [FTL] Error listening');
    assert.equal(natsLastLines('bad flag\n\nUsage: nats-server [options]\n  -p port\n'), 'bad flag');
    assert.equal(natsLastLines(''), '(nats-server wrote nothing)');
  });
});
