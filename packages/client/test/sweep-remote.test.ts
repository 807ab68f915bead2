/**
 * `hessctl sweep --server` against a real cluster (services/coordinator/test/harness.ts:
 * nats-server with JetStream, the coordinator and workers as processes): a two-epoch training
 * run of zoo:tiny-mlp on synthetic data (3 checkpoints), swept embedded in this process and
 * through the cluster; the series must agree. Also: Ctrl-C cancels the submitted jobs, a
 * checkpoint whose job fails is listed and the rest written (exit 1), a bad --server is one
 * sentence and exit 2. Skipped, saying why, when the services are not built or nats-server is
 * missing.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { normalizeTrainSpec, runSweep, train, type ScopeSeries, type Sweep } from '@hessian/training';
import { givenFlags, specFromFlags } from '../src/commands/analyze.js';
import { sweepCommand } from '../src/commands/sweep.js';
import { findNatsServer } from '../src/commands/cluster.js';
import { helpText, parseFlags } from '../src/flags.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
/** The harness, from the coordinator's build (dist/test), by path: the client does not depend on the coordinator. */
const HARNESS = fileURLToPath(new URL('../../../../services/coordinator/dist/test/harness.js', import.meta.url));
const ENV = { ...process.env, HESSIAN_BACKEND: 'cpu', HESSIAN_SERVER: '', HESSIAN_NATIVE_THREADS: '1' };

/** What this test uses of harness.ts (imported at run time, so the client's build does not need the coordinator's). */
interface Cluster {
  coordinator: { grpcPort: number };
  addWorker(env?: Record<string, string>): Promise<unknown>;
  waitForWorkers(n: number, timeoutMs?: number): Promise<void>;
  call<Req, Res>(method: string, req: Req): Promise<Res>;
  stop(): Promise<void>;
}
interface Harness {
  Cluster: { start(opts: { workers?: number; workerEnv?: Record<string, string> }): Promise<Cluster> };
}

const missing = [
  !existsSync(HARNESS) && `${HARNESS} (build the coordinator: npx tsc -b)`,
  !existsSync(fileURLToPath(new URL('../../../../services/worker/dist/src/main.js', import.meta.url))) && 'the worker build (npx tsc -b)',
  !findNatsServer() && 'nats-server (apt-get install nats-server)',
].filter(Boolean);
const skip = missing.length ? `the distributed sweep test needs ${missing.join(', ')}` : false;
if (skip) process.stderr.write(`# SKIP: ${skip}\n`);

/** Small and quick: 3 scopes (full, dense1, dense2) on 16 synthetic examples. */
const ANALYSIS = ['--data', 'synthetic:16', '--top-k', '2', '--trace-probes', '20', '--density-runs', '2', '--density-steps', '10', '--seed', '7'];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function hessctl(args: string[], opts: { onStderr?: (all: string, child: ReturnType<typeof spawn>) => void } = {}): Promise<Run> {
  return new Promise((res) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      opts.onStderr?.(stderr, child);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      res({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

function closedPort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

function readSweep(dir: string): Sweep {
  return JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8')) as Sweep;
}

/** a and b agree to 1e-6 relative (absolute below 1e-9), element by element, nulls where nulls. */
function close(a: (number | null)[], b: (number | null)[], what: string): void {
  assert.equal(a.length, b.length, what);
  a.forEach((x, i) => {
    const y = b[i];
    if (x === null || y === null) return assert.equal(x, y, `${what}[${i}]`);
    assert.ok(Math.abs(x - y) <= 1e-6 * Math.max(Math.abs(x), Math.abs(y)) + 1e-9, `${what}[${i}]: ${x} vs ${y}`);
  });
}

function sameSeries(remote: ScopeSeries, local: ScopeSeries): void {
  assert.deepEqual([remote.name, remote.kind, remote.depth, remote.epochs], [local.name, local.kind, local.depth, local.epochs]);
  close(remote.top, local.top, `${local.name} top`);
  close(remote.topResidual, local.topResidual, `${local.name} topResidual`);
  close(remote.trace, local.trace, `${local.name} trace`);
  close(remote.traceStderr, local.traceStderr, `${local.name} traceStderr`);
  remote.esd.forEach((d, i) => {
    const l = local.esd[i];
    assert.ok(d && l, `${local.name} esd[${i}]`);
    close(d.grid, l.grid, `${local.name} esd[${i}].grid`);
    close(d.logDensity, l.logDensity, `${local.name} esd[${i}].logDensity`);
  });
}

describe('hessctl sweep --server on a real cluster', { skip }, () => {
  let dir: string;
  let runDir: string;
  let embedded: Sweep;
  let cluster: Cluster | null = null;
  let server: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hessctl-sweep-remote-'));
    runDir = join(dir, 'run');
    const harness = (await import(HARNESS)) as Harness;
    // The cluster starts without workers: the Ctrl-C test needs jobs that cannot finish.
    const started = harness.Cluster.start({ workers: 0 });
    await train(normalizeTrainSpec({ model: 'zoo:tiny-mlp', data: 'synthetic:48', testData: 'synthetic:16', epochs: 2, batchSize: 16, lr: 0.1, seed: 3 }), runDir, { backend: 'cpu' });
    const { values } = parseFlags(sweepCommand, ['--run', runDir, '--out', 'x', ...ANALYSIS]);
    const { model: _m, ...analysis } = specFromFlags({ ...values, model: '<checkpoint>' }, givenFlags(ANALYSIS));
    void _m;
    embedded = await runSweep(runDir, analysis, join(dir, 'embedded'), { backend: 'cpu' });
    cluster = await started;
    server = `127.0.0.1:${cluster.coordinator.grpcPort}`;
  });

  after(async () => {
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the embedded sweep of the run: 3 checkpoints, 3 scopes', () => {
    assert.deepEqual(embedded.epochs, [0, 1, 2]);
    assert.deepEqual(embedded.failed, []);
    assert.deepEqual(embedded.scopes.map((s) => s.name), ['full', 'dense1', 'dense2']);
  });

  test('Ctrl-C cancels the submitted jobs and exits 130', async () => {
    const out = join(dir, 'interrupted');
    let sent = false;
    const r = await hessctl(['sweep', '--run', runDir, '--out', out, ...ANALYSIS, '--server', server], {
      onStderr: (all, child) => {
        // all three jobs accepted (no worker runs them): interrupt
        if (!sent && (all.match(/: job [\w-]+\n/g) ?? []).length === 3) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    assert.ok(sent, r.stderr);
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /interrupted: cancelling the sweep's jobs/);
    const ids = [...r.stderr.matchAll(/: job ([\w-]+)\n/g)].map((m) => m[1]);
    assert.equal(new Set(ids).size, 3);
    for (const id of ids) {
      const job = await cluster!.call<{ id: string }, { state: string }>('GetJob', { id });
      assert.equal(job.state, 'CANCELLED', id);
    }
    assert.match(r.stderr, /hessctl: epoch 0 not finished: job [\w-]+ cancelled/);
    const sweep = readSweep(out);
    assert.deepEqual(sweep.epochs, []);
    assert.deepEqual(sweep.failed.map((f) => [f.epoch, f.cancelled]), [[0, true], [1, true], [2, true]]);
  });

  test('with two workers: the same series as the embedded sweep, the figures and reports', async () => {
    await cluster!.addWorker();
    await cluster!.addWorker();
    await cluster!.waitForWorkers(2);
    const out = join(dir, 'remote');
    const t0 = Date.now();
    const r = await hessctl(['sweep', '--run', runDir, '--out', out, ...ANALYSIS, '--server', server]);
    assert.equal(r.code, 0, r.stderr);
    process.stderr.write(`# sweep --server of 3 checkpoints: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    assert.match(r.stderr, new RegExp(`sweep of 3 checkpoints \\(epochs 0, 1, 2\\) on ${server.replace(/\./g, '\\.')} \\(scope batch\\)`));
    for (const e of [0, 1, 2]) assert.match(r.stderr, new RegExp(`epoch ${e} \\(${e + 1}/3\\): succeeded \\(job [\\w-]+\\)`));
    assert.match(r.stderr, /tasks \d+\/\d+ {2}HVPs \d+/);
    assert.match(r.stdout, /3 checkpoints analyzed on 127\.0\.0\.1:\d+ in/);
    const remote = readSweep(out);
    assert.equal(remote.schema, 'hessian-cluster/sweep/v1');
    assert.deepEqual(remote.epochs, embedded.epochs);
    assert.deepEqual(remote.analysis, embedded.analysis);
    assert.deepEqual(remote.failed, []);
    assert.deepEqual(remote.scopes.map((s) => s.name), embedded.scopes.map((s) => s.name));
    remote.scopes.forEach((s, i) => sameSeries(s, embedded.scopes[i]));
    for (const f of ['top-eigenvalue.svg', 'trace.svg', 'esd-full.svg', 'esd-dense1.svg', 'esd-dense2.svg', 'reports/epoch-000.json', 'reports/epoch-001.json', 'reports/epoch-002.json'])
      assert.ok(existsSync(join(out, f)), f);
    assert.match(readFileSync(join(out, 'esd-dense1.svg'), 'utf8'), /epoch 2/);
    // the reports came from the cluster: the model is the uploaded checkpoint's digest
    const rep = JSON.parse(readFileSync(join(out, 'reports/epoch-001.json'), 'utf8')) as { spec: { model: string } };
    assert.match(rep.spec.model, /^sha256:[0-9a-f]{64}$/);
  });

  test('a checkpoint whose analysis fails is reported; the others are written; exit 1', async () => {
    const bad = join(dir, 'run-nan');
    cpSync(runDir, bad, { recursive: true });
    const w = join(bad, 'checkpoints', 'epoch-001', 'weights.bin');
    const buf = readFileSync(w);
    buf.writeFloatLE(Number.NaN, 0);
    writeFileSync(w, buf);
    const out = join(dir, 'remote-nan');
    const r = await hessctl(['sweep', '--run', bad, '--out', out, ...ANALYSIS, '--server', server, '-q']);
    assert.equal(r.code, 1, r.stderr);
    // refused at submit (the coordinator's Prepare on a worker loads the weights), or, when no
    // check ran, failed as a job: either way the NaN sentence
    assert.match(r.stderr, /^hessctl: epoch 1 failed: (job [\w-]+ failed: )?.*NaN/m);
    assert.match(r.stderr, /hessctl: 1 of 3 checkpoints have no analysis; .*rerun them with --epochs 1 /);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    const sweep = readSweep(out);
    assert.deepEqual(sweep.epochs, [0, 2]);
    assert.equal(sweep.failed.length, 1);
    assert.equal(sweep.failed[0].epoch, 1);
    assert.match(sweep.failed[0].error, /NaN/);
    // epochs 0 and 2 are those of the good run
    for (const [i, s] of sweep.scopes.entries()) {
      const e = embedded.scopes[i];
      close(s.top, [e.top[0], e.top[2]], `${s.name} top`);
      close(s.trace, [e.trace[0], e.trace[2]], `${s.name} trace`);
    }
    assert.ok(existsSync(join(out, 'reports/epoch-000.json')) && existsSync(join(out, 'reports/epoch-002.json')));
    assert.ok(!existsSync(join(out, 'reports/epoch-001.json')));
    assert.ok(existsSync(join(out, 'top-eigenvalue.svg')));
  });

  test('a bad --server: one sentence, exit 2, nothing written', async () => {
    const port = await closedPort();
    const out = join(dir, 'nowhere');
    const r = await hessctl(['sweep', '--run', runDir, '--out', out, ...ANALYSIS, '--server', `127.0.0.1:${port}`]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`^hessctl: the coordinator at 127\\.0\\.0\\.1:${port} cannot be reached .*hessctl cluster up`, 'm'));
    assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('hessctl:')).length, 1);
    assert.ok(!existsSync(join(out, 'sweep.json')));
    const m = await hessctl(['sweep', '--run', runDir, '--out', out, '--server', 'no-port-here']);
    assert.equal(m.code, 2);
    assert.match(m.stderr, /--server: expected host:port \(e\.g\. 127\.0\.0\.1:7070\), got "no-port-here"/);
  });
});

describe('hessctl sweep flags', () => {
  test('--help lists --server, the TLS and token flags, --scope and --max-jobs (from the flag table)', () => {
    const h = helpText(sweepCommand);
    for (const f of ['server', 'tls-ca', 'tls-cert', 'tls-key', 'tls-server-name', 'token', 'scope', 'max-jobs', 'embedded', 'workers', 'backend'])
      assert.match(h, new RegExp(`--${f}\\b`), f);
    assert.ok(!/--model\b/.test(h) && !/--format\b/.test(h));
  });

  test('embedded-only and cluster-only flags are refused in the other mode', async () => {
    const a = await runCli(['sweep', '--run', 'r', '--out', 'o', '--server', '127.0.0.1:1', '--workers', '2']);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /--workers: applies to the embedded sweep only/);
    const b = await runCli(['sweep', '--run', 'r', '--out', 'o', '--max-jobs', '2']);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /--max-jobs: applies to a sweep on a cluster; give --server/);
    const c = await runCli(['sweep', '--run', 'r', '--out', 'o', '--server', '127.0.0.1:1', '--embedded']);
    assert.equal(c.code, 2);
    assert.match(c.stderr, /--server and --embedded contradict each other/);
  });
});

function runCli(args: string[]): Promise<Run> {
  return new Promise((res) => {
    execFile(process.execPath, [CLI, ...args], { encoding: 'utf8', env: ENV, timeout: 60_000 }, (err, stdout, stderr) =>
      res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}
