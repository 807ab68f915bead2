/**
 * ONNX files exported by PyTorch (torch.onnx.export, bench/onnx/torch_reference.py) against
 * PyTorch's own float64 numbers stored beside them: loss, a Hessian-vector product in the
 * state_dict layouts, the top eigenvalue of the full Hessian and of every layer block (small
 * models), and traces (exact, or the same hashed Rademacher probes replayed). No Python here.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import { Rng, topEigenvalues } from '@hessian/linalg';
import { initBackend, loadDataset, loadModel, HessianEngine, OnnxModel, type Dataset } from '../src/index.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'onnx');

interface Reference {
  data: string;
  dim: number;
  loss: number;
  params: { name: string; shape: number[]; size: number }[];
  hvp: { norm: number; vHv: number; indices: number[]; values: number[] };
  full: { top: number; trace: number; traceSE?: number; firstProbes?: number[] };
  layers: { module: string; params: string[]; size: number; top: number; trace: number; traceSE?: number }[];
}

/** The reference's probe(k, n): integer-hashed Rademacher signs (Python's arithmetic mod 2^32). */
export function hashedProbe(k: number, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let x = (Math.imul(i, 0x9e3779b1) + Math.imul(k + 1, 0x85ebca77)) >>> 0;
    x = (x ^ (x >>> 15)) >>> 0;
    x = Math.imul(x, 0x2c1b3c6d) >>> 0;
    x = (x ^ (x >>> 12)) >>> 0;
    out[i] = x & 1 ? 1 : -1;
  }
  return out;
}

/** A vector in the reference's order (PyTorch parameters concatenated) in the model's order. */
function fromTorch(model: OnnxModel, ref: Reference, v: ArrayLike<number>): Float32Array {
  const at = new Map<string, number>();
  let o = 0;
  for (const p of ref.params) {
    at.set(p.name, o);
    o += p.size;
  }
  return model.vectorFromOrigin((name, size) => Float32Array.from({ length: size }, (_, i) => v[(at.get(name) as number) + i]));
}

function toTorch(model: OnnxModel, ref: Reference, flat: Float32Array): Float64Array {
  const parts = model.vectorToOrigin(flat);
  const out = new Float64Array(ref.dim);
  let o = 0;
  for (const p of ref.params) {
    out.set(parts.get(p.name) as Float32Array, o);
    o += p.size;
  }
  return out;
}

const rel = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

const NAMES = readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
assert.ok(NAMES.length > 0, `no fixtures in ${FIXTURES}`);

for (const name of NAMES) {
  describe(`ONNX exported by PyTorch agrees with PyTorch: ${name}`, () => {
    const ref = JSON.parse(readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8')) as Reference;
    let model: OnnxModel;
    let data: Dataset;
    let engine: HessianEngine;

    before(async () => {
      await initBackend('auto');
      const m = await loadModel(path.join(FIXTURES, `${name}.onnx`));
      assert.ok(m instanceof OnnxModel);
      model = m;
      data = await loadDataset(ref.data);
      engine = new HessianEngine(model, data);
    });
    after(() => {
      engine.dispose();
      model.dispose();
    });

    test('every PyTorch parameter is one of ours, same count, named by its state_dict name', () => {
      assert.equal(model.paramCount, ref.dim);
      assert.deepEqual(model.params.map((p) => p.origin?.name).sort(), ref.params.map((p) => p.name).sort());
    });

    test('loss and a Hessian-vector product equal PyTorch float64 to 1e-4', async () => {
      assert.ok(rel(await engine.loss(), ref.loss) < 1e-5, `loss ${await engine.loss()} vs ${ref.loss}`);
      const v = Float64Array.from({ length: ref.dim }, (_, i) => Math.sin(0.37 * i + 0.1));
      const hv = toTorch(model, ref, await engine.operator('hessian', { kind: 'full' }).matvec(fromTorch(model, ref, v)));
      let num = 0;
      let den = 0;
      ref.hvp.indices.forEach((i, k) => {
        num += (hv[i] - ref.hvp.values[k]) ** 2;
        den += ref.hvp.values[k] ** 2;
      });
      assert.ok(Math.sqrt(num / den) < 1e-4, `sampled H v relative error ${Math.sqrt(num / den)}`);
      const norm = Math.sqrt(hv.reduce((a, b) => a + b * b, 0));
      assert.ok(rel(norm, ref.hvp.norm) < 1e-4, `||H v|| ${norm} vs ${ref.hvp.norm}`);
      const vhv = hv.reduce((a, b, i) => a + b * v[i], 0);
      assert.ok(rel(vhv, ref.hvp.vHv) < 1e-4, `v.Hv ${vhv} vs ${ref.hvp.vHv}`);
    });

    test('top eigenvalue of the full Hessian equals PyTorch to 1e-4 relative', async () => {
      const r = await topEigenvalues(engine.operator('hessian', { kind: 'full' }), { k: 1, rng: new Rng(1), tol: 1e-5, maxSteps: 40 });
      assert.ok(rel(r.eigenvalues[0], ref.full.top) < 1e-4, `top ${r.eigenvalues[0]} vs ${ref.full.top}`);
    });

    if (ref.dim <= 6000) {
      test('top eigenvalue of every layer block equals PyTorch to 1e-4 relative', async () => {
        for (const l of ref.layers) {
          const g = model.groups('layer').find((x) => x.tensors.map((t) => t.origin?.name).sort().join() === [...l.params].sort().join());
          assert.ok(g, `no layer holds ${l.params.join(', ')}`);
          const r = await topEigenvalues(engine.operator('hessian', { kind: 'group', group: g.name, convention: 'layer' }), { k: 1, rng: new Rng(2), tol: 1e-6, maxSteps: Math.min(30, g.size) });
          // a tiny block's top eigenvalue (BN scale ~1e-6) is compared absolutely against the full one
          const err = Math.abs(r.eigenvalues[0] - l.top) / Math.max(Math.abs(l.top), 1e-3 * ref.full.top);
          assert.ok(err < 1e-4, `${g.name} top ${r.eigenvalues[0]} vs ${l.top}`);
        }
      });
    }

    test('trace: the reference probes replayed give the same v^T H v', async () => {
      const op = engine.operator('hessian', { kind: 'full' });
      const probes = ref.full.firstProbes ?? [];
      if (probes.length === 0) {
        // exact reference: check our Hutchinson estimate is within 4 standard errors of it
        const samples: number[] = [];
        for (let k = 0; k < 20; k++) {
          const z = fromTorch(model, ref, hashedProbe(k, ref.dim));
          const hz = await op.matvec(z);
          samples.push(hz.reduce((a, b, i) => a + b * z[i], 0));
        }
        const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
        const se = Math.sqrt(samples.reduce((a, b) => a + (b - mean) ** 2, 0) / (samples.length - 1) / samples.length);
        assert.ok(Math.abs(mean - ref.full.trace) < 4 * se, `Hutchinson ${mean} ± ${se} vs exact ${ref.full.trace}`);
        return;
      }
      for (let k = 0; k < probes.length; k++) {
        const z = fromTorch(model, ref, hashedProbe(k, ref.dim));
        const zhz = (await op.matvec(z)).reduce((a, b, i) => a + b * z[i], 0);
        assert.ok(rel(zhz, probes[k]) < 1e-4, `probe ${k}: ${zhz} vs ${probes[k]}`);
      }
    });
  });
}
