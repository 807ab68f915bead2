import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { isUserError } from '@hessian/linalg';
import { apiTokensFromEnv, checkInRoots, checkSpecFiles, dataRootsFromEnv, dataSpecFiles, TokenAuth } from '../src/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'wire-sec-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const md = (v?: string) => {
  const m = new grpc.Metadata();
  if (v !== undefined) m.set('authorization', v);
  return m;
};

test('TokenAuth: off without tokens; otherwise only "Bearer <a known token>" passes, with a sentence for each refusal', () => {
  assert.equal(new TokenAuth([]).check(md()), null);
  const a = new TokenAuth(['s3cret', 'other']);
  assert.equal(a.enabled, true);
  assert.equal(a.check(md('Bearer s3cret')), null);
  assert.equal(a.check(md('bearer other ')), null);
  assert.match(a.check(md())!, /no bearer token/);
  assert.match(a.check(md('Basic abc'))!, /not "Bearer <token>"/);
  assert.match(a.check(md('Bearer s3cre'))!, /not valid/);
});

test('tokens from the environment and a file (comments and blanks skipped)', () => {
  const f = path.join(dir, 'tokens');
  writeFileSync(f, '# ops\nt2\n\nt3,t4\n');
  assert.deepEqual(apiTokensFromEnv({ HESSIAN_API_TOKENS: 't1, ', HESSIAN_API_TOKENS_FILE: f }), ['t1', 't2', 't3', 't4']);
  assert.deepEqual(apiTokensFromEnv({}), []);
});

test('data roots: files must resolve inside a root after .. and symlinks', () => {
  const root = path.join(dir, 'root');
  mkdirSync(root);
  writeFileSync(path.join(root, 'model.json'), '{"weightsManifest":[{"paths":["w.bin"]}]}');
  writeFileSync(path.join(root, 'w.bin'), Buffer.alloc(64));
  writeFileSync(path.join(dir, 'secret'), 'x');
  symlinkSync(path.join(dir, 'secret'), path.join(root, 'link'));
  const roots = dataRootsFromEnv([], { HESSIAN_DATA_ROOTS: root });
  assert.ok(checkInRoots(path.join(root, 'model.json'), roots, 'model').endsWith('model.json'));
  const refused = (f: () => void, re: RegExp) => assert.throws(f, (e) => isUserError(e) && e.code === 'INVALID_ARGUMENT' && re.test(e.message));
  refused(() => checkInRoots(path.join(root, '..', 'secret'), roots, 'model'), /^model: .* is outside the allowed roots/);
  refused(() => checkInRoots(path.join(root, 'link'), roots, 'data'), /^data: .* outside/);
  assert.deepEqual(dataSpecFiles('npy:a.npy, b.npy[0:10]'), ['a.npy', 'b.npy']);
  assert.deepEqual(dataSpecFiles('fashion-mnist:train[0:5]'), []);
  refused(() => checkSpecFiles({ model: 'zoo:mlp', data: `npy:${path.join(dir, 'secret')},${path.join(root, 'w.bin')}` }, roots), /^data:/);
  checkSpecFiles({ model: path.join(root, 'model.json'), data: 'synthetic:4' }, roots, 1000);
  assert.throws(() => checkSpecFiles({ model: path.join(root, 'model.json'), data: 'synthetic:4' }, roots, 32), (e) => isUserError(e) && e.code === 'RESOURCE_EXHAUSTED');
});
