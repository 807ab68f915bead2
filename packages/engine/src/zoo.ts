/**
 * The model zoo, built with the tfjs-layers API so that every zoo model is also an ordinary
 * tfjs LayersModel (same JSON, same weight names). Initial weights are deterministic:
 * each layer's initializer gets seed + its index.
 *
 * tiny-mlp and tiny-cnn are test fixtures with a few hundred parameters (explicit Hessians
 * are cheap); tiny-cnn uses every supported layer class. Their biases and batch-norm
 * statistics are randomized (seeded) so that no Hessian entry is zero by construction.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng, UserError } from '@hessian/linalg';
import type { ModelArtifacts } from './model.js';
import { PAPER_FAMILIES, buildPaperModel, paperParamCount, parsePaperOptions, type PaperFamily } from './zoo-paper.js';

interface ZooEntry {
  description: string;
  inputShape: number[];
  params: number;
  fixture?: boolean;
  build(seed: number): tfl.LayersModel;
}

function inits(seed: number, i: number): { kernelInitializer: ReturnType<typeof tfl.initializers.glorotUniform> } {
  return { kernelInitializer: tfl.initializers.glorotUniform({ seed: seed * 1000 + i }) };
}

/**
 * LeNet-5. On 28x28 with conv1 'same' it equals the paper's valid conv on 32x32 zero-padded
 * inputs, but not once the padding is normalized to a non-zero value: hence lenet-32.
 */
function lenet(name: string, size: number, conv1: 'same' | 'valid', seed: number): tfl.LayersModel {
  return tfl.sequential({
    name,
    layers: [
      tfl.layers.conv2d({ name: 'conv1', inputShape: [size, size, 1], filters: 6, kernelSize: 5, padding: conv1, activation: 'relu', ...inits(seed, 1) }),
      tfl.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }),
      tfl.layers.conv2d({ name: 'conv2', filters: 16, kernelSize: 5, padding: 'valid', activation: 'relu', ...inits(seed, 2) }),
      tfl.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }),
      tfl.layers.flatten({ name: 'flatten' }),
      tfl.layers.dense({ name: 'fc1', units: 120, activation: 'relu', ...inits(seed, 3) }),
      tfl.layers.dense({ name: 'fc2', units: 84, activation: 'relu', ...inits(seed, 4) }),
      tfl.layers.dense({ name: 'fc3', units: 10, ...inits(seed, 5) }),
    ],
  });
}

const ZOO: Record<string, ZooEntry> = {
  mlp: {
    description: 'MLP 784-256-128-10 (ReLU) on 28x28x1',
    inputShape: [28, 28, 1],
    params: 235146,
    build: (seed) =>
      tfl.sequential({
        name: 'mlp',
        layers: [
          tfl.layers.flatten({ name: 'flatten', inputShape: [28, 28, 1] }),
          tfl.layers.dense({ name: 'dense1', units: 256, activation: 'relu', ...inits(seed, 1) }),
          tfl.layers.dense({ name: 'dense2', units: 128, activation: 'relu', ...inits(seed, 2) }),
          tfl.layers.dense({ name: 'dense3', units: 10, ...inits(seed, 3) }),
        ],
      }),
  },
  lenet: {
    description: 'LeNet-5: conv 6@5x5 same + pool, conv 16@5x5 + pool, dense 120-84-10 (ReLU) on 28x28x1',
    inputShape: [28, 28, 1],
    params: 61706,
    build: (seed) => lenet('lenet', 28, 'same', seed),
  },
  'lenet-32': {
    description: "LeNet-5 as in the paper's code: conv 6@5x5 valid + pool, conv 16@5x5 + pool, dense 120-84-10 (ReLU) on 32x32x1 (Fashion-MNIST with --pad 2)",
    inputShape: [32, 32, 1],
    params: 61706,
    build: (seed) => lenet('lenet_32', 32, 'valid', seed),
  },
  'vgg-mini': {
    description: 'small VGG: [conv 8, conv 8, maxpool] [conv 16, conv 16, maxpool] dense 64, dropout, dense 10 on 28x28x1',
    inputShape: [28, 28, 1],
    params: 55042,
    build: (seed) => {
      const conv = (name: string, filters: number, i: number, first = false): tfl.layers.Layer =>
        tfl.layers.conv2d({ name, filters, kernelSize: 3, padding: 'same', activation: 'relu', ...(first ? { inputShape: [28, 28, 1] } : {}), ...inits(seed, i) });
      return tfl.sequential({
        name: 'vgg_mini',
        layers: [
          conv('conv1_1', 8, 1, true),
          conv('conv1_2', 8, 2),
          tfl.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }),
          conv('conv2_1', 16, 3),
          conv('conv2_2', 16, 4),
          tfl.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }),
          tfl.layers.flatten({ name: 'flatten' }),
          tfl.layers.dense({ name: 'fc1', units: 64, activation: 'relu', ...inits(seed, 5) }),
          tfl.layers.dropout({ name: 'dropout', rate: 0.5 }),
          tfl.layers.dense({ name: 'fc2', units: 10, ...inits(seed, 6) }),
        ],
      });
    },
  },
  'resnet-mini': {
    description: 'small ResNet: conv 8 + BN, residual block 8, downsampling residual block 16 (1x1 projection), global average pool, dense 10 on 28x28x1',
    inputShape: [28, 28, 1],
    params: 5122,
    build: (seed) => {
      let i = 0;
      const conv = (name: string, filters: number, k: number, strides = 1): tfl.layers.Layer =>
        tfl.layers.conv2d({ name, filters, kernelSize: k, strides, padding: 'same', useBias: false, ...inits(seed, ++i) });
      const bn = (name: string): tfl.layers.Layer => tfl.layers.batchNormalization({ name });
      const input = tfl.input({ shape: [28, 28, 1], name: 'input' });
      const apply = (l: tfl.layers.Layer, x: tfl.SymbolicTensor | tfl.SymbolicTensor[]): tfl.SymbolicTensor => l.apply(x) as tfl.SymbolicTensor;
      let x = apply(tfl.layers.reLU({ name: 'relu0' }), apply(bn('bn0'), apply(conv('conv0', 8, 3), input)));
      // block 1: identity shortcut
      let y = apply(tfl.layers.reLU({ name: 'relu1a' }), apply(bn('bn1a'), apply(conv('conv1a', 8, 3), x)));
      y = apply(bn('bn1b'), apply(conv('conv1b', 8, 3), y));
      x = apply(tfl.layers.reLU({ name: 'relu1' }), apply(tfl.layers.add({ name: 'add1' }), [x, y]));
      // block 2: stride-2, projection shortcut
      y = apply(tfl.layers.reLU({ name: 'relu2a' }), apply(bn('bn2a'), apply(conv('conv2a', 16, 3, 2), x)));
      y = apply(bn('bn2b'), apply(conv('conv2b', 16, 3), y));
      const s = apply(bn('bn2s'), apply(conv('conv2s', 16, 1, 2), x));
      x = apply(tfl.layers.reLU({ name: 'relu2' }), apply(tfl.layers.add({ name: 'add2' }), [s, y]));
      x = apply(tfl.layers.globalAveragePooling2d({ name: 'gap' }), x);
      const out = apply(tfl.layers.dense({ name: 'fc', units: 10, ...inits(seed, ++i) }), x);
      return tfl.model({ name: 'resnet_mini', inputs: input, outputs: out });
    },
  },
  'tiny-mlp': {
    description: 'test fixture: MLP 8-6-3 (ReLU) on 2x2x2',
    inputShape: [2, 2, 2],
    params: 75,
    fixture: true,
    build: (seed) =>
      tfl.sequential({
        name: 'tiny_mlp',
        layers: [
          tfl.layers.flatten({ name: 'flatten', inputShape: [2, 2, 2] }),
          tfl.layers.dense({ name: 'dense1', units: 6, activation: 'relu', ...inits(seed, 1) }),
          tfl.layers.dense({ name: 'dense2', units: 3, ...inits(seed, 2) }),
        ],
      }),
  },
  'tiny-cnn': {
    description: 'test fixture: every supported layer (strided, dilated convs, BN, ReLU, max/avg/global pooling, Add, Dropout, Flatten, final softmax) on 8x8x2',
    inputShape: [8, 8, 2],
    params: 298,
    fixture: true,
    build: (seed) => {
      const input = tfl.input({ shape: [8, 8, 2], name: 'input' });
      const apply = (l: tfl.layers.Layer, x: tfl.SymbolicTensor | tfl.SymbolicTensor[]): tfl.SymbolicTensor => l.apply(x) as tfl.SymbolicTensor;
      // [8,8,2] -> conv1 3x3 stride 2 same -> [4,4,4]
      let x = apply(tfl.layers.conv2d({ name: 'conv1', filters: 4, kernelSize: 3, strides: 2, padding: 'same', ...inits(seed, 1) }), input);
      x = apply(tfl.layers.batchNormalization({ name: 'bn1' }), x);
      x = apply(tfl.layers.reLU({ name: 'relu1' }), x);
      // dilated conv, same padding, then an Activation layer
      let y = apply(tfl.layers.conv2d({ name: 'conv2', filters: 4, kernelSize: 3, dilationRate: 2, padding: 'same', ...inits(seed, 2) }), x);
      y = apply(tfl.layers.activation({ name: 'act2', activation: 'relu' }), y);
      x = apply(tfl.layers.add({ name: 'add1' }), [x, y]);
      x = apply(tfl.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }), x); // [2,2,4]
      // branch a: overlapping same-padded average pool, dropout, flatten, dense
      let a = apply(tfl.layers.averagePooling2d({ name: 'avg', poolSize: 2, strides: 1, padding: 'same' }), x);
      a = apply(tfl.layers.dropout({ name: 'drop', rate: 0.25 }), a);
      a = apply(tfl.layers.flatten({ name: 'flatten' }), a);
      a = apply(tfl.layers.dense({ name: 'dense_a', units: 3, ...inits(seed, 3) }), a);
      // branch b: global average pool, dense
      let b = apply(tfl.layers.globalAveragePooling2d({ name: 'gap' }), x);
      b = apply(tfl.layers.dense({ name: 'dense_b', units: 3, ...inits(seed, 4) }), b);
      let out = apply(tfl.layers.add({ name: 'add_out' }), [a, b]);
      out = apply(tfl.layers.activation({ name: 'softmax', activation: 'softmax' }), out);
      return tfl.model({ name: 'tiny_cnn', inputs: input, outputs: out });
    },
  },
};

const PAPER_DESCRIPTIONS: Record<PaperFamily, string> = {
  resnet18: 'ResNet-18, CIFAR-style (3x3 stem, 4 stages of 2 basic blocks at 64-128-256-512 channels, BN, global average pool, dense); options ?width=&input=HxWxC&pad=&classes=',
  vgg11: 'VGG-11, CIFAR-style (8 convs 64-128-256-256-512-512-512-512, 5 max pools, dense), no batch norm; needs 32x32: use ?pad=32 on 28x28 data',
  'vgg11-bn': 'VGG-11 with batch norm after every conv (the paper\'s VGG-11); needs 32x32: use ?pad=32 on 28x28 data',
};

function isPaperFamily(name: string): name is PaperFamily {
  return (PAPER_FAMILIES as readonly string[]).includes(name);
}

export interface ZooInfo {
  name: string;
  description: string;
  inputShape: number[];
  params: number;
  /** a test fixture (tiny-mlp, tiny-cnn), not a model to study: `hessctl models` hides it unless --all */
  fixture?: boolean;
}

/** The zoo's models; the paper's families at their defaults (full width, 28x28x1; VGG padded to 32). */
export function zooCatalog(): ZooInfo[] {
  const fixed = Object.entries(ZOO).map(([name, z]) => ({ name, description: z.description, inputShape: z.inputShape, params: z.params, ...(z.fixture ? { fixture: true } : {}) }));
  const paper = PAPER_FAMILIES.map((f) => {
    const o = parsePaperOptions(f, f === 'resnet18' ? '' : 'pad=32');
    return { name: f === 'resnet18' ? f : `${f}?pad=32`, description: PAPER_DESCRIPTIONS[f], inputShape: [...o.input], params: paperParamCount(f, o) };
  });
  return [...fixed, ...paper];
}

/**
 * What a zoo id ('mlp', 'resnet18?width=0.125&input=28x28x1') names, without building it:
 * a UserError (NOT_FOUND for an unknown name) says what to change.
 */
export function zooInfo(id: string): ZooInfo {
  const q = id.indexOf('?');
  const name = q < 0 ? id : id.slice(0, q);
  const query = q < 0 ? '' : id.slice(q + 1);
  if (isPaperFamily(name)) {
    const o = parsePaperOptions(name, query);
    return { name: id, description: PAPER_DESCRIPTIONS[name], inputShape: [...o.input], params: paperParamCount(name, o) };
  }
  const z = ZOO[name];
  if (!z) {
    const names = [...Object.keys(ZOO), ...PAPER_FAMILIES];
    throw new UserError(`Unknown zoo model '${name}'; available: ${names.join(', ')}.`, 'NOT_FOUND');
  }
  if (q >= 0) throw new UserError(`zoo:${name} takes no options ('?${query}'); only ${PAPER_FAMILIES.join(', ')} do.`);
  return { name, description: z.description, inputShape: z.inputShape, params: z.params };
}

function joinBuffers(d: ArrayBuffer | ArrayBuffer[] | undefined): ArrayBuffer {
  if (d === undefined) return new ArrayBuffer(0);
  if (!Array.isArray(d)) return d;
  const total = d.reduce((a, b) => a + b.byteLength, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const b of d) {
    out.set(new Uint8Array(b), o);
    o += b.byteLength;
  }
  return out.buffer;
}

/** Saves a tfjs-layers model into memory: the artifacts tf.io would write. */
export async function layersModelArtifacts(m: tfl.LayersModel, source: string): Promise<ModelArtifacts> {
  let got: tf.io.ModelArtifacts | null = null;
  await m.save(
    tf.io.withSaveHandler(async (a) => {
      got = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const a = got as tf.io.ModelArtifacts | null;
  if (!a || !a.modelTopology || !a.weightSpecs) throw new Error('tfjs-layers save produced no artifacts');
  return {
    modelTopology: a.modelTopology as Record<string, unknown>,
    weightSpecs: a.weightSpecs.map((s) => ({ name: s.name, shape: s.shape, dtype: s.dtype })),
    weightData: joinBuffers(a.weightData),
    source,
  };
}

/** Perturbs biases and batch-norm weights/statistics (seeded), in place. */
function randomizeFixture(a: ModelArtifacts, seed: number): void {
  const rng = new Rng(seed).fork('fixture');
  const f32 = new Float32Array(a.weightData);
  let o = 0;
  for (const s of a.weightSpecs) {
    const n = s.shape.reduce((x, y) => x * y, 1);
    const role = s.name.split('/').pop() ?? '';
    for (let i = o; i < o + n; i++) {
      if (role === 'bias' || role === 'beta' || role === 'moving_mean') f32[i] = 0.2 * rng.normal();
      else if (role === 'gamma') f32[i] = 1 + 0.3 * rng.normal();
      else if (role === 'moving_variance') f32[i] = 0.5 + rng.uniform();
    }
    o += n;
  }
}

export async function zooArtifacts(name: string, seed: number): Promise<ModelArtifacts> {
  zooInfo(name);
  if (!Number.isInteger(seed) || seed < 0) throw new UserError(`Zoo seed must be a non-negative integer, got ${seed}.`);
  const q = name.indexOf('?');
  const base = q < 0 ? name : name.slice(0, q);
  const z = ZOO[base];
  const m = isPaperFamily(base) ? buildPaperModel(base, parsePaperOptions(base, q < 0 ? '' : name.slice(q + 1)), seed) : z.build(seed);
  try {
    const a = await layersModelArtifacts(m, `zoo:${name}`);
    if (z?.fixture) randomizeFixture(a, seed);
    return a;
  } finally {
    m.dispose();
  }
}
