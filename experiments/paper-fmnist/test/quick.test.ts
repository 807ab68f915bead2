/**
 * The reproduction in its smoke form (--quick: the paper's pipeline on 256 examples, one
 * epoch, two seeds, a tiny sweep), so that it cannot rot: the report files exist and are sane,
 * a second invocation reuses every run and sweep and gives the same numbers, and
 * --report-only rewrites the report from --work alone. Needs the Fashion-MNIST files.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import type { Results } from '../src/results.js';

// dist/test/quick.test.js -> experiments/paper-fmnist
const HERE = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAIN = join(HERE, 'dist', 'src', 'main.js');

function run(args: string[]): { seconds: number; stderr: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, HESSIAN_NATIVE_THREADS: process.env['HESSIAN_NATIVE_THREADS'] ?? '1' }, timeout: 600_000 });
  assert.equal(r.status, 0, `main.js ${args.join(' ')} failed (status ${r.status}):\n${r.stderr}`);
  return { seconds: (performance.now() - t0) / 1000, stderr: r.stderr };
}

function assertSvg(file: string): void {
  const text = readFileSync(file, 'utf8');
  assert.match(text, /^<\?xml[^>]*\?>\s*<svg[\s>]/, `${file}: no <svg> root`);
  assert.match(text, /<\/svg>\s*$/, `${file}: not closed`);
  assert.doesNotMatch(text, /NaN|undefined|Infinity/, `${file}: non-finite value in the markup`);
}

describe('experiments/paper-fmnist --quick', () => {
  const root = mkdtempSync(join(tmpdir(), 'hessian-paper-'));
  const out = join(root, 'out');
  const args = ['--quick', '--configs', 'sgd,htr-middle', '--out', out, '--work', join(root, 'work')];
  after(() => rmSync(root, { recursive: true, force: true }));
  let results: Results;

  test('trains, sweeps and writes a sane report with a verdict per claim', { timeout: 600_000 }, () => {
    run(args);
    for (const f of ['REPORT.md', 'results.json', 'test-error.svg', 'trace.svg', 'top-eigenvalue.svg', 'esd-distance-vs-depth.svg']) assert.ok(existsSync(join(out, f)), `${f} missing`);
    results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
    assert.equal(results.schema, 'hessian-cluster/paper-fmnist/v2');
    assert.equal(results.settings.preset, 'quick');
    assert.deepEqual(results.status, { total: 4, complete: 4, started: 4, sweepsDone: 8, sweepsWanted: 8, epochsDone: 4, epochsWanted: 4 });
    for (const r of results.runs) {
      assert.ok(r.finalTestError! > 0 && r.finalTestError! < 100, `${r.config} ${r.seed}: ${r.finalTestError}`);
      assert.equal(r.regSteps > 0, r.config === 'htr-middle', `${r.config}: regularized steps ${r.regSteps}`);
      assert.deepEqual(r.swept, [0, 1]);
      for (const c of r.sweep) {
        assert.deepEqual(c.scopes.map((s) => s.name), ['full', 'conv1', 'conv2', 'fc1', 'fc2', 'fc3']);
        for (const s of c.scopes) assert.ok(Number.isFinite(s.trace) && Number.isFinite(s.top), `${r.config}/${s.name}`);
        for (const s of c.scopes.filter((x) => x.kind === 'layer')) assert.ok(s.wasserstein1! >= 0 && s.jensenShannon! >= 0);
      }
    }
    // the run used the pipeline: lenet-32 on padded, normalized data with the training set's statistics
    const spec = JSON.parse(readFileSync(join(results.runs[0].dir, 'run.json'), 'utf8')) as { model: string; pad: number; normalize: string; stats: { mean: number; std: number }; augment: string };
    assert.equal(spec.model, 'zoo:lenet-32');
    assert.equal(spec.pad, 2);
    assert.equal(spec.augment, 'flip,rotate:15');
    assert.ok(spec.stats.mean > 0.2 && spec.stats.mean < 0.4 && spec.stats.std > 0.2, JSON.stringify(spec.stats));
    assert.deepEqual(results.claims.map((c) => c.id), ['error-htr-middle-vs-sgd', 'esd-middle-closest-w1', 'esd-middle-closest-js', 'trace-falls', 'top-falls', 'flatter-htr-middle']);
    const md = readFileSync(join(out, 'REPORT.md'), 'utf8');
    assert.match(md, /\*\*Progress: 4 of 4 runs complete, 4 started \(4 of 4 epochs trained\); 8 of 8 sweep checkpoints analyzed\.\*\*/);
    for (const c of results.claims) assert.ok(md.includes(`| **${c.verdict}** | ${c.why} |`), `verdict row of ${c.id}`);
    assert.match(md, /^\| SGD \| 2 of 2 \| \*\*\d+\.\d\d ± \d+\.\d\d\*\* \| \[/m);
    assert.match(md, /5\.43 ± 0\.10/);
    assert.match(md, /^# LeNet on Fashion-MNIST: /);
    assert.match(md, /`zoo:lenet-32` \(61,706 parameters\)/);
    assert.doesNotMatch(md, /NaN|undefined/);
    for (const f of ['test-error.svg', 'trace.svg', 'top-eigenvalue.svg', 'esd-distance-vs-depth.svg']) assertSvg(join(out, f));
  });

  test('a second invocation trains and analyzes nothing and gives the same numbers; --report-only too', { timeout: 600_000 }, () => {
    assert.ok(results, 'first invocation failed');
    const second = run(args);
    assert.doesNotMatch(second.stderr, /\] training:|\[sweep /);
    const again = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
    assert.deepEqual(again.runs, results.runs);
    assert.deepEqual(again.claims, results.claims);
    run([...args, '--report-only']);
    assert.deepEqual((JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results).claims, results.claims);
  });
});
