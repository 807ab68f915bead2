import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '@hessian/linalg';
import { initBackend, loadModel, HessianEngine, zooInfo, zooModels, paperParamCount, parsePaperOptions } from '../src/index.js';
import { randomBatch, randomVector, unit, relErr } from './helpers.js';

before(async () => {
  await initBackend('auto', { needsConv: true });
});

describe("the paper's models (resnet18, vgg11, vgg11-bn)", () => {
  test('full-width parameter counts match the published CIFAR models (closed form, nothing built)', () => {
    // kuangliu/pytorch-cifar ResNet18 on 32x32x3 has 11,173,962 parameters; its VGG('VGG11')
    // 9,231,114 (with batch norm; 2 x 2752 gamma/beta fewer without).
    assert.equal(zooInfo('resnet18?input=32x32x3').params, 11173962);
    assert.equal(zooInfo('vgg11-bn?input=32x32x3').params, 9231114);
    assert.equal(zooInfo('vgg11?input=32x32x3').params, 9231114 - 2 * 2752);
    // On Fashion-MNIST the stem sees one channel: 3x3x(3-1)x64 = 1152 fewer weights.
    assert.equal(zooInfo('resnet18').params, 11173962 - 1152);
    assert.equal(zooInfo('resnet18?pad=32').params, 11173962 - 1152);
    const cat = zooModels().find((m) => m.name === 'resnet18');
    assert.ok(cat && cat.params === 11172810 && cat.inputShape.join('x') === '28x28x1');
    assert.ok(zooModels().some((m) => m.name === 'vgg11-bn?pad=32'));
  });

  for (const id of ['resnet18?width=0.0625', 'resnet18?width=0.03125&input=8x8x3&classes=4', 'vgg11-bn?width=0.0625&pad=32', 'vgg11?width=0.03125&input=30x30x1&pad=34&classes=3', 'vgg11-bn?width=0.03125&input=64x64x1']) {
    test(`${id}: built model = closed-form count, shapes and tensors`, async () => {
      const m = await loadModel(`zoo:${id}`, { seed: 1 });
      try {
        const info = zooInfo(id);
        assert.equal(m.paramCount, info.params);
        assert.deepEqual(m.inputShape, info.inputShape);
        const fam = id.startsWith('resnet18') ? 'resnet18' : id.startsWith('vgg11-bn') ? 'vgg11-bn' : 'vgg11';
        const o = parsePaperOptions(fam, id.split('?')[1]);
        assert.equal(m.outputSize, o.classes);
        assert.equal(paperParamCount(fam, o), info.params);
        const layers = m.layers();
        if (fam === 'resnet18') {
          // 20 convs (no bias) + 20 batch norms (gamma, beta trainable) + fc: 62 trainable tensors
          // (102 with the moving statistics, as in the saved ResNet-18).
          assert.equal(m.params.length, 62);
          assert.equal(layers.filter((l) => l.className === 'Conv2D').length, 20);
          assert.ok(layers.some((l) => l.name === 'layer4_0_shortcut_conv'));
          const last = layers.find((l) => l.name === 'layer4_1_relu2');
          assert.equal(last?.outputShape.length, 3);
          assert.equal(last?.outputShape[2], Math.max(1, Math.round(512 * o.width)));
        } else {
          assert.equal(layers.filter((l) => l.className === 'Conv2D').length, 8);
          assert.equal(layers.filter((l) => l.className === 'BatchNormalization').length, fam === 'vgg11-bn' ? 8 : 0);
          if (o.pad) assert.deepEqual(layers.find((l) => l.name === 'pad')?.outputShape, [o.pad, o.pad, o.input[2]]);
        }
        assert.equal(m.groups('layer').reduce((a, g) => a + g.size, 0), m.paramCount);
      } finally {
        m.dispose();
      }
    });
  }

  test('bad options are refused with a sentence naming the option', () => {
    assert.throws(() => zooInfo('vgg11'), (e: unknown) => e instanceof UserError && /pad=32/.test(e.message));
    assert.throws(() => zooInfo('resnet18?depth=50'), /unknown option 'depth'/);
    assert.throws(() => zooInfo('resnet18?width=0'), /width must be/);
    assert.throws(() => zooInfo('resnet18?input=28x28'), /input must be HxWxC/);
    assert.throws(() => zooInfo('resnet18?pad=16'), /smaller than the input/);
    assert.throws(() => zooInfo('mlp?width=2'), /takes no options/);
    assert.throws(() => zooInfo('resnet50'), (e: unknown) => e instanceof UserError && e.code === 'NOT_FOUND' && /resnet18/.test(e.message));
  });

  // Tiny inputs and two examples: central differences of a ReLU network are only meaningful
  // when no unit crosses its kink within eps (with 6 examples at 8x8 some do, and the
  // difference quotient is off by 30x; at these sizes it agrees to about 1e-3).
  for (const id of ['resnet18?width=0.03125&input=4x4x1&classes=3', 'vgg11-bn?width=0.03125&input=30x30x1&pad=32&classes=3']) {
    test(`${id}: HVP is symmetric and agrees with finite differences of the gradient`, async () => {
      const model = await loadModel(`zoo:${id}`, { seed: 2 });
      const theta = model.getFlatParams();
      const engine = new HessianEngine(model, randomBatch(model, 2, 3), { batchSize: 1 });
      try {
        const n = model.paramCount;
        const op = engine.operator('hessian', { kind: 'full' });
        const u = unit(randomVector(n, 11));
        const v = unit(randomVector(n, 12));
        const hu = await op.matvec(u);
        const hv = await op.matvec(v);
        let uhv = 0;
        let vhu = 0;
        let norm = 0;
        for (let i = 0; i < n; i++) {
          uhv += u[i] * hv[i];
          vhu += v[i] * hu[i];
          norm += hu[i] * hu[i];
        }
        assert.ok(Math.sqrt(norm) > 1e-3, 'curvature is not trivially zero');
        assert.ok(Math.abs(uhv - vhu) <= 1e-4 * Math.sqrt(norm), `u'Hv ${uhv} vs v'Hu ${vhu}`);
        // Central differences (see hessian.test.ts for the choice of eps).
        const eps = 1e-3;
        model.setFlatParams(theta.map((t, i) => t + eps * u[i]));
        const gp = await engine.gradient();
        model.setFlatParams(theta.map((t, i) => t - eps * u[i]));
        const gm = await engine.gradient();
        model.setFlatParams(theta);
        const fd = Float64Array.from(gp, (g, i) => (g - gm[i]) / (2 * eps));
        const e = relErr(hu, fd);
        assert.ok(e < 2e-2, `HVP vs finite differences: ${e}`);
      } finally {
        engine.dispose();
        model.dispose();
      }
    });
  }
});
