/**
 * "middle" has two documented meanings: `hessctl analyze --layers middle` takes the middle
 * LAYERS (analysis's selectLayers), `hessctl train --htr-layers middle` the middle parameter
 * TENSORS regrouped by layer (the paper's code, training's selectBlocks). On LeNet they differ
 * by fc2's kernel. Both parsed from the CLI's words, as the commands do.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeSpec, parseLayerSelection, selectLayers } from '@hessian/analysis';
import { loadModel } from '@hessian/engine';
import { parseLayerSet, selectBlocks } from '../src/index.js';

test('--layers middle picks layers conv2, fc1 on LeNet; --htr-layers middle picks tensors conv2 (kernel, bias), fc1 (kernel, bias), fc2 (kernel)', async () => {
  const model = await loadModel('zoo:lenet');
  try {
    const spec = normalizeSpec({ model: 'zoo:lenet', layers: parseLayerSelection('middle') });
    const layers = selectLayers(spec, model.groups(spec.convention));
    assert.deepEqual(layers.map((g) => `${g.name}:${g.tensors.map((t) => t.role).join('+')}`), ['conv2:kernel+bias', 'fc1:kernel+bias']);
    const blocks = selectBlocks(model, parseLayerSet('middle'), 'layer');
    assert.deepEqual(blocks.map((b) => `${b.name}:${b.tensors.map((t) => t.role).join('+')}`), ['conv2:kernel+bias', 'fc1:kernel+bias', 'fc2:kernel']);
    // weights-only: both count kernels only; 5 layers and 5 tensors, so they agree.
    const wo = normalizeSpec({ model: 'zoo:lenet', layers: parseLayerSelection('middle'), convention: 'weights-only' });
    assert.deepEqual(selectLayers(wo, model.groups('weights-only')).map((g) => g.name), selectBlocks(model, parseLayerSet('middle'), 'weights-only').map((b) => b.name));
  } finally {
    model.dispose();
  }
});
