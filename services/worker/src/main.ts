/** Entry point: `node services/worker/dist/src/main.js`; configuration from the environment (README.md). */
import type { BackendName } from '@hessian/engine';
import { createLogger, envInt, envNumber, envString } from '@hessian/wire';
import os from 'node:os';
import path from 'node:path';
import { WorkerService } from './worker.js';

const log = createLogger('worker');
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
    cacheDir: envString('HESSIAN_CACHE_DIR', path.join(os.tmpdir(), 'hessian-worker-cache')),
    maxEngines: envInt('HESSIAN_MAX_ENGINES', 4, 1),
  },
  log,
);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'stopping');
  svc.drain().then(
    () => {
      log.info('stopped');
      process.exit(0);
    },
    (e) => {
      log.error({ err: String(e) }, 'drain failed');
      process.exit(1);
    },
  );
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

svc.start().catch((e) => {
  log.fatal({ err: e instanceof Error ? e.message : String(e) }, 'failed to start');
  process.exit(1);
});
