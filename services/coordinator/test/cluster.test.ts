/**
 * An analysis through the cluster (real nats-server, coordinator and worker processes)
 * gives the same numbers as the embedded runner, with 1, 2 and 4 workers; an uploaded
 * model works like the same model from a path; the data-parallel scope matches the
 * embedded run on the whole data within float32 summation tolerance.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { normalizeSpec, runAnalysis, type PartialSpec, type Report } from '@hessian/analysis';
import { loadModel } from '@hessian/engine';
import { specToProto } from '@hessian/wire';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Cluster } from './harness.js';
import { BASE, compareClose, numbers } from './common.js';

async function runJob(c: Cluster, spec: PartialSpec, scope: 'batch' | 'dataset' = 'batch') {
  const job = await c.submit({ spec: specToProto(spec, scope) });
  assert.equal(job.state, 'QUEUED');
  const events = await c.watch(job.id);
  const last = events[events.length - 1];
  assert.equal(last.type, 'succeeded', `job ended with ${last.type}: ${last.message}`);
  const done = await c.getJob(job.id, true);
  assert.equal(done.state, 'SUCCEEDED');
  return { job: done, events, report: JSON.parse(done.reportJson) as Report & { scope: string } };
}

describe('analysis through the cluster equals the embedded run', () => {
  let c: Cluster;
  let embedded: Report;
  before(async () => {
    embedded = await runAnalysis(normalizeSpec(BASE), { backend: 'cpu' });
    c = await Cluster.start({ workers: 1 });
  });
  after(async () => {
    await c?.stop();
  });

  for (const n of [1, 2, 4]) {
    test(`${n} worker(s): every scope's top, trace, density and similarity identical`, async () => {
      while (c.workers.length < n) await c.addWorker();
      await c.waitForWorkers(n);
      const { report, events } = await runJob(c, BASE);
      assert.deepEqual(numbers(report), numbers(embedded));
      assert.equal(report.lossValue, embedded.lossValue);
      // the workers' engines say how they computed products, as the embedded run does
      assert.equal(report.products, 'R-op');
      assert.equal(report.products, embedded.products);
      assert.equal(report.scope, 'batch');
      const types = new Set(events.map((e) => e.type));
      for (const t of ['queued', 'started', 'progress', 'task-done', 'partial', 'succeeded']) assert.ok(types.has(t), `event ${t} missing`);
      const seqs = events.map((e) => e.sequence);
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'sequences increase');
      if (n > 1) {
        const used = new Set(events.filter((e) => e.type === 'task-done').map((e) => e.worker));
        assert.ok(used.size > 1, `tasks spread over workers, got ${[...used].join(',')}`);
      }
    });
  }

  test('WatchJob after_sequence replays only later events; a finished job replays to its end', async () => {
    const jobs = (await c.call<object, { jobs: { id: string; state: string }[] }>('ListJobs', { limit: 1 })).jobs;
    assert.equal(jobs.length, 1);
    const all = await c.watch(jobs[0].id);
    const mid = all[Math.floor(all.length / 2)].sequence;
    const rest = await c.watch(jobs[0].id, mid);
    assert.deepEqual(
      rest.map((e) => e.sequence),
      all.filter((e) => e.sequence > mid).map((e) => e.sequence),
    );
  });

  test('/metrics: Prometheus text with workers, tasks, HVPs and queue depth', async () => {
    const text = await (await fetch(`http://127.0.0.1:${c.coordinator.metricsPort}/metrics`)).text();
    assert.match(text, /^# TYPE hessian_tasks_total counter$/m);
    assert.match(text, /^hessian_workers 4$/m);
    assert.match(text, /^hessian_queue_depth 0$/m);
    assert.match(text, /^hessian_tasks_total\{result="ok"\} \d+$/m);
    assert.match(text, /^hessian_hvps_total \d+$/m);
    assert.match(text, /^hessian_jobs_submitted_total\{outcome="accepted"\} 3$/m);
  });

  test('an uploaded model runs like the same model read from its files', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hessian-model-'));
    try {
      const m = await loadModel('zoo:tiny-mlp', { seed: 3 });
      await m.save(dir);
      m.dispose();
      const digest = await new Promise<string>((resolve, reject) => {
        const call = c.client.UploadModel((e, r) => (e ? reject(e) : resolve(r!.digest)));
        call.write({ header: { name: 'tiny' } });
        for (const f of readdirSync(dir)) call.write({ file: { path: f, data: readFileSync(path.join(dir, f)) } });
        call.end();
      });
      assert.match(digest, /^sha256:[0-9a-f]{64}$/);
      const spec: PartialSpec = { ...BASE, density: null, model: digest };
      const { report } = await runJob(c, spec);
      const want = await runAnalysis(normalizeSpec({ ...spec, model: path.join(dir, 'model.json') }), { backend: 'cpu' });
      assert.deepEqual(numbers(report), numbers(want));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('data-parallel scope over 4 workers equals the embedded run on the whole data (1e-4 relative)', async () => {
    // Estimators pinned: the data-parallel scope has no backpropagated diagonal or factor pass (auto and exact
    // blocks would use other methods there than embedded); this test compares summed products.
    const spec: PartialSpec = { ...BASE, trace: { method: 'hutchinson', probes: 16, chunk: 8, fromFullProbes: true }, density: { runs: 1, steps: 12, gridPoints: 200 }, exactMax: 0 };
    const want = await runAnalysis(normalizeSpec(spec), { backend: 'cpu' });
    const { report } = await runJob(c, spec, 'dataset');
    assert.equal(report.scope, 'dataset');
    // Residual norms are round-off sized (about 1e-6 of the top eigenvalue): compare them only in units of 1e-3 of the top eigenvalue.
    const strip = (r: Report) =>
      numbers(r).map((s) => ({ ...s, operators: s.operators.map((o) => ({ ...o, top: o.top && { ...o.top, residuals: o.top.residuals.map((x) => Math.round(x / Math.abs(o.top!.values[0]) / 1e-3)) } })) }));
    const worst = compareClose(strip(report), strip(want), 1e-4);
    process.stderr.write(`# data-parallel: worst relative difference ${worst.toExponential(2)}\n`);
    assert.ok(Math.abs(report.lossValue - want.lossValue) <= 1e-5 * Math.abs(want.lossValue));
  });
});

