/**
 * hessctl against a cluster, without the services: flag tables and help of the new commands,
 * HESSIAN_SERVER handling, an unreachable coordinator, spec <-> proto round trips, and the
 * client and CLI against an in-process coordinator speaking the real proto over loopback gRPC.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { normalizeSpec } from '@hessian/analysis';
import { initBackend, loadModel } from '@hessian/engine';
import { isUserError } from '@hessian/linalg';
import { specFromProto, specToProto } from '@hessian/wire';
import { analyzeCommand, analyzeServer, givenFlags, specFromFlags } from '../src/commands/analyze.js';
import { clusterDownCommand, clusterStatusCommand, clusterUpCommand } from '../src/commands/cluster.js';
import { cancelCommand } from '../src/commands/cancel.js';
import { getCommand, jobSummary } from '../src/commands/get.js';
import { jobsCommand, jobsTable } from '../src/commands/jobs.js';
import { resolveServer } from '../src/commands/remote-common.js';
import { submitCommand } from '../src/commands/submit.js';
import { uploadModelCommand } from '../src/commands/upload-model.js';
import { eventLine, watchCommand } from '../src/commands/watch.js';
import { workersCommand, workersTable } from '../src/commands/workers.js';
import { helpText, parseFlags, type Command } from '../src/flags.js';
import { CoordinatorConnection, normalizeAddress, type Job, type JobEvent } from '../src/grpc-client.js';
import { FakeCoordinator } from './fake-coordinator.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const ENV = { ...process.env, HESSIAN_BACKEND: 'cpu', HESSIAN_SERVER: '' };

function hessctl(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...ENV, ...env }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Asynchronous, so an in-process server can answer. */
function hessctlAsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...ENV, ...env }, timeout: 120_000 }, (err, stdout, stderr) =>
      res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

async function closedPort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

/** A report's numbers without its timings (wall-clock seconds differ from run to run). */
export function numbers(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(numbers);
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).filter(([k]) => k !== 'seconds').map(([k, v]) => [k, numbers(v)]));
  return x;
}

const NEW_COMMANDS: Command[] = [submitCommand, watchCommand, getCommand, cancelCommand, jobsCommand, workersCommand, uploadModelCommand, clusterUpCommand, clusterDownCommand, clusterStatusCommand];
const QUICK = ['--model', 'zoo:tiny-mlp', '--data', 'synthetic:16', '--top-k', '2', '--trace-probes', '20', '--density-runs', '2', '--density-steps', '10'];

describe('flags and help of the cluster commands', () => {
  test('every flag of every new command is in its --help, with its default', () => {
    for (const cmd of NEW_COMMANDS) {
      const h = helpText(cmd);
      for (const f of cmd.flags) {
        assert.match(h, new RegExp(`--${f.name}\\b`), `${cmd.name} --${f.name}`);
        if (f.default !== undefined) assert.ok(h.replace(/\s+/g, ' ').includes(`(default: ${f.default})`), `${cmd.name} --${f.name} default`);
      }
    }
    // --server has no parser default (HESSIAN_SERVER may apply) but its help states the default.
    assert.match(helpText(jobsCommand).replace(/\s+/g, ' '), /default: \$HESSIAN_SERVER when set, else 127\.0\.0\.1:7070/);
    assert.match(helpText(analyzeCommand).replace(/\s+/g, ' '), /--server HOST:PORT.*default: \$HESSIAN_SERVER when set, else run embedded/);
  });

  test('--help through the CLI: cluster, cluster up, submit, watch', () => {
    const c = hessctl(['cluster', '--help']);
    assert.equal(c.code, 0);
    assert.match(c.stdout, /up .*\n.*down .*\n.*status/);
    const up = hessctl(['cluster', 'up', '--help']);
    assert.equal(up.code, 0);
    for (const f of ['--workers', '--dir', '--port', '--nats-port', '--backend']) assert.match(up.stdout, new RegExp(`${f}\\b`));
    assert.match(up.stdout, /default: \.hessian-cluster/);
    const s = hessctl(['submit', '--help']);
    assert.equal(s.code, 0);
    assert.match(s.stdout, /--scope S/);
    assert.match(s.stdout, /--trace-probes/);
    assert.doesNotMatch(s.stdout, /--workers/);
    assert.equal(hessctl(['help', 'watch']).code, 0);
    assert.match(hessctl(['--help']).stdout, /upload-model/);
  });

  test('parsing: positionals, defaults, unknown flags and bad values are sentences', () => {
    const w = parseFlags(watchCommand, ['job-7', '--after', '3', '--server', '10.0.0.1:7070']);
    assert.deepEqual(w.positionals, ['job-7']);
    assert.equal(w.values.after, '3');
    assert.equal(w.values.format, 'lines');
    const s = parseFlags(submitCommand, ['--model', 'zoo:mlp', '--scope', 'dataset', '--no-density']);
    assert.equal(s.values.scope, 'dataset');
    assert.equal(s.values.format, 'id');
    assert.equal(s.values.server, undefined);
    const up = parseFlags(clusterUpCommand, []);
    assert.deepEqual([up.values.workers, up.values.dir, up.values.port, up.values['nats-port'], up.values.backend], ['2', '.hessian-cluster', '7070', '4222', 'auto']);
    assert.equal(parseFlags(clusterUpCommand, ['--metrics-port', '-1']).values['metrics-port'], '-1');
    assert.throws(() => parseFlags(jobsCommand, ['--limt', '3']), (e) => isUserError(e) && /limt.*hessctl jobs --help/.test(e.message));
    for (const [args, want] of [
      [['cluster', 'up', '--workers', '0'], /--workers: must be between 1 and 256/],
      [['cluster', 'up', '--port', '70000'], /--port: must be between 0 and 65535/],
      [['cluster', 'sideways'], /unknown subcommand "sideways"; give up, down or status/],
      [['watch'], /give exactly one job id/],
      [['get', 'a', 'b'], /give exactly one job id/],
      [['jobs', '--server', 'nowhere'], /--server: expected host:port/],
      [['submit', '--model', 'zoo:mlp', '--scope', 'everything'], /--scope: must be one of batch, dataset/],
      [['analyze', '--model', 'zoo:mlp', '--scope', 'dataset', '--embedded'], /--scope dataset .* give --server/],
      [['analyze', '--model', 'zoo:mlp', '--server', '127.0.0.1:1', '--embedded'], /contradict/],
      [['cluster', 'down', '--dir', '/nonexistent/hc'], /no cluster\.json in \/nonexistent\/hc/],
    ] as [string[], RegExp][]) {
      const r = hessctl(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr.trim().split('\n').pop()!, want, args.join(' '));
    }
  });

  test('addresses: host:port, a bare port, and refusals', () => {
    assert.equal(normalizeAddress('7070'), '127.0.0.1:7070');
    assert.equal(normalizeAddress(' coordinator.hessian.svc:7070 '), 'coordinator.hessian.svc:7070');
    assert.equal(normalizeAddress('[::1]:7070'), '[::1]:7070');
    for (const bad of ['', 'host', 'host:0', 'host:99999', 'a b:1']) assert.throws(() => normalizeAddress(bad), /--server: expected host:port/);
  });
});

describe('HESSIAN_SERVER', () => {
  test('the flag wins over the variable; commands fall back to 127.0.0.1:7070, analyze to the embedded run', () => {
    assert.equal(resolveServer({ server: 'a:1' }, { HESSIAN_SERVER: 'b:2' }), 'a:1');
    assert.equal(resolveServer({}, { HESSIAN_SERVER: ' b:2 ' }), 'b:2');
    assert.equal(resolveServer({}, {}), '127.0.0.1:7070');
    assert.equal(resolveServer({}, { HESSIAN_SERVER: '' }), '127.0.0.1:7070');
    assert.equal(analyzeServer({}, {}), undefined);
    assert.equal(analyzeServer({}, { HESSIAN_SERVER: 'b:2' }), 'b:2');
    assert.equal(analyzeServer({ embedded: true }, { HESSIAN_SERVER: 'b:2' }), undefined);
    assert.equal(analyzeServer({ server: 'a:1' }, { HESSIAN_SERVER: 'b:2' }), 'a:1');
  });

  test('analyze goes to the cluster when HESSIAN_SERVER is set, and stays embedded with --embedded', async () => {
    const port = await closedPort();
    const r = hessctl(['analyze', ...QUICK, '-q'], { HESSIAN_SERVER: `127.0.0.1:${port}` });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`the coordinator at 127\\.0\\.0\\.1:${port} cannot be reached.*hessctl cluster up`));
    const e = hessctl(['analyze', ...QUICK, '-q', '--embedded', '--format', 'json'], { HESSIAN_SERVER: `127.0.0.1:${port}` });
    assert.equal(e.code, 0, e.stderr);
    assert.equal(JSON.parse(e.stdout).schema, 'hessian-cluster/report/v1');
  });
});

describe('an unreachable coordinator', () => {
  test('every cluster command exits 2 with the sentence, quickly, without a stack trace', async () => {
    const port = await closedPort();
    const server = `127.0.0.1:${port}`;
    for (const args of [['jobs'], ['workers'], ['watch', 'j1'], ['get', 'j1'], ['cancel', 'j1'], ['submit', '--model', 'zoo:mlp'], ['upload-model', '/tmp/x/model.json'], ['analyze', '--model', 'zoo:mlp']]) {
      const t0 = Date.now();
      const r = hessctl([...args, '--server', server]);
      assert.equal(r.code, 2, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr.trim(), new RegExp(`^hessctl: the coordinator at ${server.replace(/\./g, '\\.')} cannot be reached .*\`hessctl cluster up --workers 2\``), args[0]);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
      // Not a speed test: only that no command waits out a long default deadline (or hangs) on a
      // closed port; the bound is generous so a loaded machine cannot fail it.
      assert.ok(Date.now() - t0 < 30000, `${args[0]} took ${Date.now() - t0} ms`);
    }
    // HESSIAN_SERVER is used by the commands too.
    const r = hessctl(['workers'], { HESSIAN_SERVER: server });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cannot be reached/);
  });
});

describe('spec -> proto -> spec', () => {
  const cases: string[][] = [
    ['--model', 'zoo:lenet'],
    ['--model', 'zoo:mlp', '--data', 'fashion-mnist:test[0:100]', '--per-class', '10', '--layers', 'middle', '--convention', 'weights-only', '--seed', '42', '--model-seed', '3'],
    ['--model', 'zoo:lenet', '--layers', 'conv1,fc2', '--no-full', '--top-k', '5', '--eig-method', 'power', '--eig-tol', '1e-3', '--eig-max-iter', '50'],
    ['--model', 'zoo:lenet', '--layers', '/^fc/', '--no-top-k', '--trace-method', 'hutch++', '--trace-probes', '30', '--trace-target', '0.01', '--trace-chunk', '5', '--trace-from-full'],
    ['--model', 'zoo:mlp', '--no-trace', '--density-runs', '3', '--density-steps', '40', '--density-preset', 'pyhessian', '--density-grid', '500', '--no-similarity'],
    ['--model', 'zoo:mlp', '--no-density', '--gauss-newton', '--loss', 'mse', '--batch-size', '64'],
    ['--model', 'zoo:lenet', '--preset', 'pyhessian'],
    ['--model', 'sha256:' + 'ab'.repeat(32), '--seed', '4294967295'],
  ];
  for (const argv of cases)
    test(argv.slice(2).join(' ') || argv.join(' '), () => {
      const { values } = parseFlags(analyzeCommand, argv);
      const spec = normalizeSpec(specFromFlags(values, givenFlags(argv)));
      for (const scope of ['batch', 'dataset'] as const) {
        const back = specFromProto(specToProto(spec, scope));
        assert.equal(back.scope, scope);
        const { scope: _s, ...rest } = back;
        assert.deepEqual(normalizeSpec(rest), spec);
      }
    });
});

test('a negative number after a flag is its value: --seed -1 and --top-k -1 get their range sentence', () => {
  const spec = (...args: string[]) => {
    const { values } = parseFlags(analyzeCommand, ['--model', 'zoo:mlp', ...args]);
    return specFromFlags(values, givenFlags(args));
  };
  assert.throws(() => spec('--seed', '-1'), (e) => isUserError(e) && e.message === '--seed: must be between 0 and 4294967295, got -1');
  assert.throws(() => spec('--top-k', '-1'), (e) => isUserError(e) && e.message === '--top-k: must be at least 1, got -1');
  assert.throws(() => spec('--eig-tol', '-1e-3'), (e) => isUserError(e) && /^--eig-tol: must be at least/.test(e.message));
  // An unknown flag: plain words and the usage, not parseArgs' quoting hint.
  assert.throws(
    () => parseFlags(uploadModelCommand, ['--model', 'x']),
    (e) => isUserError(e) && e.message === `unknown flag --model; usage: ${uploadModelCommand.usage} (see \`hessctl upload-model --help\`)`,
  );
});

test("get and jobs show a running job's elapsed time as of now, not as of its last finished task", () => {
  const now = Date.parse('2026-12-06T07:00:00Z');
  const job: Job = {
    id: 'j1',
    state: 'RUNNING',
    spec: null,
    progress: { tasksDone: 0, tasksSkipped: 0, tasksTotal: 40, hvps: 0, elapsedSeconds: 0, etaSeconds: -1 },
    reportJson: '',
    error: '',
    createdAt: '2026-12-06T06:57:00Z',
    updatedAt: '2026-12-06T06:57:55Z',
  };
  assert.match(jobSummary(job, now), /progress {2}tasks 0\/40 {2}HVPs 0 {2}elapsed 02:05 {2}ETA --:--/);
  assert.match(jobsTable([job], now), /RUNNING .* 0\/40 +0 +02:05 /);
  const withEta: Job = { ...job, progress: { tasksDone: 10, tasksSkipped: 0, tasksTotal: 40, hvps: 0, elapsedSeconds: 60, etaSeconds: 180 } };
  assert.match(jobSummary(withEta, now), /elapsed 03:05 {2}ETA 00:55/);
  const done: Job = { ...withEta, state: 'SUCCEEDED' };
  assert.match(jobSummary(done, now), /elapsed 01:00 {2}ETA 03:00/);
});

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
