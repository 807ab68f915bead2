/**
 * `hessctl train` and `hessctl sweep` through the real command line: a few hundred
 * Fashion-MNIST examples, a small MLP (784-16-10), two epochs with the regularizer in the
 * second; the sweep of that run; resume; bad input as one sentence and exit code 2.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { initBackend, loadModel } from '@hessian/engine';
import { Rng } from '@hessian/linalg';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
let dir: string;
let modelPath: string;

function hessctl(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, HESSIAN_BACKEND: 'cpu' }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** zoo:mlp's topology cut down to 784-16-10 (fast on the cpu backend), seeded Glorot weights. */
async function smallMlp(out: string): Promise<string> {
  const m = await loadModel('zoo:mlp');
  const src = join(dir, 'mlp-src');
  await m.save(src);
  m.dispose();
  const json = JSON.parse(readFileSync(join(src, 'model.json'), 'utf8'));
  const layers = json.modelTopology.config.layers as { config: { name: string; units?: number } }[];
  json.modelTopology.config.layers = layers.filter((l) => l.config.name !== 'dense2');
  json.modelTopology.config.layers.find((l: { config: { name: string } }) => l.config.name === 'dense1').config.units = 16;
  const specs = [
    { name: 'dense1/kernel', shape: [784, 16] },
    { name: 'dense1/bias', shape: [16] },
    { name: 'dense3/kernel', shape: [16, 10] },
    { name: 'dense3/bias', shape: [10] },
  ];
  json.weightsManifest = [{ paths: ['weights.bin'], weights: specs.map((s) => ({ ...s, dtype: 'float32' })) }];
  const rng = new Rng(5);
  const parts = specs.map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const lim = s.shape.length === 2 ? Math.sqrt(6 / (s.shape[0] + s.shape[1])) : 0;
    return Float32Array.from({ length: n }, () => (2 * rng.uniform() - 1) * lim);
  });
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'model.json'), JSON.stringify(json));
  writeFileSync(join(out, 'weights.bin'), Buffer.concat(parts.map((p) => Buffer.from(p.buffer))));
  return join(out, 'model.json');
}

const TRAIN = () => [
  '--model', modelPath,
  '--data', 'fashion-mnist:train[0:300]',
  '--test-data', 'fashion-mnist:test[0:200]',
  '--epochs', '2', '--batch-size', '50', '--lr', '0.1',
  '--htr-gamma', '1e-3', '--htr-probes', '2', '--htr-freq', '3', '--htr-start', '1',
];

describe('hessctl train and sweep (embedded)', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hessctl-train-'));
    await initBackend('cpu');
    modelPath = await smallMlp(join(dir, 'small'));
  });

  test('train: 2 epochs on 300 Fashion-MNIST examples lower the loss and write checkpoints and metrics', () => {
    const run = join(dir, 'run');
    const r = hessctl('train', ...TRAIN(), '--out', run, '--format', 'json');
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as { epochs: number; steps: number; metrics: { trainLoss: number; testAcc: number; reg: number | null; regSteps: number }[] };
    assert.equal(res.epochs, 2);
    assert.equal(res.steps, 12);
    assert.ok(res.metrics[1].trainLoss < res.metrics[0].trainLoss, `train loss ${res.metrics.map((m) => m.trainLoss)}`);
    assert.ok(res.metrics[1].testAcc > 0.3, `test accuracy ${res.metrics[1].testAcc}`);
    assert.equal(res.metrics[0].regSteps, 0);
    assert.equal(res.metrics[1].regSteps, 2); // global steps 6 and 9
    assert.ok((res.metrics[1].reg as number) > 0);
    assert.deepEqual(readdirSync(join(run, 'checkpoints')).sort(), ['epoch-000', 'epoch-001', 'epoch-002']);
    for (const f of ['model.json', 'weights.bin', 'momentum.bin', 'state.json']) assert.ok(existsSync(join(run, 'checkpoints', 'epoch-002', f)), f);
    const lines = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const steps = lines.filter((l) => l.kind === 'step');
    assert.equal(steps.length, 12);
    for (const k of ['step', 'epoch', 'loss', 'acc', 'lr', 'seconds']) assert.ok(k in steps[0], k);
    assert.equal(steps.filter((l) => 'reg' in l).length, 2);
    const epochs = lines.filter((l) => l.kind === 'epoch');
    for (const k of ['trainLoss', 'trainAcc', 'testLoss', 'testAcc', 'reg', 'seconds']) assert.ok(k in epochs[0], k);
    // the progress line: epoch, step, loss, reg, acc, ETA
    assert.doesNotMatch(r.stderr, /will not run/);
    assert.match(r.stderr, /epoch 2\/2 {2}step 6\/6 {2}loss \d\.\d{4} {2}reg [\d.e+-]+ {2}acc [\d.]+% {2}test [\d.]+% {2}lr 0\.100 {2}elapsed \d\d:\d\d {2}ETA \d\d:\d\d/);

    // resume to a third epoch; other settings cannot change on resume
    const more = hessctl('train', '--out', run, '--resume', '--epochs', '3', '-q');
    assert.equal(more.code, 0, more.stderr);
    assert.match(more.stdout, /^ +3 /m);
    assert.ok(existsSync(join(run, 'checkpoints', 'epoch-003')));
    const again = hessctl('train', '--out', run, '--resume', '--lr', '0.5');
    assert.equal(again.code, 2);
    assert.match(again.stderr, /--resume continues the run with the settings in .*run\.json; drop --lr/);
    const fresh = hessctl('train', ...TRAIN(), '--out', run);
    assert.equal(fresh.code, 2);
    assert.match(fresh.stderr, /already holds a training run; pass --resume/);

    // sweep: one analysis per checkpoint, series and figures
    const out = join(dir, 'sweep');
    const s = hessctl('sweep', '--run', run, '--epochs', '0,1,3', '--data', 'fashion-mnist:train[0:64]', '--top-k', '1', '--trace-probes', '4', '--trace-chunk', '2', '--density-runs', '1', '--density-steps', '8', '--out', out, '-q');
    assert.equal(s.code, 0, s.stderr);
    const sweep = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8')) as { schema: string; epochs: number[]; scopes: { name: string; top: number[]; trace: number[]; traceStderr: number[]; esd: unknown[] }[] };
    assert.equal(sweep.schema, 'hessian-cluster/sweep/v1');
    assert.deepEqual(sweep.epochs, [0, 1, 3]);
    assert.deepEqual(sweep.scopes.map((x) => x.name), ['full', 'dense1', 'dense3']);
    for (const sc of sweep.scopes) {
      assert.equal(sc.top.length, 3);
      assert.ok(sc.top.every((v) => Number.isFinite(v) && v > 0), `${sc.name} top ${sc.top}`);
      assert.ok(sc.trace.every(Number.isFinite));
      assert.equal(sc.esd.length, 3);
    }
    for (const f of ['top-eigenvalue.svg', 'trace.svg', 'esd-full.svg', 'esd-dense1.svg', 'esd-dense3.svg', 'reports/epoch-000.json', 'reports/epoch-003.json']) {
      assert.ok(existsSync(join(out, f)), f);
    }
    assert.match(readFileSync(join(out, 'esd-dense1.svg'), 'utf8'), /epoch 3/);
    // report.md as analyze writes one: the series by epoch and the figures embedded.
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    assert.match(md, /\| Scope \| epoch 0 \| epoch 1 \| epoch 3 \|/);
    for (const f of ['top-eigenvalue.svg', 'trace.svg', 'esd-dense1.svg']) assert.ok(md.includes(`](${f})`), f);
    assert.match(s.stdout, /full/);
  });

  test('train says at start when the regularizer will not run (--htr-start past the last epoch)', () => {
    const r = hessctl('train', '--model', 'zoo:tiny-mlp', '--data', 'synthetic:20', '--test-data', 'synthetic:10', '--epochs', '1', '--batch-size', '10', '--htr-gamma', '1e-3', '--out', join(dir, 'htr-late'), '-q');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^hessctl: warning: HTR starts at epoch 15 \(--htr-start\) but the run has 1 epoch: the regularizer \(--htr-gamma 0\.001\) will not run; set --htr-start below 1/);
  });

  const bad: { name: string; args: () => string[]; want: RegExp }[] = [
    { name: 'train without --out', args: () => ['train', '--model', 'zoo:tiny-mlp'], want: /--out is required/ },
    { name: 'train without --model', args: () => ['train', '--out', join(dir, 'x1')], want: /--model is required/ },
    { name: 'a bad schedule', args: () => ['train', ...TRAIN(), '--schedule', 'linear', '--out', join(dir, 'x2')], want: /--schedule: "linear" is not constant, step:EVERY/ },
    { name: 'an unknown HTR layer', args: () => ['train', ...TRAIN(), '--htr-layers', 'conv9', '--out', join(dir, 'x3')], want: /--htr-layers: unknown layer "conv9"; layers with parameters \(layer\) are dense1, dense3/ },
    { name: 'momentum 1', args: () => ['train', ...TRAIN(), '--momentum', '1', '--out', join(dir, 'x4')], want: /--momentum: must be below 1/ },
    { name: 'a probe distribution', args: () => ['train', ...TRAIN(), '--htr-probe-dist', 'uniform', '--out', join(dir, 'x5')], want: /--htr-probe-dist: must be one of rademacher, gaussian/ },
    { name: 'a bad data spec', args: () => ['train', '--model', 'zoo:tiny-mlp', '--data', 'mnist:train', '--out', join(dir, 'x6')], want: /mnist/ },
    { name: 'resume of nothing', args: () => ['train', '--out', join(dir, 'nothing'), '--resume'], want: /holds no training run/ },
    { name: 'sweep of nothing', args: () => ['sweep', '--run', join(dir, 'nothing'), '--out', join(dir, 'x7')], want: /holds no training run/ },
    { name: 'sweep without --out', args: () => ['sweep', '--run', join(dir, 'run')], want: /--out is required/ },
    { name: 'sweep of a missing epoch', args: () => ['sweep', '--run', join(dir, 'run'), '--epochs', '7', '--out', join(dir, 'x8')], want: /no checkpoint for epoch 7/ },
  ];
  for (const c of bad) {
    test(`bad input: ${c.name}`, () => {
      const r = hessctl(...c.args());
      assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, c.want);
      assert.match(r.stderr, /^hessctl: /, 'the sentence first, no blank line before it');
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('hessctl:')).length, 1);
    });
  }
});
