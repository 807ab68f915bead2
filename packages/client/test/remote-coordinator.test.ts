/**
 * The client and CLI against an in-process coordinator (test/fake-coordinator.ts) speaking the
 * real proto over loopback gRPC and running the analysis embedded: submit, watch (resume after
 * UNAVAILABLE), get, jobs, workers, cancel, upload-model, and the same report as the embedded run.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { normalizeSpec } from '@hessian/analysis';
import { initBackend, loadModel } from '@hessian/engine';
import { isUserError } from '@hessian/linalg';
import { eventLine } from '../src/commands/watch.js';
import { workersTable } from '../src/commands/workers.js';
import { CoordinatorConnection, type JobEvent } from '../src/grpc-client.js';
import { FakeCoordinator } from './fake-coordinator.js';
import { hessctlAsync, numbers, QUICK } from './remote-helpers.js';

describe('against an in-process coordinator (real gRPC, embedded analysis)', () => {
  const fake = new FakeCoordinator();
  let server: string;
  let modelDir: string;
  before(async () => {
    server = await fake.start();
    await initBackend('cpu');
    modelDir = mkdtempSync(join(tmpdir(), 'hessctl-remote-'));
    const m = await loadModel('zoo:tiny-mlp');
    await m.save(join(modelDir, 'm'));
    m.dispose();
  });
  after(() => fake.stop());

  test('the client: submit (idempotent), watch to the end, resume after UNAVAILABLE without gaps, get the report', async () => {
    const conn = await CoordinatorConnection.connect(server);
    try {
      const spec = normalizeSpec({ model: 'zoo:tiny-mlp', data: 'synthetic:8', topK: { k: 1 }, trace: { probes: 10 }, density: null });
      const job = await conn.submitAnalysis(spec, { clientRequestId: 'req-1' });
      const again = await conn.submitAnalysis(spec, { clientRequestId: 'req-1' });
      assert.equal(again.id, job.id);
      fake.breakWatchAfter = 3;
      const reconnects: number[] = [];
      const events: JobEvent[] = [];
      for await (const ev of conn.watchJob(job.id, { onReconnect: (r) => reconnects.push(r.afterSequence) })) events.push(ev);
      assert.equal(fake.breaks, 1);
      assert.deepEqual(reconnects, [3]);
      assert.deepEqual(fake.watchRequests.slice(-2).map((w) => w.afterSequence), [0, 3]);
      assert.deepEqual(events.map((e) => e.sequence), events.map((_, i) => i + 1), 'every event once, in order');
      assert.equal(events[events.length - 1].type, 'succeeded');
      const done = await conn.getJob(job.id, { includeReport: true });
      assert.equal(done.state, 'SUCCEEDED');
      assert.equal(JSON.parse(done.reportJson).schema, 'hessian-cluster/report/v1');
      assert.equal((await conn.getJob(job.id)).reportJson, '');
      assert.ok((await conn.listJobs()).some((j) => j.id === job.id));
      assert.equal((await conn.listWorkers())[0].id, 'fake-1');
    } finally {
      conn.close();
    }
  });

  test('the client: user errors come back as UserError with the sentence and code', async () => {
    const conn = await CoordinatorConnection.connect(server);
    try {
      await assert.rejects(conn.getJob('nope'), (e) => isUserError(e) && e.code === 'NOT_FOUND' && /no job "nope"/.test(e.message));
      await assert.rejects(conn.submitAnalysis({ model: 'zoo:tiny-mlp', trace: { probes: 1, method: 'hutch++' } }), (e) => isUserError(e) && e.code === 'INVALID_ARGUMENT' && /trace-probes/.test(e.message));
      await assert.rejects(conn.submitAnalysis({ model: 'sha256:00' }), (e) => isUserError(e) && e.code === 'NOT_FOUND' && /upload-model/.test(e.message));
      await assert.rejects(conn.uploadModel(join(modelDir, 'absent', 'model.json')), (e) => isUserError(e) && /cannot read/.test(e.message));
      // A truncated weights.bin is refused before anything is sent, naming the user's own file.
      const cut = join(modelDir, 'cut');
      mkdirSync(cut, { recursive: true });
      copyFileSync(join(modelDir, 'm', 'model.json'), join(cut, 'model.json'));
      const weights = readFileSync(join(modelDir, 'm', 'weights.bin'));
      writeFileSync(join(cut, 'weights.bin'), weights.subarray(0, weights.length - 8));
      const uploads = fake.uploads.length;
      await assert.rejects(
        conn.uploadModel(join(cut, 'model.json')),
        (e) => isUserError(e) && e.message === `--model: ${join(cut, 'weights.bin')} holds ${weights.length - 8} bytes but ${join(cut, 'model.json')} describes ${weights.length} bytes of float32 weights: it is truncated or belongs to another model; save the model again`,
      );
      assert.equal(fake.uploads.length, uploads, 'nothing was uploaded');
    } finally {
      conn.close();
    }
  });

  test('the client: uploadModel streams model.json and the weight files in chunks', async () => {
    const conn = await CoordinatorConnection.connect(server);
    try {
      const up = await conn.uploadModel(join(modelDir, 'm', 'model.json'), { chunkBytes: 64 });
      assert.match(up.digest, /^sha256:[0-9a-f]{64}$/);
      assert.deepEqual(up.files, ['model.json', 'weights.bin']);
      const rec = fake.uploads[fake.uploads.length - 1];
      assert.equal(rec.header, 'm');
      assert.equal(rec.files.get('weights.bin'), readFileSync(join(modelDir, 'm', 'weights.bin')).length);
      assert.equal(rec.files.get('model.json'), readFileSync(join(modelDir, 'm', 'model.json')).length);
      assert.ok(rec.chunks > 4);
    } finally {
      conn.close();
    }
  });

  test('hessctl analyze --server prints what the embedded analyze prints (json, table, --out); a model path is uploaded first', async () => {
    const embedded = await hessctlAsync(['analyze', ...QUICK, '--format', 'json', '-q']);
    assert.equal(embedded.code, 0, embedded.stderr);
    const out = join(modelDir, 'out');
    const remote = await hessctlAsync(['analyze', ...QUICK, '--format', 'json', '--server', server, '--out', out]);
    assert.equal(remote.code, 0, remote.stderr);
    assert.match(remote.stderr, /job job-\d+ on 127\.0\.0\.1:\d+ \(scope batch\)/);
    assert.match(remote.stderr, /tasks \d+\/\d+ {2}HVPs \d+ {2}elapsed/);
    const a = JSON.parse(embedded.stdout);
    const b = JSON.parse(remote.stdout);
    assert.deepEqual(numbers(b.scopes), numbers(a.scopes));
    assert.deepEqual(numbers(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')).scopes), numbers(a.scopes));
    const table = await hessctlAsync(['analyze', ...QUICK, '-q'], { HESSIAN_SERVER: server });
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /dense1/);
    const path = await hessctlAsync(['analyze', ...QUICK.slice(2), '--model', join(modelDir, 'm', 'model.json'), '--server', server, '--format', 'json']);
    assert.equal(path.code, 0, path.stderr);
    assert.match(path.stderr, /uploaded .*model\.json \(2 files, \d+ bytes\) as sha256:/);
    assert.deepEqual(JSON.parse(path.stdout).scopes.map((s: { name: string }) => s.name), ['full', 'dense1', 'dense2']);
    const w = await hessctlAsync(['analyze', ...QUICK, '--server', server, '--workers', '2']);
    assert.equal(w.code, 2);
    assert.match(w.stderr, /--workers: applies to the embedded run only/);
  });

  test('hessctl submit, watch, get, jobs, workers, cancel, upload-model', async () => {
    const s = await hessctlAsync(['submit', ...QUICK, '--server', server]);
    assert.equal(s.code, 0, s.stderr);
    const id = s.stdout.trim();
    assert.match(id, /^job-\d+$/);
    const w = await hessctlAsync(['watch', id, '--server', server]);
    assert.equal(w.code, 0, w.stderr);
    const lines = w.stdout.trim().split('\n');
    assert.match(lines[0], /^\d\d:\d\d:\d\d\.\d{3} +queued/);
    assert.match(lines[lines.length - 1], / succeeded /);
    assert.ok(lines.some((l) => /task-done +\S+ +fake-1 +tasks \d+\/\d+/.test(l)), 'task-done lines name task and worker');
    const wj = await hessctlAsync(['watch', id, '--after', String(lines.length - 1), '--format', 'json', '--server', server]);
    assert.equal(wj.code, 0);
    assert.equal(JSON.parse(wj.stdout.trim()).type, 'succeeded');
    const g = await hessctlAsync(['get', id, '--server', server]);
    assert.equal(g.code, 0, g.stderr);
    assert.match(g.stdout, /state +SUCCEEDED/);
    assert.match(g.stdout, /model +zoo:tiny-mlp/);
    const gr = await hessctlAsync(['get', id, '--report', '--format', 'json', '--server', server]);
    assert.equal(gr.code, 0, gr.stderr);
    assert.equal(JSON.parse(gr.stdout).schema, 'hessian-cluster/report/v1');
    const gt = await hessctlAsync(['get', id, '--report', '--server', server]);
    assert.match(gt.stdout, /dense2/);
    const j = await hessctlAsync(['jobs', '--server', server]);
    assert.equal(j.code, 0);
    assert.match(j.stdout, /^id +state +model +data +scope +tasks +HVPs/);
    assert.match(j.stdout, new RegExp(`${id} +SUCCEEDED +zoo:tiny-mlp +synthetic:16 +batch`));
    const wk = await hessctlAsync(['workers', '--server', server]);
    assert.equal(wk.code, 0);
    assert.match(wk.stdout, /^id +address +backend +device +capacity +running +memory +last heartbeat/);
    assert.match(wk.stdout, /fake-1 +127\.0\.0\.1:1 +cpu +cpu +2 +0 +3\.0 GiB +\d+\.\ds ago/);
    // A job that runs until cancelled: watch exits 1.
    fake.hold = true;
    const long = await hessctlAsync(['submit', '--model', 'zoo:tiny-mlp', '--data', 'synthetic:16', '--trace-probes', '3000', '--trace-chunk', '1', '--layers', 'dense1', '--no-full', '--no-density', '--no-top-k', '--server', server, '--format', 'json']);
    assert.equal(long.code, 0, long.stderr);
    fake.hold = false;
    const lid = JSON.parse(long.stdout).id as string;
    assert.equal(JSON.parse(long.stdout).spec.model, 'zoo:tiny-mlp');
    const watching = hessctlAsync(['watch', lid, '--server', server]);
    await new Promise((r) => setTimeout(r, 1500));
    const c = await hessctlAsync(['cancel', lid, '--server', server]);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.stdout.trim(), `job ${lid}: CANCELLED`);
    const wr = await watching;
    assert.equal(wr.code, 1);
    assert.match(wr.stdout.trim().split('\n').pop()!, /cancelled/);
    const gn = await hessctlAsync(['get', lid, '--report', '--server', server]);
    assert.equal(gn.code, 2);
    assert.match(gn.stderr, /is CANCELLED; a report exists once it has SUCCEEDED/);
    const nf = await hessctlAsync(['get', 'job-999', '--server', server]);
    assert.equal(nf.code, 2);
    assert.match(nf.stderr, /hessctl: no job "job-999"/);
    const up = await hessctlAsync(['upload-model', join(modelDir, 'm', 'model.json'), '--server', server]);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout.trim(), /^sha256:[0-9a-f]{64}$/);
  });

  test('jobs --limit 0 asks for every job (the coordinator reads 0 as its page of 100); --limit 1 for one', async () => {
    const all = await hessctlAsync(['jobs', '--limit', '0', '--format', 'json', '--server', server]);
    assert.equal(all.code, 0, all.stderr);
    assert.equal(fake.listLimits[fake.listLimits.length - 1], 0xffffffff);
    const one = await hessctlAsync(['jobs', '--limit', '1', '--format', 'json', '--server', server]);
    assert.equal((JSON.parse(one.stdout) as unknown[]).length, 1);
    assert.ok((JSON.parse(all.stdout) as unknown[]).length > 1);
  });

  test('event lines and the workers table', () => {
    const line = eventLine({ jobId: 'j', sequence: 4, time: '2026-11-27T05:00:01.250Z', type: 'partial', message: '', taskId: 'conv1/trace/0', worker: 'worker-2', progress: null, partialJson: '{"scope":"conv1","trace":{"mean":12.5,"stderr":0.25,"probes":30}}', state: 'RUNNING' });
    assert.match(line, /^05:00:01\.250 +partial +conv1\/trace\/0 +worker-2 +conv1 trace 12\.500 ± 0\.25 \(30 probes\)$/);
    assert.match(workersTable([]), /no live workers/);
  });
});
