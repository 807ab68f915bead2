/**
 * Bring your own model through `hessctl analyze`, embedded: models exported from PyTorch with
 * torch.onnx.export give PyTorch's top eigenvalue (1e-4 relative) and traces within their errors
 * for the full network and every layer, and a report that maps our parameter order to the
 * state_dict names. The same on a local cluster: byo-cluster.test.ts.
 */
import assert from 'node:assert/strict';
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
