/** Entry point: `node services/coordinator/dist/src/main.js`; configuration from the environment (README.md). */
import { createLogger, envInt, envNumber, envString } from '@hessian/wire';
import { CoordinatorService } from './coordinator.js';

const log = createLogger('coordinator');
const svc = new CoordinatorService(
  {
    natsUrl: envString('HESSIAN_NATS_URL', 'nats://127.0.0.1:4222'),
    grpcPort: envInt('HESSIAN_GRPC_PORT', 7070, 0),
    metricsPort: envInt('HESSIAN_METRICS_PORT', 9464, -1),
    queueLimit: envInt('HESSIAN_QUEUE_LIMIT', 100, 1),
    maxActiveJobs: envInt('HESSIAN_MAX_ACTIVE_JOBS', 4, 1),
    taskDeadlineS: envNumber('HESSIAN_TASK_DEADLINE_S', 600, 0.001),
    maxUploadBytes: envInt('HESSIAN_MAX_UPLOAD_BYTES', 256 * 1024 * 1024, 1),
    heartbeatTimeoutS: envNumber('HESSIAN_HEARTBEAT_TIMEOUT_S', 6, 0.1),
  },
  log,
);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'stopping');
  svc.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

svc.start().catch((e) => {
  log.fatal({ err: e instanceof Error ? e.message : String(e) }, 'failed to start');
  process.exit(1);
});
