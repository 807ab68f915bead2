/**
 * `hessctl train`: SGD with the layerwise Hessian-trace regularizer (HTR), checkpoints,
 * metrics, resume. Embedded by default; with --cluster NATS_URL or --workers host:port,...
 * the same loop runs here with the minibatch gradients computed by workers
 * (@hessian/trainer), and the output is the same.
 */
import { htrWillNotRun, normalizeTrainSpec, readRunSpec, resume, train, TRAIN_DEFAULTS, type StartInfo, type TrainOptions, type TrainProgress, type TrainResult, type TrainSpec } from '@hessian/training';
// The cluster trainer (services/trainer) is loaded only for --cluster/--workers: hessctl is an app
// above the services, and the embedded run should not load NATS and gRPC.
import type { ClusterConfig } from '@hessian/trainer';
import { UserError } from '@hessian/linalg';
import { channelCredentials, clusterSecretFromEnv, createLogger, natsAuthFromEnv, tlsChannelOptions, tlsFilesFromEnv, workerClientOptions } from '@hessian/wire';
import { choice, givenFlags, intFlag, numFlag, parseFlags, type Command, type Values } from '../flags.js';
import { formatDuration } from '../progress.js';
import { checkOutDir } from './output.js';
import { BACKENDS, backendFrom } from './analyze.js';

const D = TRAIN_DEFAULTS;

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a model with SGD and the layerwise Hessian-trace regularizer, checkpointing every epoch (embedded, or gradients from cluster workers)',
  usage: 'hessctl train --model zoo:NAME|PATH/model.json --out DIR [--cluster NATS_URL | --workers HOST:PORT,...] [flags]      hessctl train --out DIR --resume',
  flags: [
    { name: 'model', type: 'string', arg: 'SPEC', help: 'zoo:NAME (see `hessctl models`) or the path of a tfjs model.json to start from' },
    { name: 'model-seed', type: 'string', arg: 'N', default: '0', help: "seed of a zoo model's initial weights" },
    { name: 'data', type: 'string', arg: 'SPEC', default: D.data, help: 'training examples: fashion-mnist:train[a:b] | idx:IMAGES,LABELS[a:b] | npy:X.npy,Y.npy[a:b] | synthetic:N (seed 1)' },
    { name: 'test-data', type: 'string', arg: 'SPEC', default: D.testData, help: 'examples for the test accuracy after every epoch (synthetic:N uses seed 2: same rule, other examples)' },
    { name: 'epochs', type: 'string', arg: 'N', default: String(D.epochs), help: 'epochs in total (with --resume: raise it to train on)' },
    { name: 'batch-size', type: 'string', arg: 'N', default: String(D.batchSize), help: 'minibatch size (the last minibatch of an epoch may be smaller)' },
    { name: 'lr', type: 'string', arg: 'X', default: String(D.lr), help: 'learning rate' },
    { name: 'momentum', type: 'string', arg: 'X', default: String(D.momentum), help: 'SGD momentum (PyTorch semantics, no dampening)' },
    { name: 'weight-decay', type: 'string', arg: 'X', default: String(D.weightDecay), help: "L2 weight decay added to the gradient (PyTorch SGD's weight_decay)" },
    { name: 'schedule', type: 'string', arg: 'S', default: D.schedule, help: 'learning rate per epoch: constant | step:EVERY[:FACTOR] (default factor 0.1) | milestones:E1,E2,...[:FACTOR] (the paper: milestones:10,20:0.25) | cosine[:MIN_LR]' },
    { name: 'htr-gamma', type: 'string', arg: 'X', default: String(D.htr.gamma), help: 'weight of the Hessian-trace regularizer (0: off; the paper uses 1e-3)' },
    { name: 'htr-probes', type: 'string', arg: 'K', default: String(D.htr.probes), help: 'Hutchinson probes per layer block and regularized step' },
    { name: 'htr-layers', type: 'string', arg: 'SEL', default: D.htr.layers, help: "regularized layers: all | middle (the paper's code: the middle parameter TENSORS, floor(n/4)..floor(3n/4) of the tensor list, regrouped by layer; on lenet conv2, fc1 and fc2's kernel) | name,name,..." },
    { name: 'htr-freq', type: 'string', arg: 'N', default: String(D.htr.freq), help: 'add the regularizer every N optimizer steps' },
    { name: 'htr-start', type: 'string', arg: 'E', default: String(D.htr.start), help: 'first epoch (0-based) with the regularizer, i.e. after E plain epochs (the paper: 15)' },
    { name: 'htr-probe-dist', type: 'string', arg: 'D', default: D.htr.dist, help: 'rademacher | gaussian' },
    { name: 'convention', type: 'string', arg: 'C', default: D.convention, help: "layer block: layer (kernel and bias) | weights-only (kernel only, as the paper's code)" },
    { name: 'seed', type: 'string', arg: 'N', default: String(D.seed), help: 'seed of the shuffling (per epoch) and the probes (per step)' },
    { name: 'pad', type: 'string', arg: 'P', default: String(D.pad), help: 'zero pixels added on each side of every training and test image (the paper: 2, 28x28 -> 32x32 for zoo:lenet-32)' },
    { name: 'normalize', type: 'string', arg: 'N', default: D.normalize, help: "mean-std: (x - mean) / std with the training set's pixel mean and std (stored in run.json; test set and sweeps use them) | none" },
    { name: 'augment', type: 'string', arg: 'OPS', default: 'none', help: 'random augmentation of training images, drawn per epoch from --seed: none | flip,rotate:DEGREES,crop:PIXELS (any of them, applied in that order)' },
    { name: 'backend', type: 'string', arg: 'B', default: 'auto', help: `${BACKENDS.join(' | ')} (or set HESSIAN_BACKEND)` },
    { name: 'cluster', type: 'string', arg: 'NATS_URL', help: 'compute the gradients on the workers registered on this NATS server (their heartbeats); the loop, checkpoints and test evaluation stay here' },
    { name: 'workers', type: 'string', arg: 'HOST:PORT,...', help: 'compute the gradients on these workers (gRPC addresses) instead of asking NATS' },
    { name: 'shards', type: 'string', arg: 'N', help: 'with --cluster/--workers: split every minibatch into N shards (default: the workers found at start; fixed for the run, recorded in DIR/cluster.json)' },
    { name: 'out', type: 'string', arg: 'DIR', help: 'run folder: run.json, metrics.jsonl, checkpoints/epoch-NNN/ (required)' },
    { name: 'resume', type: 'boolean', help: 'continue the run in --out from its last checkpoint (settings come from its run.json; only --epochs may change)' },
    { name: 'format', type: 'string', arg: 'F', default: 'table', help: 'table | json (the per-epoch metrics on stdout)' },
    { name: 'quiet', short: 'q', type: 'boolean', help: 'no progress on stderr' },
    { name: 'help', short: 'h', type: 'boolean', help: 'show this help' },
  ],
  examples: [
    'hessctl train --model zoo:lenet --epochs 30 --out runs/lenet-sgd',
    'hessctl train --model zoo:lenet --epochs 30 --htr-gamma 1e-3 --htr-layers middle --out runs/lenet-htr-middle',
    "hessctl train --model zoo:lenet-32 --pad 2 --normalize mean-std --augment flip,rotate:15 --batch-size 256 --schedule step:10:0.25 --epochs 30 --out runs/lenet-paper",
    'hessctl train --out runs/lenet-sgd --resume --epochs 40',
    'hessctl train --model zoo:lenet --epochs 30 --htr-gamma 1e-3 --cluster nats://127.0.0.1:4222 --out runs/lenet-htr-cluster',
    'hessctl sweep --run runs/lenet-sgd --data fashion-mnist:train[0:256] --out sweeps/lenet-sgd',
  ],
};

/** Flags a resumed run may take (everything else comes from the run's run.json). */
const RESUME_FLAGS = new Set(['out', 'resume', 'epochs', 'backend', 'format', 'quiet', 'q', 'cluster', 'workers', 'shards']);

/** --cluster / --workers / --shards: null for an embedded run. TLS to the workers from HESSIAN_TLS_CA/CERT/KEY, as the coordinator dials them. */
function clusterConfig(values: Values, given: Set<string>): ClusterConfig | null {
  const nats = typeof values.cluster === 'string' ? values.cluster.trim() : '';
  const workers = typeof values.workers === 'string' ? values.workers.split(',').map((s) => s.trim()).filter((s) => s !== '') : [];
  if (given.has('cluster') && nats === '') throw new UserError('--cluster: give the NATS address of the cluster, e.g. nats://127.0.0.1:4222');
  if (given.has('workers') && workers.length === 0) throw new UserError('--workers: give worker addresses, e.g. 127.0.0.1:7071,127.0.0.1:7072');
  if (nats && workers.length) throw new UserError('--cluster and --workers: give one (NATS discovery, or a fixed list of worker addresses)');
  if (!nats && !workers.length) {
    if (given.has('shards')) throw new UserError('--shards needs --cluster or --workers (an embedded run computes each minibatch whole)');
    return null;
  }
  const shards = given.has('shards') ? intFlag(values, 'shards', 1, 4096) : undefined;
  const tls = tlsFilesFromEnv();
  return {
    ...(nats ? { natsUrl: nats, natsAuth: natsAuthFromEnv() } : { workers }),
    shards,
    credentials: () => channelCredentials({ ca: tls.ca, cert: tls.ca ? tls.cert : undefined, key: tls.ca ? tls.key : undefined }),
    channelOptions: workerClientOptions(tlsChannelOptions(), clusterSecretFromEnv()),
  };
}

class TrainLine {
  private last = 0;
  private lastEpochPrinted = -1;
  private lastDecile = -1;
  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly enabled: boolean,
  ) {}

  update(p: TrainProgress): void {
    if (!this.enabled) return;
    const text = [
      `epoch ${p.epoch}/${p.epochs}`,
      `step ${p.step}/${p.stepsPerEpoch}`,
      `loss ${p.loss.toFixed(4)}`,
      `reg ${p.reg === null ? '-' : p.reg.toPrecision(4)}`,
      `acc ${(100 * p.acc).toFixed(1)}%`,
      `test ${p.testAcc === null ? '-' : `${(100 * p.testAcc).toFixed(1)}%`}`,
      `lr ${p.lr.toPrecision(3)}`,
      `elapsed ${formatDuration(p.elapsedSeconds)}`,
      `ETA ${formatDuration(p.etaSeconds)}`,
    ].join('  ');
    if (this.stream.isTTY) {
      const now = Date.now();
      if (now - this.last < 100 && p.step < p.stepsPerEpoch) return;
      this.last = now;
      this.stream.write(`\r${text}\x1b[K`);
    } else {
      // Not a terminal: a line every 10% of an epoch.
      const decile = Math.floor((10 * p.step) / p.stepsPerEpoch);
      if (p.epoch === this.lastEpochPrinted && decile === this.lastDecile) return;
      this.lastEpochPrinted = p.epoch;
      this.lastDecile = decile;
      this.stream.write(`${text}\n`);
    }
  }

  done(): void {
    if (this.enabled && this.stream.isTTY) this.stream.write('\n');
  }
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}

export async function trainCmd(argv: string[]): Promise<number> {
  const { values } = parseFlags(trainCommand, argv);
  const given = givenFlags(argv);
  const out = typeof values.out === 'string' ? values.out.trim() : '';
  if (out === '') throw new UserError('--out is required: give the run folder (it receives run.json, metrics.jsonl and checkpoints/)');
  if (values.resume !== true) await checkOutDir('out', out);
  const format = choice(values, 'format', ['table', 'json'] as const) ?? 'table';
  const backend = backendFrom(values, argv);
  const quiet = values.quiet === true;
  const line = new TrainLine(process.stderr, !quiet);
  const common = {
    backend,
    onStart: (i: StartInfo) => {
      if (!quiet)
        process.stderr.write(
          `backend ${i.backend} (${i.backendDetail}); ${i.gradients === 'embedded' ? '' : `gradients from the ${i.gradients}; `}${i.params} parameters; ${i.examples} training and ${i.testExamples} test examples; ${i.startEpoch > 0 ? `resuming after epoch ${i.startEpoch}; ` : ''}HTR blocks ${i.blocks.join(', ')}\n`,
        );
    },
    onProgress: (p: TrainProgress) => line.update(p),
  };
  const cluster = clusterConfig(values, given);
  const log = cluster ? createLogger('trainer', 'warn') : null;
  const onCluster = cluster ? await import('@hessian/trainer') : null;
  const run = (spec: TrainSpec, opts: TrainOptions) => (cluster && log && onCluster ? onCluster.trainOnCluster(spec, out, cluster, log, opts) : train(spec, out, opts));
  const cont = (opts: TrainOptions & { epochs?: number }) => (cluster && log && onCluster ? onCluster.resumeOnCluster(out, cluster, log, opts) : resume(out, opts));
  const warnHtr = (spec: TrainSpec) => {
    const w = htrWillNotRun(spec);
    if (w) process.stderr.write(`hessctl: warning: ${w}\n`);
  };
  let result: TrainResult;
  try {
    if (values.resume === true) {
      const extra = [...given].filter((f) => !RESUME_FLAGS.has(f));
      if (extra.length)
        throw new UserError(`--resume continues the run with the settings in ${out}/run.json; drop ${extra.map((f) => `--${f}`).join(', ')} (only --epochs, --cluster, --workers and --shards may be given), or start a new run in another --out folder`);
      const epochs = given.has('epochs') ? intFlag(values, 'epochs', 1) : undefined;
      const saved = await readRunSpec(out).catch(() => null); // resume() itself says what is wrong with the folder
      if (saved) warnHtr({ ...saved, epochs: epochs ?? saved.epochs });
      result = await cont({ ...common, epochs });
    } else {
      if (typeof values.model !== 'string') throw new UserError('--model is required: give zoo:NAME (see `hessctl models`) or the path of a model.json');
      const spec = normalizeTrainSpec({
        model: values.model,
        modelSeed: intFlag(values, 'model-seed', 0, 0xffffffff),
        data: values.data as string,
        testData: values['test-data'] as string,
        epochs: intFlag(values, 'epochs', 1),
        batchSize: intFlag(values, 'batch-size', 1),
        lr: numFlag(values, 'lr', Number.MIN_VALUE),
        momentum: numFlag(values, 'momentum', 0),
        weightDecay: numFlag(values, 'weight-decay', 0),
        schedule: values.schedule as string,
        htr: {
          gamma: numFlag(values, 'htr-gamma', 0),
          probes: intFlag(values, 'htr-probes', 1),
          layers: values['htr-layers'] as string,
          freq: intFlag(values, 'htr-freq', 1),
          start: intFlag(values, 'htr-start', 0),
          dist: choice(values, 'htr-probe-dist', ['rademacher', 'gaussian'] as const),
        },
        convention: choice(values, 'convention', ['layer', 'weights-only'] as const),
        seed: intFlag(values, 'seed', 0, 0xffffffff),
        pad: intFlag(values, 'pad', 0, 1000),
        normalize: choice(values, 'normalize', ['none', 'mean-std'] as const),
        augment: values.augment as string,
      });
      warnHtr(spec);
      result = await run(spec, common);
    }
  } finally {
    line.done();
  }
  if (format === 'json') {
    process.stdout.write(JSON.stringify(result, null, 1) + '\n');
    return 0;
  }
  const rows = [['epoch', 'train loss', 'train acc', 'test loss', 'test acc', 'reg (mean)', 'seconds']];
  for (const m of result.metrics)
    rows.push([String(m.epoch), m.trainLoss.toFixed(4), pct(m.trainAcc), m.testLoss.toFixed(4), pct(m.testAcc), m.reg === null ? '-' : m.reg.toPrecision(4), m.seconds.toFixed(1)]);
  const w = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  process.stdout.write(rows.map((r) => r.map((c, j) => c.padStart(w[j])).join('  ')).join('\n') + '\n');
  process.stdout.write(`\n${result.epochs} epochs, ${result.steps} steps, ${result.seconds.toFixed(1)} s; checkpoints in ${out}/checkpoints, metrics in ${out}/metrics.jsonl\n`);
  return 0;
}
