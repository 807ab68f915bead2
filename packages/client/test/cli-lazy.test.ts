/**
 * hessctl loads a command's modules when the command is named: the cluster's commands must
 * start without TensorFlow.js or the engine (cli.ts's lazy table, `@hessian/analysis/spec`,
 * the engine imported by model-files.ts only for an upload). A module-resolution hook records
 * every module each run resolves; the table's names must also be the commands' own.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
let dir: string;
let register: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hessctl-lazy-'));
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(hooks, `export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  process.stderr.write('RESOLVED ' + r.url + '\\n');
  return r;
}
`);
  register = join(dir, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
});

after(() => rmSync(dir, { recursive: true, force: true }));

function run(...args: string[]): { code: number | null; stdout: string; modules: string[] } {
  const r = spawnSync(process.execPath, ['--import', register, CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  const modules = r.stderr
    .split('\n')
    .filter((l) => l.startsWith('RESOLVED '))
    .map((l) => l.slice('RESOLVED '.length));
  return { code: r.status, stdout: r.stdout, modules };
}

const heavy = (modules: string[]): string[] => [...new Set(modules.filter((u) => /@tensorflow\/|\/engine\/dist\/src\/index\.js$|\/training\/dist\//.test(u)))];

test('the cluster commands (analyze --server too) start without TensorFlow.js, the engine or the training package', () => {
  // The hook sees what it should: a computing command does load TensorFlow.js.
  const models = run('models', '--help');
  assert.equal(models.code, 0);
  assert.ok(heavy(models.modules).length > 0, 'models --help resolves the engine (the hook works)');
  for (const args of [['jobs', '--help'], ['watch', '--help'], ['get', '--help'], ['submit', '--help'], ['cluster', '--help'], ['upload-model', '--help'], ['--version'], ['jobs', '--server', '127.0.0.1:1'], ['analyze', '--help'], ['analyze', '--server', '127.0.0.1:1', '--model', 'zoo:mlp', '--data', 'fashion-mnist:train[0:16]']]) {
    const r = run(...args);
    assert.ok(r.modules.some((u) => u.includes('/packages/client/dist/src/')), `${args.join(' ')}: the hook saw the client's modules`);
    assert.deepEqual(heavy(r.modules), [], `hessctl ${args.join(' ')} resolved ${heavy(r.modules).join(', ')}`);
  }
});

test("the lazy table's names are the commands' own, in the same order", () => {
  const help = run('--help');
  assert.equal(help.code, 0);
  const listed = [...help.stdout.split('Commands:\n')[1].split('\n\n')[0].matchAll(/^ {2}(\S+)/gm)].map((m) => m[1]);
  const unknown = spawnSync(process.execPath, [CLI, 'no-such-command'], { encoding: 'utf8' });
  assert.equal(unknown.status, 2);
  const named = /commands are ([^(]+) \(see/.exec(unknown.stderr)?.[1].split(', ').map((s) => s.trim());
  assert.ok(listed.length >= 13, `--help lists ${listed.join(' ')}`);
  assert.deepEqual(named, listed);
});
