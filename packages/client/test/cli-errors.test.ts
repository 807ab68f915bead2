/**
 * Bad input through the real command line: each case must print one sentence that names
 * what to change, exit with code 2, and show no stack trace.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { initBackend, loadModel } from '@hessian/engine';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
let dir: string;

function hessctl(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, HESSIAN_BACKEND: 'cpu' }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A copy of the saved tiny-mlp whose model.json is changed by `edit`. */
function variant(name: string, edit: (json: Record<string, unknown>) => void, weights?: (buf: Buffer) => void): string {
  const d = join(dir, name);
  mkdirSync(d);
  const json = JSON.parse(readFileSync(join(dir, 'good', 'model.json'), 'utf8'));
  edit(json);
  writeFileSync(join(d, 'model.json'), JSON.stringify(json));
  const buf = readFileSync(join(dir, 'good', 'weights.bin'));
  weights?.(buf);
  writeFileSync(join(d, 'weights.bin'), buf);
  return join(d, 'model.json');
}

function npy(path: string, header: string, data: Buffer) {
  const magic = Buffer.from([0x93, ...Buffer.from('NUMPY'), 1, 0]);
  let h = header;
  while ((10 + h.length + 1) % 64 !== 0) h += ' ';
  h += '\n';
  const len = Buffer.alloc(2);
  len.writeUInt16LE(h.length);
  writeFileSync(path, Buffer.concat([magic, len, Buffer.from(h, 'latin1'), data]));
}

const QUICK = ['--top-k', '1', '--trace-probes', '5', '--no-density', '-q'];

describe('hessctl analyze refuses bad input with one sentence and exit code 2', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hessctl-errors-'));
    await initBackend('cpu');
    const m = await loadModel('zoo:tiny-mlp');
    await m.save(join(dir, 'good'));
    m.dispose();
    mkdirSync(join(dir, 'notlayers'));
    writeFileSync(join(dir, 'notlayers', 'model.json'), JSON.stringify({ format: 'graph-model', modelTopology: { node: [] } }));
  });

  const cases: { name: string; args: () => string[]; want: RegExp }[] = [
    { name: 'a missing model file', args: () => ['--model', join(dir, 'nowhere', 'model.json')], want: /nowhere\/model\.json/ },
    { name: 'a model.json that is not a LayersModel', args: () => ['--model', join(dir, 'notlayers', 'model.json')], want: /LayersModel/ },
    {
      name: 'weights whose shapes do not match',
      args: () => ['--model', variant('shape', (j) => (((j.weightsManifest as { weights: { shape: number[] }[] }[])[0].weights[0].shape = [6, 8])))],
      want: /dense1\/kernel/,
    },
    {
      name: 'an unsupported layer type, named',
      args: () => ['--model', variant('lstm', (j) => (((j.modelTopology as { config: { layers: { class_name: string }[] } }).config.layers[1].class_name = 'LSTM')))],
      want: /LSTM/,
    },
    { name: 'NaN in weights', args: () => ['--model', variant('nan', () => {}, (b) => b.writeFloatLE(NaN, 8))], want: /NaN|non-finite|Inf/i },
    {
      name: 'Inf in data',
      args: () => {
        const x = Buffer.alloc(4 * 4 * 8);
        x.writeFloatLE(Infinity, 4 * 9);
        npy(join(dir, 'x.npy'), "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 2, 2, 2), }", x);
        npy(join(dir, 'y.npy'), "{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }", Buffer.from(new Int32Array([0, 1, 2, 0]).buffer));
        return ['--model', 'zoo:tiny-mlp', '--data', `npy:${join(dir, 'x.npy')},${join(dir, 'y.npy')}`];
      },
      want: /x\.npy/,
    },
    { name: 'an unknown name in --layers', args: () => ['--model', 'zoo:tiny-mlp', '--data', 'synthetic:8', '--layers', 'dense1,conv7'], want: /conv7.*dense1, dense2/ },
    { name: 'a data slice out of range', args: () => ['--model', 'zoo:mlp', '--data', 'fashion-mnist:test[0:20000]'], want: /10000/ },
    { name: 'an unknown zoo model', args: () => ['--model', 'zoo:alexnet'], want: /alexnet/ },
    { name: 'a zero count', args: () => ['--model', 'zoo:tiny-mlp', '--trace-probes', '0'], want: /--trace-probes.*at least 1/ },
    { name: 'a negative count', args: () => ['--model', 'zoo:tiny-mlp', '--density-runs', '-2'], want: /--density-runs/ },
    { name: 'a zero --per-class', args: () => ['--model', 'zoo:tiny-mlp', '--per-class', '0'], want: /--per-class/ },
    { name: 'a zero --workers', args: () => ['--model', 'zoo:tiny-mlp', '--workers', '0'], want: /--workers/ },
    { name: 'an unknown flag', args: () => ['--model', 'zoo:tiny-mlp', '--topk', '3'], want: /topk.*--help/ },
    { name: 'a bad choice', args: () => ['--model', 'zoo:tiny-mlp', '--convention', 'kernel'], want: /--convention: must be one of layer, weights-only/ },
    { name: 'data that does not fit the model', args: () => ['--model', 'zoo:tiny-mlp', '--data', 'fashion-mnist:train[0:8]'], want: /do not fit|shape/ },
    { name: 'a malformed data spec', args: () => ['--model', 'zoo:tiny-mlp', '--data', 'mnist:train'], want: /mnist/ },
  ];

  for (const c of cases)
    test(c.name, () => {
      const r = hessctl('analyze', ...QUICK, ...c.args());
      assert.equal(r.code, 2, `exit code; stderr: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      const last = lines[lines.length - 1];
      assert.match(last, /^hessctl: /);
      assert.match(last, c.want);
      assert.doesNotMatch(r.stderr, /\n\s+at .*\(.*:\d+:\d+\)/, 'no stack trace');
      assert.equal(r.stdout.trim(), '', 'nothing on stdout');
    });
});

describe('--out is checked before any work', () => {
  for (const c of [
    { name: 'a file in the path', out: () => join(dir, 'good', 'model.json', 'sub'), want: () => `${join(dir, 'good', 'model.json')} is a file, not a folder` },
    { name: 'a folder under /proc (Node\'s recursive mkdir loops there)', out: () => '/proc/hessctl-nope', want: () => 'cannot create the folder /proc/hessctl-nope (ENOENT)' },
  ])
    test(`analyze --out with ${c.name}: one sentence, exit 2, nothing computed`, () => {
      const r = hessctl('analyze', '--model', 'zoo:tiny-mlp', '--data', 'synthetic:8', '--top-k', '1', '--no-trace', '--no-density', '--out', c.out());
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr, `hessctl: --out ${c.out()}: ${c.want()}; choose a folder you can write (nothing was computed)\n`);
      assert.equal(r.stdout, '');
    });
});

describe('hessctl help and listings', () => {
  test('--help explains every flag of analyze with its default', () => {
    const r = hessctl('analyze', '--help');
    assert.equal(r.code, 0);
    for (const flag of ['--model', '--data', '--per-class', '--layers', '--convention', '--top-k', '--trace-probes', '--density-runs', '--seed', '--workers', '--out', '--format'])
      assert.match(r.stdout, new RegExp(`${flag}\\b`), flag);
    assert.match(r.stdout, /default: fashion-mnist:train\[0:256\]/);
  });
  test('models lists the zoo; inspect shows layers and parameter groups', () => {
    const m = hessctl('models');
    assert.equal(m.code, 0);
    for (const n of ['mlp', 'lenet', 'resnet-mini', 'vgg-mini']) assert.match(m.stdout, new RegExp(`zoo:${n}\\b`));
    assert.doesNotMatch(m.stdout, /tiny-/, 'test fixtures are not listed beside real models');
    assert.match(m.stdout, /\(2 test fixtures not shown: hessctl models --all\)/);
    assert.match(hessctl('models', '--all').stdout, /zoo:tiny-mlp .*\n[^]*zoo:tiny-cnn: test fixture/);
    const i = hessctl('inspect', '--model', 'zoo:lenet', '--format', 'json');
    assert.equal(i.code, 0, i.stderr);
    const info = JSON.parse(i.stdout);
    assert.equal(info.params, 61706);
    assert.deepEqual(info.groups.map((g: { name: string }) => g.name), ['conv1', 'conv2', 'fc1', 'fc2', 'fc3']);
  });
  test('an unknown command exits 2 and names the commands', () => {
    const r = hessctl('analyse');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /analyze/);
  });
});

describe('hessctl analyze end to end', () => {
  test('--format json prints the report; --out writes report.json, report.md and figures; a model.json saved by tfjs works', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'hessctl-out-')), 'r');
    copyFileSync(join(dir, 'good', 'weights.bin'), join(dir, 'good', 'weights.bin.bak'));
    const r = hessctl('analyze', '--model', join(dir, 'good', 'model.json'), '--data', 'synthetic:16', '--top-k', '2', '--trace-probes', '20', '--density-runs', '2', '--density-steps', '10', '--format', 'json', '--out', out, '-q');
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout);
    assert.equal(rep.schema, 'hessian-cluster/report/v1');
    assert.deepEqual(rep.scopes.map((s: { name: string }) => s.name), ['full', 'dense1', 'dense2']);
    const saved = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    assert.deepEqual(saved.scopes, rep.scopes);
    for (const f of ['report.md', 'esd.svg', 'trace.svg', 'top-eigenvalue.svg', 'similarity.svg']) assert.ok(readFileSync(join(out, f), 'utf8').length > 100, f);
  });
});
