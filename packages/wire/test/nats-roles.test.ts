/**
 * The per-role NATS users of natsServerAuthConfig against a real nats-server 2.9 (JetStream):
 * what each role may do works (the worker reads an uploaded model from the object store and
 * publishes heartbeats, the coordinator publishes cancels, the trainer hears heartbeats), and
 * what it may not do is refused by the server and logged there: no connection without a
 * password, no cancel or heartbeat from the wrong role, no write to job state from a worker.
 */
import { connect, type NatsConnection } from 'nats';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BUCKETS, natsServerAuthConfig, newSecret, SUBJECTS, type NatsRole } from '../src/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function natsBinary(): string {
  if (process.env['HESSIAN_NATS_SERVER']) return process.env['HESSIAN_NATS_SERVER'];
  for (const d of (process.env['PATH'] ?? '').split(path.delimiter)) if (d && existsSync(path.join(d, 'nats-server'))) return path.join(d, 'nats-server');
  return '/usr/sbin/nats-server';
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });

/** Collects what arrives on `subject` for `ms`. */
async function heard(nc: NatsConnection, subject: string, act: () => Promise<void> | void, ms = 400): Promise<string[]> {
  const got: string[] = [];
  const sub = nc.subscribe(subject);
  void (async () => {
    for await (const m of sub) got.push(new TextDecoder().decode(m.data));
  })();
  await nc.flush();
  await act();
  await sleep(ms);
  sub.unsubscribe();
  return got;
}

describe('NATS users per role (natsServerAuthConfig) on a real nats-server', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hessian-nats-roles-'));
  const pw: Record<NatsRole, string> = { coordinator: newSecret(), worker: newSecret(), trainer: newSecret() };
  let server: ChildProcess;
  let log = '';
  let url = '';
  const conns: NatsConnection[] = [];
  const as = async (role: NatsRole) => {
    const nc = await connect({ servers: url, user: role, pass: pw[role] });
    conns.push(nc);
    return nc;
  };

  before(async () => {
    const port = await freePort();
    url = `nats://127.0.0.1:${port}`;
    writeFileSync(path.join(dir, 'auth.conf'), natsServerAuthConfig((r) => pw[r]), { mode: 0o600 });
    server = spawn(natsBinary(), ['-js', '-sd', path.join(dir, 'js'), '-p', String(port), '-a', '127.0.0.1', '-c', path.join(dir, 'auth.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    server.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    for (const until = Date.now() + 30_000; ; ) {
      const ok = await new Promise<boolean>((r) => {
        const c = tcpConnect(port, '127.0.0.1');
        c.once('connect', () => (c.destroy(), r(true)));
        c.once('error', () => r(false));
      });
      if (ok) break;
      if (Date.now() > until) throw new Error(`nats-server did not start:\n${log}`);
      await sleep(50);
    }
  });

  after(async () => {
    for (const c of conns) await c.close().catch(() => undefined);
    server?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('no password, a wrong password: no connection, and the server logs it', async () => {
    await assert.rejects(connect({ servers: url, timeout: 3000 }), /Authorization Violation/i);
    await assert.rejects(connect({ servers: url, user: 'worker', pass: pw.trainer, timeout: 3000 }), /Authorization Violation/i);
    await sleep(100);
    assert.match(log, /authentication error - User ""/);
    assert.match(log, /authentication error - User "worker"/);
  });

  test('the worker reads an uploaded model from the object store; the coordinator owns it', async () => {
    const coord = await as('coordinator');
    const os1 = await coord.jetstream().views.os(BUCKETS.models);
    const blob = new Uint8Array(300_000).map((_, i) => (i * 7) % 251);
    await os1.putBlob({ name: 'sha256:abc' }, blob);
    const worker = await as('worker');
    const got = await (await worker.jetstream().views.os(BUCKETS.models)).getBlob('sha256:abc');
    assert.deepEqual(got, blob);
    // ... but may not write it, nor job state
    await assert.rejects((await worker.jetstream().views.os(BUCKETS.models)).putBlob({ name: 'sha256:forged' }, new Uint8Array(10)));
    await assert.rejects(worker.jetstream().views.kv(BUCKETS.jobs));
  });

  test('heartbeats: from the worker heard by coordinator and trainer; from the trainer or the coordinator-only subjects: refused', async () => {
    const coord = await as('coordinator');
    const worker = await as('worker');
    const trainer = await as('trainer');
    assert.deepEqual(await heard(coord, SUBJECTS.heartbeat, () => worker.publish(SUBJECTS.heartbeat, '{"id":"w1"}')), ['{"id":"w1"}']);
    assert.deepEqual(await heard(trainer, SUBJECTS.heartbeat, () => worker.publish(SUBJECTS.heartbeat, '{"id":"w2"}')), ['{"id":"w2"}']);
    assert.deepEqual(await heard(coord, SUBJECTS.heartbeat, () => trainer.publish(SUBJECTS.heartbeat, '{"id":"rogue"}')), []);
    assert.match(log, /Publish Violation - User "trainer", Subject "hessian\.workers\.heartbeat"/);
  });

  test('cancels: the coordinator reaches the workers; a worker or the trainer cannot cancel a job', async () => {
    const coord = await as('coordinator');
    const worker = await as('worker');
    const trainer = await as('trainer');
    assert.deepEqual(await heard(worker, SUBJECTS.allCancels, () => coord.publish(SUBJECTS.cancel('job-1'), '')), ['']);
    assert.deepEqual(await heard(coord, SUBJECTS.allCancels, () => (worker.publish(SUBJECTS.cancel('job-2'), 'x'), trainer.publish(SUBJECTS.cancel('job-3'), 'y'))), []);
    assert.deepEqual(await heard(coord, SUBJECTS.allEvents, () => worker.publish(SUBJECTS.events('job-2'), 'forged')), []);
    assert.match(log, /Publish Violation - User "worker", Subject "hessian\.jobs\.job-2\.cancel"/);
    // The trainer may not even listen to cancels.
    const sub = trainer.subscribe(SUBJECTS.allCancels);
    await trainer.flush().catch(() => undefined);
    await sleep(200);
    assert.match(log, /Subscription Violation - User "trainer", Subject "hessian\.jobs\.\*\.cancel"/);
    sub.unsubscribe();
  });
});

describe('k8s/base/nats-auth.yaml', () => {
  const yaml = readFileSync(fileURLToPath(new URL('../../../../k8s/base/nats-auth.yaml', import.meta.url)), 'utf8');
  // The block scalar under `auth.conf: |`, its 4-space indentation removed.
  const conf = yaml
    .slice(yaml.indexOf('auth.conf: |\n') + 'auth.conf: |\n'.length)
    .split('\n')
    .map((l) => l.replace(/^ {4}/, ''))
    .join('\n');
  const envRef = (r: NatsRole) => ({ env: `${r.toUpperCase()}_PASSWORD` });

  test('is natsServerAuthConfig with the passwords as $ROLE_PASSWORD references', () => {
    assert.equal(conf, natsServerAuthConfig(envRef));
  });

  test('nats-server resolves the references from its environment: the worker connects with its password, a wrong one is refused', { timeout: 30_000 }, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hessian-nats-k8s-'));
    const pw = { COORDINATOR_PASSWORD: newSecret(), WORKER_PASSWORD: newSecret(), TRAINER_PASSWORD: newSecret() };
    writeFileSync(path.join(dir, 'auth.conf'), conf);
    const port = await freePort();
    const p = spawn(natsBinary(), ['-p', String(port), '-a', '127.0.0.1', '-c', path.join(dir, 'auth.conf')], { stdio: 'ignore', env: { ...process.env, ...pw } });
    try {
      let nc: NatsConnection | null = null;
      // Until nats-server listens (seconds on a loaded machine); a refused password fails at once.
      for (const until = Date.now() + 20_000; !nc; ) {
        nc = await connect({ servers: `nats://127.0.0.1:${port}`, user: 'worker', pass: pw.WORKER_PASSWORD, timeout: 2000 }).catch((e: Error) => {
          if (Date.now() > until || /Authorization/i.test(e.message)) throw e;
          return sleep(100).then(() => null);
        });
      }
      await nc.close();
      await assert.rejects(connect({ servers: `nats://127.0.0.1:${port}`, user: 'worker', pass: '$WORKER_PASSWORD', timeout: 3000 }), /Authorization Violation/i);
    } finally {
      p.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
