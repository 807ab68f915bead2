/**
 * Security (issue 6): certificates made with openssl in a temp dir (CA, server/client
 * certificates, and a second CA); nats-server with --user/--pass; a coordinator with TLS and
 * bearer tokens that dials workers with mutual TLS; a worker that requires mutual TLS.
 * - an analysis through hessctl with the CA and a valid token succeeds;
 * - a plaintext client is refused; the worker refuses clients without a certificate from the CA; no token and a wrong token are UNAUTHENTICATED (health stays open);
 * - a worker whose certificate comes from another CA never joins, so never gets a prepared engine
 *   or a task (the coordinator's mTLS handshake with its address fails);
 * - model paths outside HESSIAN_DATA_ROOTS, a `..` escape and a symlink out are INVALID_ARGUMENT;
 * - services connect to NATS with the right credentials; a worker with wrong ones never registers;
 *   over NATS TLS, a worker with the CA connects and one trusting another CA does not.
 */
import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS, loadProtos, type CoordinatorClient } from '@hessian/wire';
import { service as healthService } from 'grpc-health-check';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { COORDINATOR_MAIN, Nats, Service, WORKER_MAIN } from './harness.js';

const HESSCTL = fileURLToPath(new URL('../../../../packages/client/dist/src/cli.js', import.meta.url));
const TOKEN = 'tok-3f9a1c7e5b';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, and certificates it signs (SAN localhost and 127.0.0.1, no EKU restriction: usable as server and client). */
function makeCa(dir: string, name: string): void {
  openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`);
}
function makeCert(dir: string, ca: string, name: string): void {
  openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  writeFileSync(path.join(dir, `${name}.ext`), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n');
  openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
}

type Unary = (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: unknown) => void) => unknown;
function call(c: CoordinatorClient, method: string, req: object, token?: string): Promise<unknown> {
  const md = new grpc.Metadata();
  if (token !== undefined) md.set('authorization', `Bearer ${token}`);
  const f = (c as unknown as Record<string, Unary>)[method].bind(c);
  return new Promise((resolve, reject) => f(req, md, { deadline: Date.now() + 5000 }, (e, r) => (e ? reject(e) : resolve(r))));
}

describe('security: TLS, mutual TLS, bearer tokens, data roots, NATS credentials', { timeout: 90_000 }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hessian-sec-'));
  const root = path.join(dir, 'root');
  const cacheDir = path.join(dir, 'cache');
  const f = (n: string) => path.join(dir, n);
  let nats: Nats;
  let coord: Service;
  const workers: Service[] = [];
  let client: CoordinatorClient;
  let natsUrl = '';
  const natsCreds = { HESSIAN_NATS_USER: 'hessian', HESSIAN_NATS_PASSWORD: 's3cret' };

  const workerEnv = (id: string, cert: string, ca: string, extra: Record<string, string> = {}) => ({
    HESSIAN_NATS_URL: natsUrl,
    ...natsCreds,
    HESSIAN_GRPC_PORT: '0',
    HESSIAN_METRICS_PORT: '-1',
    HESSIAN_WORKER_ID: id,
    HESSIAN_BACKEND: 'cpu',
    HESSIAN_HEARTBEAT_S: '0.5',
    HESSIAN_CACHE_DIR: cacheDir,
    HESSIAN_DATA_ROOTS: root,
    HESSIAN_TLS_CERT: f(`${cert}.pem`),
    HESSIAN_TLS_KEY: f(`${cert}.key`),
    HESSIAN_TLS_CA: f(`${ca}.pem`),
    HESSIAN_TLS_CLIENT_AUTH: 'require',
    ...extra,
  });

  const listWorkers = async () => ((await call(client, 'ListWorkers', {}, TOKEN)) as { workers: { id: string }[] }).workers.map((w) => w.id);

  before(async () => {
    mkdirSync(root);
    mkdirSync(cacheDir);
    makeCa(dir, 'ca');
    makeCert(dir, 'ca', 'server');
    makeCert(dir, 'ca', 'client');
    makeCa(dir, 'other-ca');
    makeCert(dir, 'other-ca', 'rogue');
    nats = new Nats(0, ['--user', natsCreds.HESSIAN_NATS_USER, '--pass', natsCreds.HESSIAN_NATS_PASSWORD]);
    await nats.start();
    natsUrl = nats.url;
    coord = await Service.start('coordinator', COORDINATOR_MAIN, {
      HESSIAN_NATS_URL: natsUrl,
      ...natsCreds,
      HESSIAN_GRPC_PORT: '0',
      HESSIAN_METRICS_PORT: '-1',
      HESSIAN_HEARTBEAT_TIMEOUT_S: '3',
      HESSIAN_TLS_CERT: f('server.pem'),
      HESSIAN_TLS_KEY: f('server.key'),
      HESSIAN_TLS_CA: f('ca.pem'),
      HESSIAN_API_TOKENS: `other-token, ${TOKEN}`,
      HESSIAN_DATA_ROOTS: root,
      HESSIAN_HEALTH_PORT: '0',
    });
    workers.push(await Service.start('w-good', WORKER_MAIN, workerEnv('w-good', 'server', 'ca')));
    const { coordinator } = loadProtos();
    client = new coordinator.hessian.v1.Coordinator(`localhost:${coord.grpcPort}`, grpc.credentials.createSsl(readFileSync(f('ca.pem'))), CHANNEL_OPTIONS) as unknown as CoordinatorClient;
    const until = Date.now() + 20000;
    while (!(await listWorkers()).includes('w-good')) {
      if (Date.now() > until) throw new Error('the worker never registered');
      await sleep(100);
    }
  });

  after(async () => {
    client?.close();
    for (const w of workers) await w.kill('SIGKILL');
    await coord?.kill('SIGKILL');
    await nats?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an analysis through hessctl with the CA and a valid token succeeds (over mutual TLS to the worker)', () => {
    const r = spawnSync(
      process.execPath,
      [HESSCTL, 'analyze', '--server', `localhost:${coord.grpcPort}`, '--tls-ca', f('ca.pem'), '--token', TOKEN, '--model', 'zoo:tiny-mlp', '--data', 'synthetic:32', '--top-k', '1', '--trace-probes', '8', '--density-runs', '1', '--density-steps', '8', '--format', 'json', '-q'],
      { encoding: 'utf8', timeout: 60000, env: { ...process.env, HESSIAN_TOKEN: '', HESSIAN_TLS_CA: '' } },
    );
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { schema: string; scopes: unknown[] };
    assert.equal(report.schema, 'hessian-cluster/report/v1');
    assert.ok(report.scopes.length > 0);
    // The token from the environment works too, and a missing token is the CLI's sentence, exit 2.
    const ok = spawnSync(process.execPath, [HESSCTL, 'jobs', '--server', `localhost:${coord.grpcPort}`], { encoding: 'utf8', env: { ...process.env, HESSIAN_TLS_CA: f('ca.pem'), HESSIAN_TOKEN: TOKEN } });
    assert.equal(ok.status, 0, ok.stderr);
    const no = spawnSync(process.execPath, [HESSCTL, 'jobs', '--server', `localhost:${coord.grpcPort}`, '--tls-ca', f('ca.pem')], { encoding: 'utf8', env: { ...process.env, HESSIAN_TOKEN: '' } });
    assert.equal(no.status, 2, no.stderr);
    assert.match(no.stderr, /no bearer token/);
  });

  test('a plaintext client is refused', async () => {
    const { coordinator } = loadProtos();
    const plain = new coordinator.hessian.v1.Coordinator(`127.0.0.1:${coord.grpcPort}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS) as unknown as CoordinatorClient;
    try {
      await assert.rejects(call(plain, 'ListJobs', {}, TOKEN), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE || e.code === grpc.status.DEADLINE_EXCEEDED);
    } finally {
      plain.close();
    }
  });

  test('the worker requires mutual TLS: a client without a certificate from the CA is refused, one with it is served', async () => {
    const { worker } = loadProtos();
    const health = (creds: grpc.ChannelCredentials) => {
      const w = new worker.hessian.v1.Worker(`localhost:${workers[0].grpcPort}`, creds, CHANNEL_OPTIONS) as unknown as grpc.Client & { Health(req: object, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: { id: string }) => void): void };
      return new Promise<string>((resolve, reject) => w.Health({}, { deadline: Date.now() + 5000 }, (e, r) => (w.close(), e ? reject(e) : resolve(r!.id))));
    };
    const ca = readFileSync(f('ca.pem'));
    assert.equal(await health(grpc.credentials.createSsl(ca, readFileSync(f('client.key')), readFileSync(f('client.pem')))), 'w-good');
    await assert.rejects(health(grpc.credentials.createSsl(ca)), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);
    await assert.rejects(health(grpc.credentials.createSsl(ca, readFileSync(f('rogue.key')), readFileSync(f('rogue.pem')))), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);
    await assert.rejects(health(grpc.credentials.createInsecure()), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);
    // The worker checks the roots itself too (a Prepare that did not come through the coordinator's validation).
    const w = new worker.hessian.v1.Worker(`localhost:${workers[0].grpcPort}`, grpc.credentials.createSsl(ca, readFileSync(f('client.key')), readFileSync(f('client.pem'))), CHANNEL_OPTIONS) as unknown as grpc.Client & {
      Prepare(req: object, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void): void;
    };
    try {
      const err = await new Promise<grpc.ServiceError | null>((resolve) => w.Prepare({ jobId: 'j', spec: { model: `${root}/../elsewhere/model.json`, data: 'synthetic:8' } }, { deadline: Date.now() + 10000 }, resolve));
      assert.equal(err?.code, grpc.status.INVALID_ARGUMENT);
      assert.match(err!.details, /is outside the allowed roots/);
    } finally {
      w.close();
    }
  });

  test('no token and a wrong token are UNAUTHENTICATED with a sentence; streams too; health stays open', async () => {
    for (const tok of [undefined, 'wrong-token', '']) {
      await assert.rejects(call(client, 'ListJobs', {}, tok), (e: grpc.ServiceError) => e.code === grpc.status.UNAUTHENTICATED && /token/.test(e.details));
      await assert.rejects(call(client, 'SubmitAnalysis', { spec: { model: 'zoo:tiny-mlp', data: 'synthetic:8' } }, tok), (e: grpc.ServiceError) => e.code === grpc.status.UNAUTHENTICATED);
    }
    const md = new grpc.Metadata();
    md.set('authorization', 'Bearer wrong-token');
    const s = client.WatchJob({ id: 'x', afterSequence: 0 }, md);
    await assert.rejects(
      new Promise((resolve, reject) => {
        s.on('data', () => undefined);
        s.on('error', reject);
        s.on('end', resolve);
      }),
      (e: grpc.ServiceError) => e.code === grpc.status.UNAUTHENTICATED,
    );
    const Health = grpc.makeClientConstructor(healthService as unknown as grpc.ServiceDefinition, 'grpc.health.v1.Health');
    const h = new Health(`localhost:${coord.grpcPort}`, grpc.credentials.createSsl(readFileSync(f('ca.pem')))) as unknown as grpc.Client & {
      Check(req: object, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: { status: string }) => void): void;
    };
    // Kubernetes gRPC probes speak no TLS: HESSIAN_HEALTH_PORT serves health alone, in plaintext, and not the API.
    const healthPort = Number(coord.logs.find((l) => l.msg === 'listening')!['healthPort']);
    assert.ok(healthPort > 0);
    const hp = new Health(`127.0.0.1:${healthPort}`, grpc.credentials.createInsecure()) as unknown as typeof h;
    const { coordinator } = loadProtos();
    const api = new coordinator.hessian.v1.Coordinator(`127.0.0.1:${healthPort}`, grpc.credentials.createInsecure(), CHANNEL_OPTIONS) as unknown as CoordinatorClient;
    try {
      for (const c of [h, hp]) {
        const st = await new Promise<string>((resolve, reject) => c.Check({ service: '' }, { deadline: Date.now() + 5000 }, (e, r) => (e ? reject(e) : resolve(r!.status))));
        assert.equal(st, 'SERVING');
      }
      await assert.rejects(call(api, 'ListJobs', {}, TOKEN), (e: grpc.ServiceError) => e.code === grpc.status.UNIMPLEMENTED);
    } finally {
      h.close();
      hp.close();
      api.close();
    }
  });

  test('model paths outside the roots, a `..` escape and a symlink out are INVALID_ARGUMENT with the sentence', async () => {
    const outside = path.join(dir, 'elsewhere');
    mkdirSync(outside);
    symlinkSync(outside, path.join(root, 'link'));
    const cases = [
      { model: path.join(outside, 'model.json'), data: 'synthetic:8' },
      { model: `${root}/../elsewhere/model.json`, data: 'synthetic:8' },
      { model: path.join(root, 'link', 'model.json'), data: 'synthetic:8' },
      { model: 'zoo:tiny-mlp', data: `idx:${root}/../x-idx3,${root}/y-idx1` },
    ];
    for (const spec of cases)
      await assert.rejects(
        call(client, 'SubmitAnalysis', { spec }, TOKEN),
        (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT && /is outside the allowed roots/.test(e.details) && /hessctl upload-model/.test(e.details) && /HESSIAN_DATA_ROOTS/.test(e.details),
      );
  });

  test('a worker with a certificate from another CA never gets work: the coordinator cannot complete the handshake, so it never joins', async () => {
    // Only the rogue worker is left: it heartbeats (it has the NATS credentials) but its certificate is not from the cluster's CA.
    await workers[0].kill('SIGKILL');
    const rogue = await Service.start('rogue', WORKER_MAIN, workerEnv('rogue', 'rogue', 'other-ca'));
    workers.push(rogue);
    const refused = await coord.waitFor((l) => l.msg === 'heartbeat refused: its address does not answer as that worker' && l['workerId'] === 'rogue', 15000);
    assert.ok(String(refused['why']).length > 0);
    const until = Date.now() + 15000;
    while ((await listWorkers()).includes('w-good')) {
      if (Date.now() > until) throw new Error('w-good is still listed');
      await sleep(100);
    }
    assert.ok(!(await listWorkers()).includes('rogue'), 'the rogue worker joined');
    const job = (await call(client, 'SubmitAnalysis', { spec: { model: 'zoo:tiny-mlp', data: 'synthetic:8', topK: { k: 1, maxIter: 5 } } }, TOKEN)) as { id: string };
    await sleep(1500);
    const j = (await call(client, 'GetJob', { id: job.id }, TOKEN)) as { state: string };
    assert.notEqual(j.state, 'SUCCEEDED');
    assert.ok(!rogue.logs.some((l) => l.msg === 'engine prepared' || l.msg === 'task done'), 'the rogue worker was given work');
    await call(client, 'CancelJob', { id: job.id }, TOKEN);
  });

  test('NATS with user/password: services connected with the right credentials; a worker with wrong ones never registers', async () => {
    assert.ok(coord.alive);
    const bad = new Service(
      'bad-nats',
      spawn(process.execPath, [WORKER_MAIN], { env: { ...process.env, HESSIAN_LOG_LEVEL: 'info', ...workerEnv('bad-nats', 'server', 'ca', { HESSIAN_NATS_PASSWORD: 'wrong' }) }, stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    workers.push(bad);
    const why = await bad.waitFor((l) => l.msg === 'failed to start', 10000).catch(() => null);
    if (why) assert.match(String(why['err']), /Authorization Violation/i);
    else await sleep(1000);
    assert.ok(!bad.logs.some((l) => l.msg === 'listening'), 'the worker with wrong NATS credentials says it is listening');
    assert.ok(!(await listWorkers()).includes('bad-nats'));
  });

  test('NATS over TLS: a worker with HESSIAN_NATS_TLS_CA and credentials connects; without the CA it does not', async () => {
    const tlsNats = new Nats(0, ['--tls', '--tlscert', f('server.pem'), '--tlskey', f('server.key'), '--user', 'u', '--pass', 'p']);
    await tlsNats.start();
    try {
      const env = { HESSIAN_NATS_URL: `tls://127.0.0.1:${tlsNats.port}`, HESSIAN_NATS_USER: 'u', HESSIAN_NATS_PASSWORD: 'p', HESSIAN_TLS_CERT: '', HESSIAN_TLS_KEY: '', HESSIAN_TLS_CA: '', HESSIAN_TLS_CLIENT_AUTH: '' };
      const good = await Service.start('nats-tls', WORKER_MAIN, { ...workerEnv('nats-tls', 'server', 'ca'), ...env, HESSIAN_NATS_TLS_CA: f('ca.pem') }, 15000);
      workers.push(good);
      const l = good.logs.find((x) => x.msg === 'security')!;
      assert.equal(l['natsTls'], true);
      const bad = new Service('nats-tls-bad', spawn(process.execPath, [WORKER_MAIN], { env: { ...process.env, HESSIAN_LOG_LEVEL: 'info', ...workerEnv('nats-tls-bad', 'server', 'ca'), ...env, HESSIAN_NATS_TLS_CA: f('other-ca.pem') }, stdio: ['ignore', 'pipe', 'pipe'] }));
      workers.push(bad);
      // It keeps retrying the TLS handshake (nats.js waitOnFirstConnect) and never gets to serve.
      await sleep(3000);
      assert.ok(!bad.logs.some((x) => x.msg === 'listening'), 'a worker that does not trust the NATS certificate says it is listening');
    } finally {
      await tlsNats.destroy();
    }
  });
});
