/** Entry point: `node services/worker/dist/src/main.js`; configuration from the environment (README.md). */
import type { BackendName } from '@hessian/engine';
import { clusterSecretFromEnv, createLogger, dataRootsFromEnv, envInt, envNumber, envString, natsAuthFromEnv, runService, serverCredentials } from '@hessian/wire';
import os from 'node:os';
import path from 'node:path';
import { WorkerService } from './worker.js';

const log = createLogger('worker');
const cacheDir = envString('HESSIAN_CACHE_DIR', path.join(os.tmpdir(), 'hessian-worker-cache'));
let security;
try {
  const server = serverCredentials();
  security = {
    serverCredentials: server.creds,
    healthPort: envInt('HESSIAN_HEALTH_PORT', -1, -1),
    dataRoots: dataRootsFromEnv([envString('HESSIAN_FASHION_MNIST', '/usr/share/datasets/fashion-mnist'), cacheDir]),
    maxModelBytes: envInt('HESSIAN_MAX_UPLOAD_BYTES', 256 * 1024 * 1024, 1),
    natsAuth: natsAuthFromEnv(),
    clusterSecret: clusterSecretFromEnv(),
  };
  log.info({ tls: server.tls, mutualTls: server.mutual, clusterSecret: Boolean(security.clusterSecret), dataRoots: security.dataRoots, natsAuth: Boolean(security.natsAuth.user || security.natsAuth.token), natsTls: Boolean(security.natsAuth.tls) }, 'security');
} catch (e) {
  log.fatal({ err: e instanceof Error ? e.message : String(e) }, 'bad security settings');
  process.exit(2);
}
const svc = new WorkerService(
  {
    natsUrl: envString('HESSIAN_NATS_URL', 'nats://127.0.0.1:4222'),
    grpcPort: envInt('HESSIAN_GRPC_PORT', 7071, 0),
    metricsPort: envInt('HESSIAN_METRICS_PORT', 9465, -1),
    id: envString('HESSIAN_WORKER_ID', `${os.hostname()}-${process.pid}`),
    capacity: envInt('HESSIAN_WORKER_CAPACITY', 1, 1),
    advertise: process.env['HESSIAN_ADVERTISE_ADDRESS']?.trim() || null,
    backend: envString('HESSIAN_BACKEND', 'auto') as BackendName,
    heartbeatS: envNumber('HESSIAN_HEARTBEAT_S', 2, 0.05),
    drainS: envNumber('HESSIAN_DRAIN_S', 30, 0),
    cacheDir,
    maxEngines: envInt('HESSIAN_MAX_ENGINES', 4, 1),
    ...security,
  },
  log,
);

// SIGTERM drains: no new tasks, running ones finish within HESSIAN_DRAIN_S or go back to the coordinator.
runService(log, svc, () => svc.drain());
