/** Entry point: `node services/worker/dist/src/main.js`; configuration from the environment (README.md). */
import type { BackendName } from '@hessian/engine';
import { clusterSecretFromEnv, createLogger, dataRootsFromEnv, envInt, envNumber, envString, runService, serviceEnv } from '@hessian/wire';
import os from 'node:os';
import path from 'node:path';
import { WorkerService } from './worker.js';

const log = createLogger('worker');
const cacheDir = envString('HESSIAN_CACHE_DIR', path.join(os.tmpdir(), 'hessian-worker-cache'));
const env = serviceEnv(log, { grpc: 7071, metrics: 9465 }, (fashion) => {
  const settings = {
    dataRoots: dataRootsFromEnv([fashion, cacheDir]),
    maxModelBytes: envInt('HESSIAN_MAX_UPLOAD_BYTES', 256 * 1024 * 1024, 1),
    clusterSecret: clusterSecretFromEnv(),
  };
  return { settings, log: { clusterSecret: Boolean(settings.clusterSecret), dataRoots: settings.dataRoots } };
});
const svc = new WorkerService(
  {
    ...env,
    id: envString('HESSIAN_WORKER_ID', `${os.hostname()}-${process.pid}`),
    capacity: envInt('HESSIAN_WORKER_CAPACITY', 1, 1),
    advertise: process.env['HESSIAN_ADVERTISE_ADDRESS']?.trim() || null,
    backend: envString('HESSIAN_BACKEND', 'auto') as BackendName,
    heartbeatS: envNumber('HESSIAN_HEARTBEAT_S', 2, 0.05),
    drainS: envNumber('HESSIAN_DRAIN_S', 30, 0),
    cacheDir,
    maxEngines: envInt('HESSIAN_MAX_ENGINES', 4, 1),
  },
  log,
);

// SIGTERM drains: no new tasks, running ones finish within HESSIAN_DRAIN_S or go back to the coordinator.
runService(log, svc, () => svc.drain());
