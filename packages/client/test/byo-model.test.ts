/**
 * Bring your own model through `hessctl analyze`, embedded: models exported from PyTorch with
 * torch.onnx.export give PyTorch's top eigenvalue (1e-4 relative) and traces within their errors
 * for the full network and every layer, and a report that maps our parameter order to the
 * state_dict names; an unsupported operator or a truncated file is one sentence, exit 2. The
 * same on a local cluster: byo-cluster.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { agreesWithTorch, hessctl, MODELS, ONNX, QUICK, torch, type ReportJson } from './byo-helpers.js';

describe('PyTorch ONNX exports through hessctl analyze, embedded', () => {
  for (const name of MODELS)
    test(`${name}.onnx: top eigenvalue and trace of the full network and every layer equal PyTorch's`, () => {
      const ref = torch(name);
      const r = hessctl(['analyze', '--model', join(ONNX, `${name}.onnx`), '--data', ref.data, ...QUICK]);
      assert.equal(r.code, 0, r.stderr);
      agreesWithTorch(JSON.parse(r.stdout) as ReportJson, ref, `${name} embedded`);
    });
});

test('an unsupported ONNX operator and a truncated .onnx file: one sentence naming it, exit 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'byo-bad-'));
  try {
    const bytes = readFileSync(join(ONNX, 'lenet.onnx'));
    // Relu -> Relx (same length, so the protobuf stays well formed): op types and node names alike
    const bad = join(dir, 'relx.onnx');
    writeFileSync(bad, Buffer.from(bytes.toString('latin1').replaceAll('Relu', 'Relx'), 'latin1'));
    const r = hessctl(['inspect', '--model', bad]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^hessctl: ONNX node '[^']*Relx[^']*' in '.*relx\.onnx' uses operator Relx, which the engine does not support; supported operators: .*\.\n$/);
    const cut = join(dir, 'cut.onnx');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const c = hessctl(['analyze', '--model', cut, '--data', 'synthetic:4']);
    assert.equal(c.code, 2, c.stderr);
    assert.match(c.stderr, /'.*cut\.onnx'.*truncated or corrupt/);
    assert.equal(c.stderr.trim().split('\n').length, 1, c.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
