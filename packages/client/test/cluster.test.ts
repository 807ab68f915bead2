/**
 * End to end with the real services: `hessctl cluster up --workers 2` (nats-server with
 * JetStream, the coordinator, two workers as processes on free loopback ports), an analysis
 * through the cluster against the embedded one, jobs / workers / watch / cancel / status, and
 * `cluster down` leaving no process. Skipped, saying why, when the services are not built
 * or nats-server is not installed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { COORDINATOR_MAIN, findNatsServer, isAlive, WORKER_MAIN, type ClusterRecord } from '../src/commands/cluster.js';
import { withHugePageMalloc } from '../src/commands/cluster-process.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

function hessctl(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, HESSIAN_BACKEND: 'cpu', HESSIAN_SERVER: '', ...env }, timeout: 180_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function numbers(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(numbers);
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).filter(([k]) => k !== 'seconds').map(([k, v]) => [k, numbers(v)]));
  return x;
}

const missing = [
  !existsSync(COORDINATOR_MAIN) && `${COORDINATOR_MAIN} (build the coordinator)`,
  !existsSync(WORKER_MAIN) && `${WORKER_MAIN} (build the worker)`,
  !findNatsServer() && 'nats-server (apt-get install nats-server)',
].filter(Boolean);
const skip = missing.length ? `the cluster end-to-end test needs ${missing.join(', ')}` : false;
if (skip) process.stderr.write(`# SKIP: ${skip}\n`);

const QUICK = ['--model', 'zoo:tiny-mlp', '--data', 'synthetic:16', '--top-k', '2', '--trace-probes', '20', '--density-runs', '2', '--density-steps', '10'];

describe('a local cluster through hessctl', { skip }, () => {
  let dir: string;
  let rec: ClusterRecord;
  let server: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'hessctl-cluster-'));
    const up = hessctl(['cluster', 'up', '--workers', '2', '--dir', dir, '--port', '0', '--nats-port', '0', '--metrics-port', '0', '--backend', 'cpu', '--timeout', '60', '--format', 'json']);
    assert.equal(up.code, 0, up.stderr);
    rec = JSON.parse(up.stdout) as ClusterRecord;
    server = rec.server;
  });

  after(() => {
    if (dir && existsSync(join(dir, 'cluster.json'))) hessctl(['cluster', 'down', '--dir', dir, '--grace', '2']);
  });

  test('cluster up recorded nats, the coordinator and two workers, all alive; status agrees; a second up is refused', () => {
    assert.deepEqual(rec.processes.map((p) => p.id), ['nats', 'coordinator', 'worker-1', 'worker-2']);
    for (const p of rec.processes) assert.ok(isAlive(p.pid), `${p.id} alive`);
    // the services run with malloc on transparent huge pages (withHugePageMalloc)
    for (const p of rec.processes.filter((x) => x.role !== 'nats'))
      assert.match(readFileSync(`/proc/${p.pid}/environ`, 'latin1'), /(^|\0)GLIBC_TUNABLES=([^\0]*:)?glibc\.malloc\.hugetlb=1(\0|:)/, `${p.id}'s environment`);
    assert.match(server, /^127\.0\.0\.1:\d+$/);
    const st = hessctl(['cluster', 'status', '--dir', dir]);
    assert.equal(st.code, 0, st.stdout + st.stderr);
    assert.match(st.stdout, /2 workers registered/);
    const again = hessctl(['cluster', 'up', '--dir', dir, '--port', '0', '--nats-port', '0']);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already running/);
  });

  test('analyze --server gives the numbers of the embedded analyze', () => {
    const embedded = hessctl(['analyze', ...QUICK, '--format', 'json', '-q']);
    assert.equal(embedded.code, 0, embedded.stderr);
    const remote = hessctl(['analyze', ...QUICK, '--format', 'json', '--server', server]);
    assert.equal(remote.code, 0, remote.stderr);
    assert.match(remote.stderr, /tasks \d+\/\d+ {2}HVPs \d+/);
    const a = JSON.parse(embedded.stdout);
    const b = JSON.parse(remote.stdout);
    assert.equal(b.schema, 'hessian-cluster/report/v1');
    assert.deepEqual(numbers(b.scopes), numbers(a.scopes));
  });

  test('jobs, workers, watch and get show the job; cancel stops a running one', () => {
    const jobs = hessctl(['jobs', '--format', 'json'], { HESSIAN_SERVER: server });
    assert.equal(jobs.code, 0, jobs.stderr);
    const list = JSON.parse(jobs.stdout) as { id: string; state: string }[];
    const done = list.find((j) => j.state === 'SUCCEEDED');
    assert.ok(done, 'a succeeded job');
    assert.match(hessctl(['jobs'], { HESSIAN_SERVER: server }).stdout, new RegExp(`${done.id} +SUCCEEDED +zoo:tiny-mlp`));
    const w = hessctl(['workers'], { HESSIAN_SERVER: server });
    assert.equal(w.code, 0);
    assert.match(w.stdout, /^worker-1 +127\.0\.0\.1:\d+ +cpu /m);
    assert.match(w.stdout, /^worker-2 +127\.0\.0\.1:\d+ +cpu /m);
    const watch = hessctl(['watch', done.id, '--server', server]);
    assert.equal(watch.code, 0, watch.stderr);
    const lines = watch.stdout.trim().split('\n');
    assert.match(lines[0], /queued/);
    assert.match(lines[lines.length - 1], / succeeded /);
    assert.ok(lines.some((l) => / task-done .* worker-[12] /.test(l)), 'task-done events name their worker');
    const get = hessctl(['get', done.id, '--report', '--server', server]);
    assert.equal(get.code, 0, get.stderr);
    assert.match(get.stdout, /dense1/);

    // A job that cannot finish before the cancel arrives (100,000 Hutchinson probes, nothing
    // exact), yet each product is cheap, so the workers stop within milliseconds of the cancel.
    const sub = hessctl(['submit', '--model', 'zoo:lenet', '--data', 'synthetic:64', '--no-density', '--no-top-k',
      '--exact-max', '0', '--trace-method', 'hutchinson', '--trace-probes', '100000', '--trace-chunk', '1000', '--server', server]);
    assert.equal(sub.code, 0, sub.stderr);
    const id = sub.stdout.trim();
    const c = hessctl(['cancel', id, '--server', server]);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, new RegExp(`job ${id}: CANCELLED`));
    const wc = hessctl(['watch', id, '--server', server]);
    assert.equal(wc.code, 1);
    assert.match(wc.stdout.trim().split('\n').pop()!, / cancelled /);
  });

  test('cluster down stops every process and removes cluster.json', () => {
    const down = hessctl(['cluster', 'down', '--dir', dir, '--grace', '10']);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /stopped 4 processes/);
    for (const p of rec.processes) assert.ok(!isAlive(p.pid), `${p.id} (pid ${p.pid}) stopped`);
    assert.ok(!existsSync(join(dir, 'cluster.json')));
    assert.ok(readFileSync(join(dir, 'logs', 'coordinator.log'), 'utf8').includes('listening'));
    const w = hessctl(['workers', '--server', server]);
    assert.equal(w.code, 2);
    assert.match(w.stderr, /cannot be reached/);
  });
});

test('withHugePageMalloc adds glibc.malloc.hugetlb=1 to GLIBC_TUNABLES unless it is set', () => {
  assert.equal(withHugePageMalloc(undefined), 'glibc.malloc.hugetlb=1');
  assert.equal(withHugePageMalloc(''), 'glibc.malloc.hugetlb=1');
  assert.equal(withHugePageMalloc('glibc.malloc.arena_max=2'), 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1');
  assert.equal(withHugePageMalloc('glibc.malloc.hugetlb=0'), 'glibc.malloc.hugetlb=0');
  assert.equal(withHugePageMalloc('glibc.malloc.arena_max=2:glibc.malloc.hugetlb=2'), 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=2');
});
