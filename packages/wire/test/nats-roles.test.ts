/**
 * The per-role NATS users of natsServerAuthConfig against a real nats-server 2.9 (JetStream):
 * what each role may do works (the worker reads an uploaded model from the object store and
 * publishes heartbeats, the coordinator publishes cancels, the trainer hears heartbeats), and
 * what it may not do is refused by the server and logged there: no connection without a
 * password, no cancel or heartbeat from the wrong role, no write to job state from a worker.
 */
import { connect, type NatsConnection } from 'nats';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BUCKETS, natsServerAuthConfig, newSecret, startNatsServer, SUBJECTS, type NatsRole, type NatsServer } from '../src/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
  let server: NatsServer | undefined;
  let readLog = () => '';
  let url = '';
  const conns: NatsConnection[] = [];
  /** nats-server's log line, waited for: it comes through a pipe, later than the refusal the client saw (a loaded machine). */
  const logged = async (re: RegExp) => {
    for (let i = 0; i < 400 && !re.test(readLog()); i++) await sleep(25);
    assert.match(readLog(), re);
  };
  const as = async (role: NatsRole) => {
    const nc = await connect({ servers: url, user: role, pass: pw[role] });
    conns.push(nc);
    return nc;
  };

  before(async () => {
    writeFileSync(path.join(dir, 'auth.conf'), natsServerAuthConfig((r) => pw[r]), { mode: 0o600 });
    server = await startNatsServer({ storeDir: path.join(dir, 'js'), extraArgs: ['-c', path.join(dir, 'auth.conf')], timeoutMs: 30_000 });
    url = server.url;
    readLog = server.output;
  });

  after(async () => {
    for (const c of conns) await c.close().catch(() => undefined);
    await server?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('no password, a wrong password: no connection, and the server logs it', async () => {
    await assert.rejects(connect({ servers: url, timeout: 3000 }), /Authorization Violation/i);
    await assert.rejects(connect({ servers: url, user: 'worker', pass: pw.trainer, timeout: 3000 }), /Authorization Violation/i);
    await logged(/authentication error - User ""/);
    await logged(/authentication error - User "worker"/);
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
    await logged(/Publish Violation - User "trainer", Subject "hessian\.workers\.heartbeat"/);
  });

  test('cancels: the coordinator reaches the workers; a worker or the trainer cannot cancel a job', async () => {
    const coord = await as('coordinator');
    const worker = await as('worker');
    const trainer = await as('trainer');
    assert.deepEqual(await heard(worker, SUBJECTS.allCancels, () => coord.publish(SUBJECTS.cancel('job-1'), '')), ['']);
    assert.deepEqual(await heard(coord, SUBJECTS.allCancels, () => (worker.publish(SUBJECTS.cancel('job-2'), 'x'), trainer.publish(SUBJECTS.cancel('job-3'), 'y'))), []);
    assert.deepEqual(await heard(coord, SUBJECTS.allEvents, () => worker.publish(SUBJECTS.events('job-2'), 'forged')), []);
    await logged(/Publish Violation - User "worker", Subject "hessian\.jobs\.job-2\.cancel"/);
    // The trainer may not even listen to cancels.
    const sub = trainer.subscribe(SUBJECTS.allCancels);
    await trainer.flush().catch(() => undefined);
    await sleep(200);
    await logged(/Subscription Violation - User "trainer", Subject "hessian\.jobs\.\*\.cancel"/);
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
    // The worker's from bytes whose bare hex, "1e5...", nats-server read as a number and refused.
    const pw = { COORDINATOR_PASSWORD: newSecret(), WORKER_PASSWORD: newSecret(Buffer.from('1e5f'.padEnd(48, '7'), 'hex')), TRAINER_PASSWORD: newSecret() };
    writeFileSync(path.join(dir, 'auth.conf'), conf);
    const nats = await startNatsServer({ extraArgs: ['-c', path.join(dir, 'auth.conf')], env: { ...process.env, ...pw }, timeoutMs: 30_000 });
    const url = nats.url;
    try {
      const nc = await connect({ servers: url, user: 'worker', pass: pw.WORKER_PASSWORD, timeout: 5000 });
      await nc.close();
      await assert.rejects(connect({ servers: url, user: 'worker', pass: '$WORKER_PASSWORD', timeout: 3000 }), /Authorization Violation/i);
    } catch (e) {
      throw new Error(`${(e as Error).message}\nnats-server said:\n${nats.output()}`);
    } finally {
      await nats.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
