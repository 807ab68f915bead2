/**
 * The committed Keras files (test/fixtures/keras/sepcat.*: a depthwise-separable block and a
 * SeparableConv2D joined by Concatenate, 28x28x1) against their tfjs twin: loaded from `.h5`
 * (Keras 2) and `.keras` (Keras 3 config.json) they hold the twin's weights, predict what
 * tfjs-layers predicts, and give the twin's Hessian products, top eigenvalue and trace (the
 * layers' own second-order tests are keras-layers.test.ts; finite differences do not apply to
 * this ReLU / max-pooling net, whose gradient jumps); truncated or corrupt files are refused by the
 * synchronous check (what the client and coordinator run before an upload) and at load.
 * The files come from keras-writer.ts (no Python Keras installs here).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as tfl from '@tensorflow/tfjs-layers';
import { hutchinson, Rng, topEigenvalues } from '@hessian/linalg';
import { checkModelFile, HessianEngine, initBackend, loadDataset, loadModel, tf, verifyModelFile, type Dataset, type Model } from '../src/index.js';
import { relErr, randomVector } from './helpers.js';
import { buildSepCat } from './keras-writer.js';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'keras');
const FILES = { json: path.join(DIR, 'sepcat', 'model.json'), h5: path.join(DIR, 'sepcat.h5'), keras: path.join(DIR, 'sepcat.keras') };

describe('Keras .h5 and .keras (depthwise-separable block + Concatenate) against the tfjs twin', () => {
  let twin: tfl.LayersModel;
  let data: Dataset;
  const models = new Map<string, Model>();
  const engines = new Map<string, HessianEngine>();

  before(async () => {
    await initBackend('auto');
    twin = buildSepCat(14);
    data = await loadDataset('fashion-mnist:test[0:8]');
    for (const [k, f] of Object.entries(FILES)) {
      const m = await loadModel(f);
      models.set(k, m);
      engines.set(k, new HessianEngine(m, data));
    }
  });
  after(() => {
    for (const e of engines.values()) e.dispose();
    for (const m of models.values()) m.dispose();
    twin.dispose();
  });

  test('the files hold the twin weights, layer by layer, and predict what tfjs-layers predicts', async () => {
    const ref = models.get('json')!;
    assert.deepEqual(ref.groups('layer').map((g) => g.name), ['stem', 'dw', 'dw_bn', 'pw', 'sep', 'out']);
    const twinFlat = twin.trainableWeights.flatMap((w) => Array.from(w.read().dataSync()));
    assert.equal(ref.paramCount, twinFlat.length);
    const x = tf.tensor(data.x.slice(0, 4 * 784), [4, 28, 28, 1]);
    const theirs = (twin.predict(x) as tf.Tensor).dataSync();
    for (const k of ['h5', 'keras']) {
      const m = models.get(k)!;
      assert.deepEqual(m.params.map((p) => [p.name, p.offset, p.size]), ref.params.map((p) => [p.name, p.offset, p.size]), k);
      assert.deepEqual(m.getFlatParams(), ref.getFlatParams(), `${k}: the twin's weights`);
      const ours = tf.tidy(() => tf.softmax(m.forward(m.paramTensors(), x)).dataSync());
      assert.ok(relErr(ours, theirs) < 1e-5, `${k} predicts ${relErr(ours, theirs)} off tfjs-layers`);
    }
    assert.ok(relErr(ref.getFlatParams(), twinFlat) === 0, 'the committed fixtures are what keras-writer.ts writes for seed 14');
    x.dispose();
  });

  test('Hessian products of every layer and the full network, top eigenvalue and trace equal the twin model.json', async () => {
    const ref = engines.get('json')!;
    const scopes = [{ kind: 'full' as const }, ...models.get('json')!.groups('layer').map((g) => ({ kind: 'group' as const, group: g.name, convention: 'layer' as const }))];
    for (const scope of scopes) {
      const want = ref.operator('hessian', scope);
      const v = randomVector(want.dim, 3);
      const hv = await want.matvec(v);
      for (const k of ['h5', 'keras']) assert.ok(relErr(await engines.get(k)!.operator('hessian', scope).matvec(v), hv) < 1e-6, `${k} ${scope.kind === 'full' ? 'full' : scope.group}: H v`);
    }
    // equal operators give equal estimates; computed once per file on the full network
    const estimate = async (e: HessianEngine) => {
      const op = e.operator('hessian', { kind: 'full' });
      const top = (await topEigenvalues(op, { k: 1, rng: new Rng(1), tol: 1e-6, maxSteps: 40 })).eigenvalues[0];
      return { top, trace: (await hutchinson(op, { rng: new Rng(2), maxProbes: 4 })).mean };
    };
    const want = await estimate(ref);
    assert.ok(want.top > 0);
    for (const k of ['h5', 'keras']) {
      const got = await estimate(engines.get(k)!);
      assert.ok(Math.abs(got.top - want.top) <= 1e-4 * want.top, `${k}: top ${got.top} vs ${want.top}`);
      assert.ok(Math.abs(got.trace - want.trace) <= 1e-5 * Math.abs(want.trace), `${k}: trace ${got.trace} vs ${want.trace}`);
    }
  });

  test('checks: whole files pass (params counted), truncated and corrupt ones are refused in one sentence naming the file', async () => {
    const params = models.get('json')!.paramCount;
    assert.deepEqual(checkModelFile(await fs.readFile(FILES.keras), FILES.keras), { params });
    assert.deepEqual(checkModelFile(await fs.readFile(FILES.h5), FILES.h5), { params: null });
    for (const f of [FILES.h5, FILES.keras]) assert.deepEqual(await verifyModelFile(await fs.readFile(f), f), { params });
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'keras-bad-'));
    try {
      for (const f of [FILES.h5, FILES.keras]) {
        const bytes = await fs.readFile(f);
        const ext = path.extname(f);
        const flipped = Buffer.from(bytes);
        // a byte inside the weights: the .keras zip's CRC-32 catches it; HDF5 has no checksum over raw data, so for .h5 cut instead
        flipped[Math.floor(bytes.length * 0.6)] ^= 0x5a;
        const cases: [string, Buffer][] = [
          [`cut${ext}`, bytes.subarray(0, Math.floor(bytes.length * 0.7))],
          [`tiny${ext}`, bytes.subarray(0, 40)],
          [`text${ext}`, Buffer.from('not a model at all, just text\n')],
          ...(ext === '.keras' ? ([[`flipped${ext}`, flipped]] as [string, Buffer][]) : []),
        ];
        for (const [name, b] of cases) {
          const p = path.join(dir, name);
          await fs.writeFile(p, b);
          const refused = (e: unknown) => e instanceof Error && e.name === 'UserError' && e.message.includes(`'${p}'`) && /truncated or corrupt|corrupt/.test(e.message) && !e.message.includes('\n');
          assert.throws(() => checkModelFile(b, p), refused, `check ${name}`);
          await assert.rejects(loadModel(p), refused, `load ${name}`);
        }
      }
    } finally {
      await fs.rm(dir, { recursive: true });
    }
  });
});
