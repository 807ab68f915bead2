/** `hessctl analyze --dry-run`: the plan and its predicted cost, through the real command line; nothing else computed. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

function hessctl(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, HESSIAN_BACKEND: 'cpu', HESSIAN_SERVER: '', ...env }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('analyze --dry-run prints tasks, products, memory and predicted time without running the plan', () => {
  // The estimators' tasks (exact blocks and exact traces, which these tiny scopes would get, pinned off).
  const args = ['analyze', '--model', 'zoo:tiny-mlp', '--data', 'synthetic:16', '--top-k', '2', '--trace-probes', '20', '--density-runs', '2', '--density-steps', '10', '--exact-max', '0', '--trace-method', 'hutchinson', '--dry-run'];
  const json = hessctl([...args, '--format', 'json'], { HESSIAN_WORKER_MEMORY: '3G' });
  assert.equal(json.code, 0, json.stderr);
  const r = JSON.parse(json.stdout) as { tasks: number; hvps: number; hvpSeconds: number; secondsOn: Record<string, number>; modes: Record<string, number>; memory: { budgetBytes: number; budgetSource: string } };
  // 3 scopes (full, dense1, dense2) x (1 top-k + 2 trace chunks + 2 density runs).
  assert.equal(r.tasks, 15);
  assert.ok(r.hvpSeconds > 0 && r.secondsOn['1'] > 0 && r.secondsOn['2'] <= r.secondsOn['1']);
  // top-k keeps a float64 basis, SLQ's semi-orthogonal one is float32
  assert.deepEqual(r.modes, { 'full/float64': 3, 'full/float32': 6 });
  assert.equal(r.memory.budgetBytes, 3e9);
  assert.match(r.memory.budgetSource, /HESSIAN_WORKER_MEMORY=3G/);
  const table = hessctl(args, { HESSIAN_WORKER_MEMORY: '3G' });
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /15 tasks, \d+ operator products/);
  assert.match(table.stdout, /predicted time: .* on 1 worker, .* on 2 workers/);
  // A request that cannot fit is refused with the budget's sentence, exit 2.
  const huge = hessctl(['analyze', '--model', 'zoo:tiny-mlp', '--data', 'synthetic:10000000', '--dry-run'], { HESSIAN_WORKER_MEMORY: '1G' });
  assert.equal(huge.code, 2);
  assert.match(huge.stderr, /memory: 10000000 examples .*HESSIAN_WORKER_MEMORY=1G\); use fewer examples in --data, or raise HESSIAN_WORKER_MEMORY/);
});
