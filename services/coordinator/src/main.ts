/** Entry point: `node services/coordinator/dist/src/main.js`; configuration from the environment (README.md). */
import {
  apiTokensFromEnv,
  channelCredentials,
  clusterSecretFromEnv,
  createLogger,
  dataRootsFromEnv,
  envInt,
  envNumber,
  envString,
  natsAuthFromEnv,
  runService,
  serverCredentials,
  tlsChannelOptions,
  tlsFilesFromEnv,
  workerAuthProblem,
  workerClientOptions,
} from '@hessian/wire';
import os from 'node:os';
import path from 'node:path';
import { CoordinatorService } from './coordinator.js';

const log = createLogger('coordinator');
let security;
try {
  const server = serverCredentials();
  const files = tlsFilesFromEnv();
  // Workers are dialled with TLS when a CA is set; the coordinator's own cert/key is its client certificate (mutual TLS).
  const workerFiles = { ca: files.ca, cert: files.ca ? files.cert : undefined, key: files.ca ? files.key : undefined };
  channelCredentials(workerFiles);
  const fashion = envString('HESSIAN_FASHION_MNIST', '/usr/share/datasets/fashion-mnist');
  // The default worker cache dir of a worker on the same host (`hessctl cluster up`); uploaded models are fetched there.
  const cache = path.join(os.tmpdir(), 'hessian-worker-cache');
  const clusterSecret = clusterSecretFromEnv();
  const apiTokens = apiTokensFromEnv();
  const problem = workerAuthProblem({ tokens: apiTokens.length > 0, workerMutualTls: Boolean(workerFiles.ca && workerFiles.cert && workerFiles.key), clusterSecret: Boolean(clusterSecret) });
  if (problem) throw new Error(problem);
  security = {
    serverCredentials: server.creds,
    healthPort: envInt('HESSIAN_HEALTH_PORT', -1, -1),
    workerCredentials: () => channelCredentials(workerFiles),
    workerChannelOptions: workerClientOptions(tlsChannelOptions(), clusterSecret),
    apiTokens,
    dataRoots: dataRootsFromEnv([fashion, cache]),
    natsAuth: natsAuthFromEnv(),
  };
  log.info({ tls: server.tls, mutualTls: server.mutual, workerTls: Boolean(workerFiles.ca), clusterSecret: Boolean(clusterSecret), tokens: security.apiTokens.length, dataRoots: security.dataRoots, natsAuth: Boolean(security.natsAuth.user || security.natsAuth.token), natsTls: Boolean(security.natsAuth.tls) }, 'security');
} catch (e) {
  log.fatal({ err: e instanceof Error ? e.message : String(e) }, 'bad security settings');
  process.exit(2);
}
const svc = new CoordinatorService(
  {
    natsUrl: envString('HESSIAN_NATS_URL', 'nats://127.0.0.1:4222'),
    grpcPort: envInt('HESSIAN_GRPC_PORT', 7070, 0),
    metricsPort: envInt('HESSIAN_METRICS_PORT', 9464, -1),
    queueLimit: envInt('HESSIAN_QUEUE_LIMIT', 100, 1),
    maxActiveJobs: envInt('HESSIAN_MAX_ACTIVE_JOBS', 4, 1),
    taskDeadlineS: envNumber('HESSIAN_TASK_DEADLINE_S', 600, 0.001),
    maxUploadBytes: envInt('HESSIAN_MAX_UPLOAD_BYTES', 256 * 1024 * 1024, 1),
    uploadBytesInFlight: envInt('HESSIAN_UPLOAD_BYTES_IN_FLIGHT', 1024 ** 3, 1),
    heartbeatTimeoutS: envNumber('HESSIAN_HEARTBEAT_TIMEOUT_S', 6, 0.1),
    submitCheckS: envNumber('HESSIAN_SUBMIT_CHECK_S', 5, 0),
    ...security,
  },
  log,
);

runService(log, svc, () => svc.close());
