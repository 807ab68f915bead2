/**
 * runSweep with an injected analyzer (what `hessctl sweep --server` uses): the default is the
 * embedded runAnalysis; an injected one gets every checkpoint's normalized spec, runs up to
 * `concurrency` at once, and its failures or a cancellation are listed in `failed` while the
 * other checkpoints' series, figures and reports are written.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import type { Report } from '@hessian/analysis';
import { initBackend } from '@hessian/engine';
import { UserError } from '@hessian/linalg';
import { embeddedAnalyzer, normalizeTrainSpec, runSweep, train, type CheckpointTask, type Sweep } from '../src/index.js';

const ANALYSIS = { data: 'synthetic:16', topK: { k: 1 }, trace: { probes: 8, chunk: 4 }, density: { runs: 1, steps: 6 }, seed: 5 };

describe('runSweep with an injected analyzer', () => {
  let root: string;
  let run: string;
  let embedded: Sweep;
  const reports = new Map<number, Report>();

  before(async () => {
    await initBackend('cpu');
    root = mkdtempSync(join(tmpdir(), 'hessian-sweep-'));
    run = join(root, 'run');
    await train(normalizeTrainSpec({ model: 'zoo:tiny-mlp', data: 'synthetic:32', testData: 'synthetic:16', epochs: 2, batchSize: 16, lr: 0.1, seed: 1 }), run, { backend: 'cpu' });
    embedded = await runSweep(run, ANALYSIS, join(root, 'embedded'), { backend: 'cpu', onCheckpointDone: (d) => d.report && reports.set(d.epoch, d.report) });
  });

  test('the default (embedded) sweep: 3 checkpoints, nothing failed, every file', () => {
    assert.deepEqual(embedded.epochs, [0, 1, 2]);
    assert.deepEqual(embedded.failed, []);
    for (const f of ['sweep.json', 'top-eigenvalue.svg', 'trace.svg', 'esd-full.svg', 'reports/epoch-002.json']) assert.ok(existsSync(join(root, 'embedded', f)), f);
  });

  test('all at once (concurrency 0): the spec of each checkpoint, the same series as the embedded sweep', async () => {
    const seen: CheckpointTask[] = [];
    let inFlight = 0;
    let most = 0;
    const sweep = await runSweep(run, ANALYSIS, join(root, 'injected'), {
      concurrency: 0,
      analyze: async (t) => {
        seen.push(t);
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 20 * (3 - t.index))); // finish out of order
        inFlight--;
        return reports.get(t.epoch)!;
      },
    });
    assert.equal(most, 3);
    assert.deepEqual(seen.map((t) => [t.epoch, t.index, t.total]), [[0, 0, 3], [1, 1, 3], [2, 2, 3]]);
    for (const t of seen) assert.equal(t.spec.model, join(t.dir, 'model.json'));
    assert.deepEqual(seen[0].spec.topK, reports.get(0)!.spec.topK);
    const { seconds: _a, ...a } = sweep;
    const { seconds: _b, ...b } = embedded;
    assert.deepEqual(a, b);
  });

  test('a failing checkpoint is listed with its sentence; the others are written', async () => {
    const out = join(root, 'failing');
    const done: string[] = [];
    const sweep = await runSweep(run, ANALYSIS, out, {
      concurrency: 2,
      analyze: async (t) => {
        if (t.epoch === 1) throw new UserError('job j-1 failed: the worker refused the model');
        return reports.get(t.epoch)!;
      },
      onCheckpointDone: (d) => done.push(d.report ? `${d.epoch} ok` : `${d.epoch} ${d.error}`),
    });
    assert.deepEqual(sweep.epochs, [0, 2]);
    assert.deepEqual(sweep.failed, [{ epoch: 1, error: 'job j-1 failed: the worker refused the model', cancelled: false }]);
    assert.deepEqual(done.sort(), ['0 ok', '1 job j-1 failed: the worker refused the model', '2 ok']);
    assert.deepEqual(sweep.scopes[0].top, [embedded.scopes[0].top[0], embedded.scopes[0].top[2]]);
    assert.ok(existsSync(join(out, 'reports/epoch-000.json')) && !existsSync(join(out, 'reports/epoch-001.json')));
    assert.deepEqual((JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8')) as Sweep).failed, sweep.failed);
  });

  test('an abort: running analyses see the signal, the rest never start; all listed as cancelled', async () => {
    const stop = new AbortController();
    const started: number[] = [];
    let sawAbort = false;
    const sweep = await runSweep(run, ANALYSIS, join(root, 'aborted'), {
      concurrency: 1,
      signal: stop.signal,
      analyze: async (t) => {
        started.push(t.epoch);
        if (t.epoch === 0) return reports.get(0)!;
        stop.abort();
        sawAbort = t.signal?.aborted === true;
        throw new UserError('job j-2 cancelled');
      },
    });
    assert.deepEqual(started, [0, 1]);
    assert.ok(sawAbort, 'the analysis got the signal');
    assert.equal(sweep.failed[0].error, 'job j-2 cancelled');
    assert.deepEqual(sweep.epochs, [0]);
    assert.deepEqual(sweep.failed.map((f) => [f.epoch, f.cancelled]), [[1, true], [2, true]]);
    assert.match(sweep.failed[1].error, /interrupted/);
  });

  test('onStart runs after validation and before any analysis; its error ends the sweep', async () => {
    let calls = 0;
    await assert.rejects(
      runSweep(run, ANALYSIS, join(root, 'nostart'), {
        onStart: (cps) => {
          assert.equal(cps.length, 3);
          throw new UserError('the coordinator at 127.0.0.1:1 cannot be reached');
        },
        analyze: async () => {
          calls++;
          return reports.get(0)!;
        },
      }),
      /cannot be reached/,
    );
    assert.equal(calls, 0);
    await assert.rejects(runSweep(run, { ...ANALYSIS, topK: { k: 0 } }, join(root, 'bad'), { onStart: () => assert.fail('onStart after a bad spec') }), (e: Error) => e instanceof UserError);
    assert.equal(typeof embeddedAnalyzer(), 'function');
  });
});
