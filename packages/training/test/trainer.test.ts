/**
 * The training loop: resume is bit-identical to an uninterrupted run, NaN stops the run and
 * keeps the last good checkpoint, a crash while writing a checkpoint leaves the previous one
 * intact and loadable, metrics and checkpoints are written.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { initBackend, loadModel } from '@hessian/engine';
import { isUserError } from '@hessian/linalg';
import { latestCheckpoint, listCheckpoints, normalizeTrainSpec, resume, train, type PartialTrainSpec } from '../src/index.js';

let root: string;
before(async () => {
  await initBackend('cpu');
  root = mkdtempSync(join(tmpdir(), 'hessian-train-'));
});

const SPEC: PartialTrainSpec = {
  model: 'zoo:tiny-mlp',
  data: 'synthetic:192',
  testData: 'synthetic:64',
  epochs: 2,
  batchSize: 32,
  lr: 0.05,
  momentum: 0.9,
  weightDecay: 1e-3,
  schedule: 'cosine',
  // HTR in the second epoch only: the resumed half runs it
  htr: { gamma: 1e-2, probes: 2, freq: 2, start: 1, layers: 'all' },
  seed: 3,
};

function files(dir: string): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const f of ['weights.bin', 'momentum.bin']) out[f] = readFileSync(join(dir, f));
  return out;
}

function epochLines(run: string): Record<string, unknown>[] {
  return readFileSync(join(run, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.kind === 'epoch' || r.kind === 'step')
    .map(({ seconds: _s, ...r }) => r);
}

describe('training runs', () => {
  test('2 epochs straight = 1 epoch, stop, resume 1 epoch (identical weights, momentum and metrics)', async () => {
    const spec = normalizeTrainSpec(SPEC);
    const a = join(root, 'straight');
    const ra = await train(spec, a);
    assert.equal(ra.epochs, 2);
    assert.deepEqual((await listCheckpoints(a)).map((c) => c.epoch), [0, 1, 2]);
    assert.ok(ra.metrics[1].regSteps > 0 && ra.metrics[0].regSteps === 0, 'HTR ran in epoch 2 only');
    const b = join(root, 'resumed');
    const rb1 = await train(spec, b, { maxEpochs: 1 });
    assert.equal(rb1.epochs, 1);
    const rb = await resume(b);
    assert.equal(rb.epochs, 2);
    assert.equal(rb.steps, ra.steps);
    assert.deepEqual(files(join(b, 'checkpoints', 'epoch-002')), files(join(a, 'checkpoints', 'epoch-002')));
    assert.deepEqual(epochLines(b), epochLines(a));
    // a finished run refuses to resume unless asked for more epochs
    await assert.rejects(resume(b), /already completed 2 of 2 epochs/);
    // a fresh run refuses a folder that holds one
    await assert.rejects(train(spec, a), /already holds a training run; pass --resume/);
    // a start that died before its initial checkpoint (run.json only) is started again, identically
    const c = join(root, 'died-before-epoch-000');
    mkdirSync(c, { recursive: true });
    writeFileSync(join(c, 'run.json'), JSON.stringify(spec));
    writeFileSync(join(c, 'metrics.jsonl'), '{"kind":"start"}\n');
    const rc = await train(spec, c);
    assert.equal(rc.epochs, 2);
    assert.deepEqual(files(join(c, 'checkpoints', 'epoch-002')), files(join(a, 'checkpoints', 'epoch-002')));
    assert.deepEqual(epochLines(c), epochLines(a));
  });

  test('a crash between checkpoint files leaves the previous checkpoint intact and loadable; resume recovers', async () => {
    const spec = normalizeTrainSpec(SPEC);
    const dir = join(root, 'crash');
    let armed = false;
    await assert.rejects(
      train(spec, dir, {
        onEpoch: (m) => {
          if (m.epoch === 1) armed = true;
        },
        hooks: {
          afterFile: (f) => {
            if (armed && f === 'momentum.bin') throw new Error('simulated crash');
          },
        },
      }),
      /simulated crash/,
    );
    assert.deepEqual((await listCheckpoints(dir)).map((c) => c.epoch), [0, 1]);
    assert.ok(!existsSync(join(dir, 'checkpoints', 'epoch-002')));
    const m = await loadModel(join(dir, 'checkpoints', 'epoch-001'));
    assert.equal(m.paramCount, 75);
    m.dispose();
    // a hard kill would leave a partial temporary folder: resume ignores and removes it
    const tmp = join(dir, 'checkpoints', '.tmp-epoch-002-1-x');
    mkdirSync(tmp);
    writeFileSync(join(tmp, 'model.json'), '{');
    assert.equal((await latestCheckpoint(dir))?.epoch, 1);
    await resume(dir);
    assert.ok(!readdirSync(join(dir, 'checkpoints')).some((n) => n.startsWith('.tmp-')));
    assert.deepEqual(files(join(dir, 'checkpoints', 'epoch-002')), files(join(root, 'straight', 'checkpoints', 'epoch-002')));
  });

  test('a NaN/Inf loss stops the run with a clear message and keeps the last good checkpoint', async () => {
    // epoch 1 at lr 0.05, epoch 2 at lr 5e22: the first step's update leaves finite but huge
    // weights, whose activations overflow float32 at the next step: the loss is NaN
    // (seed 0; with other seeds the huge step may instead kill every ReLU, leaving a finite loss)
    const spec = normalizeTrainSpec({ ...SPEC, seed: 0, weightDecay: 0, schedule: 'step:1:1e24', htr: { gamma: 0 } });
    const dir = join(root, 'nan');
    let err: unknown;
    try {
      await train(spec, dir);
    } catch (e) {
      err = e;
    }
    assert.ok(isUserError(err), String(err));
    assert.match((err as Error).message, /^Training stopped: the loss became NaN at epoch 2, step 8 \(lr 5e\+22\); the last good checkpoint is .*epoch-001 \(lower --lr/);
    assert.equal((await latestCheckpoint(dir))?.epoch, 1);
    const m = await loadModel(join(dir, 'checkpoints', 'epoch-001', 'model.json'));
    assert.ok(m.getFlatParams().every(Number.isFinite));
    m.dispose();
    const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string });
    assert.equal(lines[lines.length - 1].kind, 'stopped');
    // weights that overflow in the update itself are caught before they are set
    await assert.rejects(train(normalizeTrainSpec({ ...SPEC, schedule: 'step:1:1e30', htr: { gamma: 0 } }), join(root, 'inf')), /the weights became non-finite after the update at epoch 2/);
    assert.equal((await latestCheckpoint(join(root, 'inf')))?.epoch, 1);
  });

  test('metrics: a line per step and per epoch; loss decreases; bad data is a one-line error', async () => {
    const spec = normalizeTrainSpec({ ...SPEC, epochs: 3, data: 'synthetic:256', htr: { gamma: 0 }, schedule: 'constant', lr: 0.1 });
    const dir = join(root, 'metrics');
    const r = await train(spec, dir);
    const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string });
    assert.equal(lines.filter((l) => l.kind === 'step').length, 3 * 8);
    assert.equal(lines.filter((l) => l.kind === 'epoch').length, 3);
    assert.ok(r.metrics[2].trainLoss < r.metrics[0].trainLoss, `train loss ${r.metrics.map((m) => m.trainLoss)}`);
    await assert.rejects(train(normalizeTrainSpec({ ...SPEC, data: 'fashion-mnist:train[0:10]' }), join(root, 'bad')), /--data: examples of shape \[28, 28, 1\] do not fit model input \[2, 2, 2\]/);
    await assert.rejects(train(normalizeTrainSpec({ ...SPEC, htr: { gamma: 1, layers: 'dense9' } }), join(root, 'bad2')), /--htr-layers: unknown layer "dense9"/);
  });
});
