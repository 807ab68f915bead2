/**
 * The cluster trainer against real worker processes (loopback gRPC) and a real nats-server:
 * it computes what the embedded trainer computes (bitwise with one shard, 1e-5 with three),
 * a worker killed mid-run changes nothing (fixed shards), a trainer killed and restarted
 * resumes from its checkpoint and ends with the same weights, a NaN stops the run keeping the
 * last good checkpoint, and bad input is one sentence.
 */
import { initBackend } from '@hessian/engine';
import { isUserError } from '@hessian/linalg';
import { normalizeTrainSpec, readState, train, type PartialTrainSpec, type TrainSpec } from '@hessian/training';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { resumeOnCluster, trainOnCluster, type ClusterConfig } from '../src/index.js';

/**
 * The coordinator's test harness (real nats-server, services as processes), from its build
 * (dist/test), imported by path at run time: the trainer does not depend on the coordinator.
 */
const HARNESS = fileURLToPath(new URL('../../../coordinator/dist/test/harness.js', import.meta.url));
interface Service {
  grpcPort: number;
  proc: import('node:child_process').ChildProcess;
  readonly alive: boolean;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}
interface Nats {
  url: string;
  start(): Promise<void>;
  destroy(): Promise<void>;
}
interface Harness {
  freePort(): Promise<number>;
  Nats: new (port?: number) => Nats;
  Service: { start(name: string, main: string, env: Record<string, string>): Promise<Service> };
  WORKER_MAIN: string;
}
const { freePort, Nats, Service, WORKER_MAIN } = (await import(HARNESS)) as Harness;

const TRAINER_MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const HESSCTL = fileURLToPath(new URL('../../../../packages/client/dist/src/cli.js', import.meta.url));
const log = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// tiny-mlp, 96 synthetic examples, batches of 8 (12 steps per epoch), HTR every 4th step from the start.
const SPEC: PartialTrainSpec = {
  model: 'zoo:tiny-mlp',
  data: 'synthetic:96',
  testData: 'synthetic:32',
  epochs: 2,
  batchSize: 8,
  lr: 0.05,
  momentum: 0.9,
  weightDecay: 1e-3,
  schedule: 'cosine',
  htr: { gamma: 1e-2, probes: 2, freq: 4, start: 0, layers: 'all' },
  seed: 5,
};

let root: string;
let nats: Nats;
const workers: Service[] = [];
const addr = (w: Service) => `127.0.0.1:${w.grpcPort}`;
// Fast failure detection for tests: a worker that failed is retried after 1 s.
const FAST: Partial<ClusterConfig> = { waitS: 5, suspectS: 1, settleS: 0.8, heartbeatTimeoutS: 2, callTimeoutS: 60 };

function weights(run: string, epoch = 2): Float32Array {
  const b = readFileSync(path.join(run, 'checkpoints', `epoch-${String(epoch).padStart(3, '0')}`, 'weights.bin'));
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

function stepLines(run: string): { step: number; loss: number; reg?: number; acc: number }[] {
  return readFileSync(path.join(run, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { kind: string; step: number; loss: number; reg?: number; acc: number })
    .filter((r) => r.kind === 'step');
}

/** max |a - b| / max |b|: relative to the vector's scale (single entries near 0 are not meaningful alone). */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return d / s;
}

function sameBytes(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

async function startWorker(i: number): Promise<Service> {
  return Service.start(`w${i}`, WORKER_MAIN, {
    HESSIAN_NATS_URL: nats.url,
    HESSIAN_GRPC_PORT: '0',
    HESSIAN_METRICS_PORT: '-1',
    HESSIAN_WORKER_ID: `w${i}`,
    HESSIAN_BACKEND: 'cpu',
    HESSIAN_HEARTBEAT_S: '0.3',
    HESSIAN_CACHE_DIR: path.join(root, 'wcache'),
  });
}

let spec: TrainSpec;
let embeddedRun: string;
let threeShardRun: string;

before(async () => {
  await initBackend('cpu');
  root = mkdtempSync(path.join(os.tmpdir(), 'hessian-ctrain-'));
  nats = new Nats();
  await nats.start();
  workers.push(...(await Promise.all([1, 2, 3].map(startWorker))));
  spec = normalizeTrainSpec(SPEC);
  embeddedRun = path.join(root, 'embedded');
  await train(spec, embeddedRun, { backend: 'cpu' });
});

after(async () => {
  await Promise.all(workers.map((w) => w.kill()));
  await nats?.destroy();
  rmSync(root, { recursive: true, force: true });
});

describe('cluster trainer', () => {
  test('one worker, one shard: bitwise the embedded run (weights, losses, regularizer)', async () => {
    const run = path.join(root, 'one');
    const r = await trainOnCluster(spec, run, { ...FAST, workers: [addr(workers[0])] }, log, { backend: 'cpu' });
    assert.equal(r.steps, 24);
    assert.ok(sameBytes(weights(run), weights(embeddedRun)), 'final weights bitwise equal');
    const [a, b] = [stepLines(run), stepLines(embeddedRun)];
    assert.deepEqual(
      a.map((l) => [l.loss, l.reg, l.acc]),
      b.map((l) => [l.loss, l.reg, l.acc]),
    );
    assert.equal(b.filter((l) => l.reg !== undefined).length, 6, 'HTR ran on 6 of 24 steps');
  });

  test("--normalize mean-std --augment: the workers normalize with the run's statistics and draw the same images (one shard bitwise, two to 1e-5)", async () => {
    const aug = normalizeTrainSpec({ ...SPEC, normalize: 'mean-std', augment: 'flip,rotate:90,crop:1' });
    const emb = path.join(root, 'aug-embedded');
    await train(aug, emb, { backend: 'cpu' });
    const one = path.join(root, 'aug-one');
    await trainOnCluster(aug, one, { ...FAST, workers: [addr(workers[0])] }, log, { backend: 'cpu' });
    assert.ok(sameBytes(weights(one), weights(emb)), 'one shard: bitwise the embedded run');
    const two = path.join(root, 'aug-two');
    await trainOnCluster(aug, two, { ...FAST, workers: [addr(workers[0]), addr(workers[1])], shards: 2 }, log, { backend: 'cpu' });
    assert.ok(relDiff(weights(two), weights(emb)) < 1e-5, 'two shards: the embedded run to 1e-5');
    assert.ok(!sameBytes(weights(emb), weights(embeddedRun)), 'the pipeline changed the run');
  });

  test('three workers found on NATS, three shards: the embedded run to 1e-5', async () => {
    threeShardRun = path.join(root, 'three');
    await trainOnCluster(spec, threeShardRun, { ...FAST, natsUrl: nats.url }, log, { backend: 'cpu' });
    assert.deepEqual(JSON.parse(readFileSync(path.join(threeShardRun, 'cluster.json'), 'utf8')), { schema: 'hessian-cluster/train-cluster/v1', shards: 3 });
    const d = relDiff(weights(threeShardRun), weights(embeddedRun));
    process.stderr.write(`# three shards vs embedded: final weights differ by ${d.toExponential(2)} (relative)\n`);
    assert.ok(d < 1e-5, `weights differ by ${d} (relative)`);
    assert.ok(d > 0, 'three shards sum in another order than one batch: not bitwise equal');
    const [a, b] = [stepLines(threeShardRun), stepLines(embeddedRun)];
    assert.equal(a.length, b.length);
    for (let i = 0; i < a.length; i++) {
      assert.ok(Math.abs(a[i].loss - b[i].loss) <= 1e-5 * Math.abs(b[i].loss), `step ${i + 1} loss ${a[i].loss} vs ${b[i].loss}`);
      if (b[i].reg !== undefined) assert.ok(Math.abs(a[i].reg! - b[i].reg!) <= 1e-5 * Math.abs(b[i].reg!), `step ${i + 1} reg ${a[i].reg} vs ${b[i].reg}`);
      assert.equal(a[i].acc, b[i].acc);
    }
  });

  test('a worker killed (SIGKILL) mid-run: its shards are redone elsewhere, same bits as without the kill', async () => {
    const run = path.join(root, 'killed');
    let killedAt = 0;
    const victim = workers[2];
    const warnings: string[] = [];
    const watch = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
    await trainOnCluster(spec, run, { ...FAST, workers: workers.map(addr), shards: 3 }, watch, {
      backend: 'cpu',
      onProgress: (p) => {
        if (p.globalStep === 5 && !killedAt) {
          killedAt = p.globalStep;
          victim.proc.kill('SIGKILL');
        }
      },
    });
    assert.equal(killedAt, 5);
    assert.equal(victim.alive, false);
    const redone = warnings.map((l) => JSON.parse(l) as { msg: string; worker?: string; step?: number }).filter((l) => l.msg === 'shard failed; redoing it on another worker');
    assert.ok(redone.length >= 1 && redone.every((l) => l.worker === addr(victim)), `shards of the killed worker were redone: ${warnings.join('')}`);
    assert.ok(sameBytes(weights(run), weights(threeShardRun)), 'final weights bitwise equal to the undisturbed three-shard run');
    assert.deepEqual(
      stepLines(run).map((l) => l.loss),
      stepLines(threeShardRun).map((l) => l.loss),
    );
  });

  test('the trainer process killed (SIGKILL) after a checkpoint and restarted: resumes and ends with the same weights', async () => {
    const run = path.join(root, 'restarted');
    const specFile = path.join(root, 'spec.json');
    writeFileSync(specFile, JSON.stringify(SPEC));
    const live = workers.filter((w) => w.alive);
    const env = {
      ...process.env,
      HESSIAN_TRAIN_RUN_DIR: run,
      HESSIAN_TRAIN_SPEC: specFile,
      HESSIAN_TRAINER_WORKERS: live.map(addr).join(','),
      HESSIAN_TRAINER_SHARDS: '3',
      HESSIAN_BACKEND: 'cpu',
      HESSIAN_LOG_LEVEL: 'warn',
    };
    const first = spawn(process.execPath, [TRAINER_MAIN], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    first.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const firstExit = new Promise<number | null>((r) => first.once('exit', (c) => r(c)));
    // Freeze the workers as soon as epoch 1 is checkpointed, so that the kill lands inside epoch 2.
    const until = Date.now() + 30000;
    while (!existsSync(path.join(run, 'checkpoints', 'epoch-001', 'state.json'))) {
      assert.ok(Date.now() < until && first.exitCode === null, `no checkpoint epoch-001: ${stderr}`);
      await sleep(2);
    }
    for (const w of live) w.proc.kill('SIGSTOP');
    first.kill('SIGKILL');
    await firstExit;
    for (const w of live) w.proc.kill('SIGCONT');
    assert.ok(!existsSync(path.join(run, 'checkpoints', 'epoch-002')), 'killed before the end of epoch 2');
    const second = spawn(process.execPath, [TRAINER_MAIN], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr2 = '';
    second.stderr.on('data', (d: Buffer) => (stderr2 += d.toString()));
    const code = await new Promise<number | null>((r) => second.once('exit', (c) => r(c)));
    assert.equal(code, 0, stderr2);
    assert.ok(sameBytes(weights(run), weights(threeShardRun)), 'final weights bitwise equal to the uninterrupted three-shard run');
    assert.deepEqual(
      stepLines(run).map((l) => l.loss),
      stepLines(threeShardRun).map((l) => l.loss),
    );
  });

  test('a NaN (huge learning rate) stops the run with one sentence and keeps the last good checkpoint', async () => {
    const run = path.join(root, 'nan');
    const bad = normalizeTrainSpec({ ...SPEC, lr: 1e12, momentum: 0, htr: { gamma: 0 } });
    const live = workers.filter((w) => w.alive).map(addr);
    await assert.rejects(trainOnCluster(bad, run, { ...FAST, workers: live }, log, { backend: 'cpu' }), (e: unknown) => {
      assert.ok(isUserError(e));
      assert.match(e.message, /^Training stopped: the (loss|gradient|weights) became .* at epoch 1, step \d+ .*the last good checkpoint is .*epoch-000/);
      assert.doesNotMatch(e.message, /\n/);
      return true;
    });
    const { state } = await readState(path.join(run, 'checkpoints', 'epoch-000'));
    assert.equal(state.step, 0);
    const w0 = weights(run, 0);
    assert.ok(w0.every((x) => Number.isFinite(x)));
    assert.match(readFileSync(path.join(run, 'metrics.jsonl'), 'utf8'), /"kind":"stopped"/);
  });

  test('bad input is one sentence: a model the workers may not read, --shards 0, no worker, resuming with other shards', async () => {
    const live = workers.filter((w) => w.alive).map(addr);
    // A model path outside the workers' HESSIAN_DATA_ROOTS: the worker's sentence, not a retry loop.
    const outside = normalizeTrainSpec({ ...SPEC, model: path.join(embeddedRun, 'checkpoints', 'epoch-000', 'model.json') });
    await assert.rejects(trainOnCluster(outside, path.join(root, 'outside'), { ...FAST, workers: live }, log, { backend: 'cpu' }), (e: unknown) => {
      assert.ok(isUserError(e));
      assert.match(e.message, /^model: .* is outside the allowed roots/);
      return true;
    });
    assert.ok(!existsSync(path.join(root, 'outside', 'run.json')), 'nothing written: --out stays free for a corrected retry');
    await assert.rejects(trainOnCluster(spec, path.join(root, 'x'), { ...FAST, workers: live, shards: 0 }, log), /--shards: must be a whole number from 1 to 4096, got 0/);
    const closed = await freePort();
    await assert.rejects(trainOnCluster(spec, path.join(root, 'none'), { ...FAST, waitS: 0.5, workers: [`127.0.0.1:${closed}`] }, log, { backend: 'cpu' }), (e: unknown) => {
      assert.ok(isUserError(e));
      assert.match(e.message, /^Training stopped: no worker is left to prepare the training data on \(last error: 127\.0\.0\.1:\d+: UNAVAILABLE/);
      return true;
    });
    await assert.rejects(resumeOnCluster(threeShardRun, { ...FAST, workers: live, shards: 2 }, log, { epochs: 3 }), /--shards 2: run .* splits its minibatches into 3 shards/);
  });

  test('hessctl train --workers: the same table as the embedded run; flag errors are one sentence, exit 2', async () => {
    const live = workers.filter((w) => w.alive).map(addr);
    const hessctl = (args: string[]) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const p = spawn(process.execPath, [HESSCTL, 'train', ...args], { env: { ...process.env, HESSIAN_BACKEND: 'cpu' }, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        p.stdout.on('data', (d: Buffer) => (out += d.toString()));
        p.stderr.on('data', (d: Buffer) => (err += d.toString()));
        p.once('exit', (code) => resolve({ code, out, err }));
      });
    const flags = ['--model', 'zoo:tiny-mlp', '--data', 'synthetic:96', '--test-data', 'synthetic:32', '--epochs', '1', '--batch-size', '32', '--format', 'json', '--quiet'];
    const [cl, em] = await Promise.all([hessctl([...flags, '--workers', live.join(','), '--shards', '1', '--out', path.join(root, 'cli-c')]), hessctl([...flags, '--out', path.join(root, 'cli-e')])]);
    assert.equal(cl.code, 0, cl.err);
    assert.equal(em.code, 0, em.err);
    const metricsOf = (o: string) => (JSON.parse(o) as { metrics: { trainLoss: number; testLoss: number }[] }).metrics.map((m) => [m.trainLoss, m.testLoss]);
    assert.deepEqual(metricsOf(cl.out), metricsOf(em.out), 'one shard: identical epoch metrics');
    const bad = await hessctl(['--model', 'zoo:tiny-mlp', '--out', path.join(root, 'cli-x'), '--cluster', 'nats://127.0.0.1:1', '--workers', live[0]]);
    assert.equal(bad.code, 2);
    assert.equal(bad.err.trim(), 'hessctl: --cluster and --workers: give one (NATS discovery, or a fixed list of worker addresses)');
  });
});
