/**
 * The standard gRPC health service (grpc.health.v1.Health, what Kubernetes `grpc:` probes
 * call) on the coordinator's and the worker's gRPC port, through a real health client:
 * - coordinator: '' and hessian.v1.Coordinator NOT_SERVING while NATS is unreachable (at start
 *   and after NATS goes away), SERVING once NATS and the KV buckets are ready; 'liveness'
 *   SERVING throughout;
 * - worker: SERVING when ready, NOT_SERVING as soon as it drains after SIGTERM.
 */
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { Cluster, COORDINATOR_MAIN, freePort, Nats, Service } from './harness.js';

type Status = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
interface HealthClient extends grpc.Client {
  Check(req: { service: string }, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: { status: Status }) => void): grpc.ClientUnaryCall;
  Watch(req: { service: string }): grpc.ClientReadableStream<{ status: Status }>;
}
const HealthCtor = grpc.makeClientConstructor(healthService as unknown as grpc.ServiceDefinition, 'grpc.health.v1.Health') as unknown as new (
  address: string,
  creds: grpc.ChannelCredentials,
) => HealthClient;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function healthClient(port: number): HealthClient {
  return new HealthCtor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}

function check(c: HealthClient, service = ''): Promise<Status> {
  return new Promise((resolve, reject) => c.Check({ service }, { deadline: Date.now() + 2000 }, (e, r) => (e ? reject(e) : resolve(r!.status))));
}

/** Polls Check until it answers `want` (connection errors count as "not yet"). */
async function until(c: HealthClient, service: string, want: Status, timeoutMs = 15000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last: string = 'no answer';
  for (;;) {
    try {
      last = await check(c, service);
      if (last === want) return;
    } catch (e) {
      last = String(e);
    }
    if (Date.now() > end) throw new Error(`health of '${service}' is not ${want} after ${timeoutMs} ms (last: ${last})`);
    await sleep(100);
  }
}

describe('gRPC health checking', () => {
  let cl: Cluster | undefined;
  const clients: HealthClient[] = [];
  after(async () => {
    for (const c of clients) c.close();
    await cl?.stop();
  });

  test('coordinator and worker: SERVING when ready; coordinator NOT_SERVING while NATS is away; worker NOT_SERVING when draining', async () => {
    cl = await Cluster.start({ workers: 1, workerEnv: { HESSIAN_DRAIN_S: '1' } });
    const coord = healthClient(cl.coordinator.grpcPort);
    const worker = healthClient(cl.workers[0].grpcPort);
    clients.push(coord, worker);

    for (const s of ['', 'hessian.v1.Coordinator', 'liveness']) assert.equal(await check(coord, s), 'SERVING', `coordinator '${s}'`);
    for (const s of ['', 'hessian.v1.Worker', 'liveness']) assert.equal(await check(worker, s), 'SERVING', `worker '${s}'`);
    await assert.rejects(check(coord, 'no.such.Service'), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);

    // NATS goes away: readiness drops, liveness stays; NATS back: SERVING again.
    await cl.nats.stop('SIGKILL');
    await until(coord, '', 'NOT_SERVING');
    assert.equal(await check(coord, 'hessian.v1.Coordinator'), 'NOT_SERVING');
    assert.equal(await check(coord, 'liveness'), 'SERVING');
    await cl.nats.start();
    await until(coord, '', 'SERVING', 20000);

    // Worker: watch '' and send SIGTERM; the stream must show NOT_SERVING before the process exits.
    const seen: Status[] = [];
    const watch = worker.Watch({ service: '' });
    const notServing = new Promise<void>((resolve, reject) => {
      watch.on('data', (r: { status: Status }) => {
        seen.push(r.status);
        if (r.status === 'NOT_SERVING') resolve();
      });
      watch.on('error', (e: grpc.ServiceError) => (e.code === grpc.status.CANCELLED ? undefined : reject(new Error(`watch ended (${e.message}) after ${seen.join(',')}`))));
    });
    while (seen.length === 0) await sleep(20);
    assert.equal(seen[0], 'SERVING');
    const exited = cl.workers[0].kill('SIGTERM');
    await notServing;
    watch.cancel();
    assert.equal(await exited, 0);
    assert.deepEqual(seen, ['SERVING', 'NOT_SERVING']);
  });

  test('coordinator started without NATS: port open, NOT_SERVING (liveness SERVING) until NATS comes up', async () => {
    const natsPort = await freePort();
    const grpcPort = await freePort();
    const proc = spawn(process.execPath, [COORDINATOR_MAIN], {
      env: { ...process.env, HESSIAN_NATS_URL: `nats://127.0.0.1:${natsPort}`, HESSIAN_GRPC_PORT: String(grpcPort), HESSIAN_METRICS_PORT: '-1', HESSIAN_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const svc = new Service('coordinator-no-nats', proc);
    const nats = new Nats(natsPort);
    const c = healthClient(grpcPort);
    clients.push(c);
    try {
      await until(c, 'liveness', 'SERVING');
      assert.equal(await check(c, ''), 'NOT_SERVING');
      assert.equal(await check(c, 'hessian.v1.Coordinator'), 'NOT_SERVING');
      await nats.start();
      await svc.waitFor((l) => l.msg === 'listening', 20000);
      assert.equal(await check(c, ''), 'SERVING');
    } finally {
      await svc.kill('SIGKILL');
      await nats.destroy();
    }
  });
});
