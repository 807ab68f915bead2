/**
 * Entry point: `node services/trainer/dist/src/main.js`, configured by the environment
 * (README.md). Starts the run in HESSIAN_TRAIN_RUN_DIR from the spec file
 * HESSIAN_TRAIN_SPEC, or resumes it from its last checkpoint when the folder already holds
 * a run: a restarted trainer (a crash, a rescheduled pod) continues where it stopped.
 * Exits 0 when the run is complete, 2 with one log line on a user error (bad spec, NaN stop,
 * no worker left), 1 on anything else.
 */
import type { BackendName } from '@hessian/engine';
import { isUserError } from '@hessian/linalg';
import { latestCheckpoint, normalizeTrainSpec, readRunSpec, type PartialTrainSpec, type TrainOptions } from '@hessian/training';
import { channelCredentials, clusterSecretFromEnv, createLogger, envInt, envNumber, envString, natsAuthFromEnv, tlsChannelOptions, tlsFilesFromEnv, workerClientOptions } from '@hessian/wire';
import { readFileSync } from 'node:fs';
import { CLUSTER_DEFAULTS, resumeOnCluster, trainOnCluster, type ClusterConfig } from './cluster.js';

const log = createLogger('trainer');

async function main(): Promise<void> {
  const runDir = envString('HESSIAN_TRAIN_RUN_DIR', '');
  if (!runDir) throw Object.assign(new Error('HESSIAN_TRAIN_RUN_DIR is required: the run folder (run.json, metrics.jsonl, checkpoints/)'), { user: true });
  const workers = envString('HESSIAN_TRAINER_WORKERS', '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const tls = tlsFilesFromEnv();
  const shards = envInt('HESSIAN_TRAINER_SHARDS', 0, 0);
  const cfg: ClusterConfig = {
    workers,
    natsUrl: envString('HESSIAN_NATS_URL', 'nats://127.0.0.1:4222'),
    natsAuth: natsAuthFromEnv(),
    shards: shards > 0 ? shards : undefined,
    callTimeoutS: envNumber('HESSIAN_TRAINER_CALL_TIMEOUT_S', CLUSTER_DEFAULTS.callTimeoutS, 0.1),
    waitS: envNumber('HESSIAN_TRAINER_WAIT_S', CLUSTER_DEFAULTS.waitS, 0),
    suspectS: envNumber('HESSIAN_TRAINER_SUSPECT_S', CLUSTER_DEFAULTS.suspectS, 0),
    settleS: envNumber('HESSIAN_TRAINER_SETTLE_S', CLUSTER_DEFAULTS.settleS, 0),
    heartbeatTimeoutS: envNumber('HESSIAN_HEARTBEAT_TIMEOUT_S', CLUSTER_DEFAULTS.heartbeatTimeoutS, 0.1),
    // Workers are dialled with TLS when a CA is set; the trainer's cert/key is its client certificate (mutual TLS).
    credentials: () => channelCredentials({ ca: tls.ca, cert: tls.ca ? tls.cert : undefined, key: tls.ca ? tls.key : undefined }),
    channelOptions: workerClientOptions(tlsChannelOptions(), clusterSecretFromEnv()),
  };
  const opts: TrainOptions = {
    backend: envString('HESSIAN_BACKEND', 'auto') as BackendName,
    onStart: (i) => log.info({ ...i }, 'training'),
    onEpoch: (m) => log.info({ ...m }, 'epoch done'),
  };
  const held = (await latestCheckpoint(runDir)) !== null;
  const t0 = performance.now();
  let result;
  if (held) {
    const saved = await readRunSpec(runDir);
    const epochs = envInt('HESSIAN_TRAIN_EPOCHS', 0, 0);
    log.info({ runDir, model: saved.model, epochs: epochs || saved.epochs }, 'resuming the run from its last checkpoint');
    result = await resumeOnCluster(runDir, cfg, log, { ...opts, ...(epochs > 0 ? { epochs } : {}) });
  } else {
    const file = envString('HESSIAN_TRAIN_SPEC', '');
    if (!file) throw Object.assign(new Error(`HESSIAN_TRAIN_SPEC is required for a new run: a JSON file with the TrainSpec fields (model, data, epochs, batchSize, lr, htr: {...}, ...); ${runDir} holds no run to resume`), { user: true });
    let partial: PartialTrainSpec;
    try {
      partial = JSON.parse(readFileSync(file, 'utf8')) as PartialTrainSpec;
    } catch (e) {
      throw Object.assign(new Error(`HESSIAN_TRAIN_SPEC ${file}: not a readable JSON file (${e instanceof Error ? e.message : String(e)})`), { user: true });
    }
    result = await trainOnCluster(normalizeTrainSpec(partial), runDir, cfg, log, opts);
  }
  log.info({ runDir, epochs: result.epochs, steps: result.steps, lastCheckpoint: result.lastCheckpoint, seconds: (performance.now() - t0) / 1000 }, 'run complete');
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    const user = isUserError(e) || (e as { user?: boolean }).user === true;
    if (user) log.error({ err: (e as Error).message }, 'run stopped');
    else log.fatal({ err: e instanceof Error ? (e.stack ?? e.message) : String(e) }, 'run failed');
    process.exit(user ? 2 : 1);
  },
);
