/**
 * hessctl against a cluster, without the services: flag tables and help of the new commands,
 * HESSIAN_SERVER handling, an unreachable coordinator, spec <-> proto round trips. The client
 * and CLI against an in-process coordinator are in remote-coordinator.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { normalizeSpec } from '@hessian/analysis';
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
import { watchCommand } from '../src/commands/watch.js';
import { workersCommand } from '../src/commands/workers.js';
import { helpText, parseFlags, type Command } from '../src/flags.js';
import { normalizeAddress, type Job } from '../src/grpc-client.js';
import { closedPort, hessctl, QUICK } from './remote-helpers.js';

const NEW_COMMANDS: Command[] = [submitCommand, watchCommand, getCommand, cancelCommand, jobsCommand, workersCommand, uploadModelCommand, clusterUpCommand, clusterDownCommand, clusterStatusCommand];

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
      [['cluster', 'sideways'], /unknown subcommand "sideways"; give up, down, status or credentials/],
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
