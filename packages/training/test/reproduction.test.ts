/**
 * The paper reproduction script (experiments/paper-fmnist/run.mjs) in its scaled-down form
 * (--quick: 256 examples, one epoch, two seeds, a tiny sweep), so that it cannot rot: the
 * report files exist and are sane, and a second invocation reuses the finished runs and
 * sweeps (faster, same numbers). Needs the Fashion-MNIST files (dataset-fashion-mnist).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';

// dist/test/reproduction.test.js -> repository root
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const SCRIPT = join(ROOT, 'experiments', 'paper-fmnist', 'run.mjs');
const CONFIGS = ['sgd', 'l2', 'htr', 'htr-middle'];

interface Summary {
  label: string;
  seeds: number[];
  testError: number[];
  mean: number;
  sd: number;
  perEpoch: { epoch: number; mean: number; sd: number }[];
  regSteps: number[];
}
interface Results {
  schema: string;
  command: string;
  wallSeconds: number;
  settings: { quick: boolean; seeds: number[]; epochs: number };
  machine: { node: string; cpuModel: string; backend: string };
  summary: Record<string, Summary>;
  runs: { config: string; seed: number; metrics: { testAcc: number }[] }[];
  sweeps: Record<string, { epochs: number[]; scopes: { name: string; epochs: number[]; trace: (number | null)[]; top: (number | null)[] }[] }>;
  distances: Record<string, { layers: { layer: string; depth: number; wasserstein1: number | null; jensenShannon: number | null }[] }>;
  files: string[];
}

function run(out: string, work: string): { seconds: number; stderr: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [SCRIPT, '--quick', '--out', out, '--work', work], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, HESSIAN_NATIVE_THREADS: process.env['HESSIAN_NATIVE_THREADS'] ?? '1' },
    timeout: 600_000,
  });
  assert.equal(r.status, 0, `run.mjs --quick failed (status ${r.status}):\n${r.stderr}`);
  return { seconds: (performance.now() - t0) / 1000, stderr: r.stderr };
}

/** Minimal well-formedness: one svg root, balanced tags, no NaN/undefined in the markup. */
function assertSvg(file: string): void {
  const text = readFileSync(file, 'utf8');
  assert.match(text, /^<\?xml[^>]*\?>\s*<svg[\s>]/, `${file}: no <svg> root`);
  assert.match(text, /<\/svg>\s*$/, `${file}: not closed`);
  assert.doesNotMatch(text, /NaN|undefined|Infinity/, `${file}: non-finite value in the markup`);
  const stack: string[] = [];
  for (const m of text.replace(/<\?xml[^>]*\?>/, '').matchAll(/<(\/?)([A-Za-z][\w:-]*)[^>]*?(\/?)>/g)) {
    const [, close, name, self] = m;
    if (self) continue;
    if (close) assert.equal(stack.pop(), name, `${file}: </${name}> does not close the open element`);
    else stack.push(name);
  }
  assert.deepEqual(stack, [], `${file}: unclosed elements`);
  assert.ok(text.length < 200_000, `${file}: ${text.length} characters, expected a small figure`);
}

describe('experiments/paper-fmnist/run.mjs --quick', () => {
  const root = mkdtempSync(join(tmpdir(), 'hessian-repro-'));
  const out = join(root, 'out');
  const work = join(root, 'work');
  after(() => rmSync(root, { recursive: true, force: true }));
  let first: { seconds: number; stderr: string };
  let results: Results;

  test('writes a sane report', { timeout: 600_000 }, () => {
    first = run(out, work);
    for (const f of ['REPORT.md', 'results.json', 'test-error.svg', 'trace.svg', 'top-eigenvalue.svg', 'esd-distance-vs-depth.svg']) assert.ok(existsSync(join(out, f)), `${f} missing`);
    // Only the report goes to --out: no checkpoints, and small.
    const files = readdirSync(out);
    assert.ok(files.length <= 12, `too many files: ${files.join(', ')}`);
    for (const f of files) assert.ok(!f.startsWith('epoch-') && f !== 'checkpoints', `${f} in --out`);

    results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
    assert.equal(results.schema, 'hessian-cluster/paper-fmnist/v1');
    assert.equal(results.settings.quick, true);
    assert.deepEqual(results.settings.seeds, [0, 1]);
    assert.ok(results.wallSeconds > 0);
    assert.equal(results.machine.node, process.version);
    assert.match(results.command, /run\.mjs --quick/);
    assert.deepEqual(Object.keys(results.summary), CONFIGS);
    for (const c of CONFIGS) {
      const s = results.summary[c];
      assert.deepEqual(s.seeds, [0, 1], `${c}: seeds`);
      assert.equal(s.testError.length, 2);
      for (const e of s.testError) assert.ok(e > 0 && e < 100, `${c}: test error ${e}`);
      assert.ok(Number.isFinite(s.mean) && Number.isFinite(s.sd) && s.sd >= 0);
      assert.equal(s.perEpoch.length, results.settings.epochs);
      if (c.startsWith('htr')) assert.ok(s.regSteps.every((n) => n > 0), `${c}: the regularizer never ran`);
      else assert.ok(s.regSteps.every((n) => n === 0), `${c}: the regularizer ran`);
    }
    assert.equal(results.runs.length, 8);
    // Sweeps: one point per checkpoint (epoch 0 .. epochs) for every scope.
    for (const c of CONFIGS) {
      const sw = results.sweeps[c];
      assert.deepEqual(sw.epochs, [0, 1]);
      assert.deepEqual(
        sw.scopes.map((s) => s.name),
        ['full', 'conv1', 'conv2', 'fc1', 'fc2', 'fc3'],
      );
      for (const s of sw.scopes) {
        assert.deepEqual(s.epochs, [0, 1]);
        assert.equal(s.trace.length, 2);
        assert.equal(s.top.length, 2);
        for (const v of [...s.trace, ...s.top]) assert.ok(v !== null && Number.isFinite(v), `${c}/${s.name}: ${v}`);
      }
      const d = results.distances[c];
      assert.equal(d.layers.length, 5);
      for (const l of d.layers) assert.ok(l.wasserstein1 !== null && l.wasserstein1 >= 0 && l.jensenShannon !== null && l.jensenShannon >= 0, `${c}/${l.layer} distances`);
    }

    const md = readFileSync(join(out, 'REPORT.md'), 'utf8');
    for (const label of ['SGD', 'SGD + L2 (weight decay)', 'SGD + HTR (all layers)', 'SGD + HTR (middle layers)']) assert.match(md, new RegExp(`^\\| ${label.replace(/[+()]/g, '\\$&')} \\| \\*\\*\\d+\\.\\d\\d ± \\d+\\.\\d\\d\\*\\*`, 'm'), `table row for ${label}`);
    assert.match(md, /5\.43 ± 0\.10/);
    assert.match(md, /4\.78 ± 0\.15/);
    assert.match(md, /## Where we differ from the paper and why/);
    assert.match(md, /node experiments\/paper-fmnist\/run\.mjs --quick/);
    assert.doesNotMatch(md, /NaN|undefined/);
    for (const f of results.files.filter((x) => x.endsWith('.svg'))) assertSvg(join(out, f));
  });

  test('a second invocation reuses the finished runs and sweeps', { timeout: 600_000 }, () => {
    assert.ok(results, 'first invocation failed');
    const second = run(out, work);
    assert.match(second.stderr, /done already/);
    assert.doesNotMatch(second.stderr, /\] training:/);
    assert.ok(second.seconds < first.seconds, `second run ${second.seconds.toFixed(1)} s, first ${first.seconds.toFixed(1)} s`);
    const again = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
    assert.deepEqual(again.summary, results.summary);
    assert.deepEqual(again.sweeps, results.sweeps);
    assert.deepEqual(again.distances, results.distances);
  });
});
