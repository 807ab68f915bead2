/** Entry point: `node services/coordinator/dist/src/main.js`; configuration from the environment (README.md). */
import {
  apiTokensFromEnv,
  channelCredentials,
  clusterSecretFromEnv,
  createLogger,
  dataRootsFromEnv,
  envInt,
  envNumber,
  runService,
  serviceEnv,
  tlsChannelOptions,
  tlsFilesFromEnv,
  workerAuthProblem,
  workerClientOptions,
} from '@hessian/wire';
import os from 'node:os';
import path from 'node:path';
import { CoordinatorService } from './coordinator.js';

const log = createLogger('coordinator');
const env = serviceEnv(log, { grpc: 7070, metrics: 9464 }, (fashion) => {
  const files = tlsFilesFromEnv();
  // Workers are dialled with TLS when a CA is set; the coordinator's own cert/key is its client certificate (mutual TLS).
  const workerFiles = { ca: files.ca, cert: files.ca ? files.cert : undefined, key: files.ca ? files.key : undefined };
  channelCredentials(workerFiles);
  // The default worker cache dir of a worker on the same host (`hessctl cluster up`); uploaded models are fetched there.
  const cache = path.join(os.tmpdir(), 'hessian-worker-cache');
  const clusterSecret = clusterSecretFromEnv();
  const apiTokens = apiTokensFromEnv();
  const problem = workerAuthProblem({ tokens: apiTokens.length > 0, workerMutualTls: Boolean(workerFiles.ca && workerFiles.cert && workerFiles.key), clusterSecret: Boolean(clusterSecret) });
  if (problem) throw new Error(problem);
  const settings = {
    workerCredentials: () => channelCredentials(workerFiles),
    workerChannelOptions: workerClientOptions(tlsChannelOptions(), clusterSecret),
    apiTokens,
    dataRoots: dataRootsFromEnv([fashion, cache]),
  };
  return { settings, log: { workerTls: Boolean(workerFiles.ca), clusterSecret: Boolean(clusterSecret), tokens: apiTokens.length, dataRoots: settings.dataRoots } };
});
const svc = new CoordinatorService(
  {
    ...env,
    queueLimit: envInt('HESSIAN_QUEUE_LIMIT', 100, 1),
    maxActiveJobs: envInt('HESSIAN_MAX_ACTIVE_JOBS', 4, 1),
    taskDeadlineS: envNumber('HESSIAN_TASK_DEADLINE_S', 600, 0.001),
    maxUploadBytes: envInt('HESSIAN_MAX_UPLOAD_BYTES', 256 * 1024 * 1024, 1),
    uploadBytesInFlight: envInt('HESSIAN_UPLOAD_BYTES_IN_FLIGHT', 1024 ** 3, 1),
    heartbeatTimeoutS: envNumber('HESSIAN_HEARTBEAT_TIMEOUT_S', 6, 0.1),
    submitCheckS: envNumber('HESSIAN_SUBMIT_CHECK_S', 5, 0),
  },
  log,
);

runService(log, svc, () => svc.close());
