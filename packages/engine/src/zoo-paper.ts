/**
 * The paper's models (Sankar et al. 2021 use the CIFAR-style ResNet-18 and VGG-11 of
 * kuangliu/pytorch-cifar): `resnet18`, `vgg11` (no batch norm) and `vgg11-bn`, with options in
 * the model id: `zoo:resnet18?width=0.125&input=28x28x1&classes=10&pad=32`.
 *
 * - width: channel multiplier (64-128-256-512 times width, rounded, at least 1), so tests and CI
 *   run a narrow copy of the same graph;
 * - input: HxWxC of the images (default 28x28x1, Fashion-MNIST);
 * - pad: zero-pad the images to pad x pad first (ZeroPadding2D), e.g. 32 for the CIFAR geometry;
 * - classes: outputs of the final dense layer.
 *
 * Layers follow PyTorch's names with '_' for '.' (layer2_0_conv1, layer2_0_shortcut_bn, fc), so
 * the paper code's per-layer results line up. Convolutions use Keras 'same' padding: for a
 * stride-2 3x3 conv on an even input TF pads (0, 1) where PyTorch pads (1, 1), a one-pixel shift of
 * the sampling grid, not a different number of parameters. Batch norm epsilon 1e-5 (PyTorch's).
 * Parameter counts come from closed forms (`paperParamCount`), checked against built models in
 * the tests, so the catalog never builds an 11 M-parameter network.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { UserError } from '@hessian/linalg';

export type PaperFamily = 'resnet18' | 'vgg11' | 'vgg11-bn';
export const PAPER_FAMILIES: readonly PaperFamily[] = ['resnet18', 'vgg11', 'vgg11-bn'];

export interface PaperOptions {
  width: number;
  input: [number, number, number];
  classes: number;
  /** Zero-pad the input to pad x pad (0 = no padding layer). */
  pad: number;
}

export const PAPER_DEFAULTS: PaperOptions = { width: 1, input: [28, 28, 1], classes: 10, pad: 0 };

const RESNET_PLANES = [64, 128, 256, 512];
/** kuangliu's VGG11 feature configuration: channels, 'M' = 2x2 max pool. */
const VGG11_CFG: (number | 'M')[] = [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'];

function channels(c: number, width: number): number {
  return Math.max(1, Math.round(c * width));
}

/** Parses the query part of a zoo id ('width=0.5&input=32x32x3'); unknown keys are refused. */
export function parsePaperOptions(family: PaperFamily, query: string): PaperOptions {
  const o: PaperOptions = { ...PAPER_DEFAULTS, input: [...PAPER_DEFAULTS.input] };
  const bad = (what: string): never => {
    throw new UserError(`zoo:${family}: ${what}; options are width=W (0 < W <= 4), input=HxWxC, classes=N, pad=P (e.g. zoo:${family}?width=0.125&input=28x28x1&pad=32).`);
  };
  for (const part of query === '' ? [] : query.split('&')) {
    const [k, v, extra] = part.split('=');
    if (v === undefined || extra !== undefined) bad(`option '${part}' is not KEY=VALUE`);
    if (k === 'width') {
      const w = Number(v);
      if (!(w > 0 && w <= 4)) bad(`width must be a number in (0, 4], got '${v}'`);
      o.width = w;
    } else if (k === 'input') {
      const d = v.split('x').map(Number);
      if (d.length !== 3 || !d.every((n) => Number.isInteger(n) && n >= 1 && n <= 4096)) bad(`input must be HxWxC with positive integers, got '${v}'`);
      o.input = [d[0], d[1], d[2]];
    } else if (k === 'classes') {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 100000) bad(`classes must be an integer from 1 to 100000, got '${v}'`);
      o.classes = n;
    } else if (k === 'pad') {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 4096) bad(`pad must be a non-negative integer, got '${v}'`);
      o.pad = n;
    } else bad(`unknown option '${k}'`);
  }
  if (o.pad !== 0 && (o.pad < o.input[0] || o.pad < o.input[1])) bad(`pad=${o.pad} is smaller than the input ${o.input[0]}x${o.input[1]}`);
  const side = Math.min(o.pad || o.input[0], o.pad || o.input[1]);
  if (family !== 'resnet18' && side < 32) bad(`VGG-11's five 2x2 max pools need images of at least 32x32, got ${side}x${side}; add pad=32`);
  return o;
}

/** Trainable parameters (kernels, biases, batch-norm gamma and beta), without building the model. */
export function paperParamCount(family: PaperFamily, o: PaperOptions): number {
  const cin = o.input[2];
  if (family === 'resnet18') {
    const p = RESNET_PLANES.map((c) => channels(c, o.width));
    const convBn = (i: number, out: number, k: number): number => k * k * i * out + 2 * out;
    let n = convBn(cin, p[0], 3);
    let inPlanes = p[0];
    p.forEach((planes, stage) => {
      for (let b = 0; b < 2; b++) {
        const stride = stage > 0 && b === 0 ? 2 : 1;
        n += convBn(inPlanes, planes, 3) + convBn(planes, planes, 3);
        if (stride !== 1 || inPlanes !== planes) n += convBn(inPlanes, planes, 1);
        inPlanes = planes;
      }
    });
    return n + inPlanes * o.classes + o.classes;
  }
  let n = 0;
  let c = cin;
  let [h, w] = o.pad ? [o.pad, o.pad] : o.input;
  for (const v of VGG11_CFG) {
    if (v === 'M') {
      [h, w] = [Math.floor(h / 2), Math.floor(w / 2)];
      continue;
    }
    const out = channels(v, o.width);
    n += 9 * c * out + out + (family === 'vgg11-bn' ? 2 * out : 0);
    c = out;
  }
  return n + c * h * w * o.classes + o.classes;
}

type Sym = tfl.SymbolicTensor;

function glorot(seed: number, i: number): { kernelInitializer: ReturnType<typeof tfl.initializers.glorotUniform> } {
  return { kernelInitializer: tfl.initializers.glorotUniform({ seed: seed * 1000 + i }) };
}

function stem(o: PaperOptions): { input: Sym; x: Sym } {
  const input = tfl.input({ shape: o.input, name: 'input' });
  if (o.pad === 0) return { input, x: input };
  const [h, w] = o.input;
  const top = Math.floor((o.pad - h) / 2);
  const left = Math.floor((o.pad - w) / 2);
  const padLayer = tfl.layers.zeroPadding2d({ name: 'pad', padding: [[top, o.pad - h - top], [left, o.pad - w - left]] });
  return { input, x: padLayer.apply(input) as Sym };
}

export function buildPaperModel(family: PaperFamily, o: PaperOptions, seed: number): tfl.LayersModel {
  let i = 0;
  const apply = (l: tfl.layers.Layer, x: Sym | Sym[]): Sym => l.apply(x) as Sym;
  const conv = (name: string, filters: number, k: number, strides: number, useBias: boolean): tfl.layers.Layer =>
    tfl.layers.conv2d({ name, filters, kernelSize: k, strides, padding: 'same', useBias, ...glorot(seed, ++i) });
  const bn = (name: string): tfl.layers.Layer => tfl.layers.batchNormalization({ name, epsilon: 1e-5, momentum: 0.9 });
  const relu = (name: string, x: Sym): Sym => apply(tfl.layers.reLU({ name }), x);
  const s = stem(o);
  let x = s.x;
  const tag = `${family.replace('-', '_')}_w${o.width}`;
  if (family === 'resnet18') {
    const planes = RESNET_PLANES.map((c) => channels(c, o.width));
    x = relu('relu1', apply(bn('bn1'), apply(conv('conv1', planes[0], 3, 1, false), x)));
    let inPlanes = planes[0];
    planes.forEach((p, stage) => {
      for (let b = 0; b < 2; b++) {
        const n = `layer${stage + 1}_${b}`;
        const stride = stage > 0 && b === 0 ? 2 : 1;
        let y = relu(`${n}_relu1`, apply(bn(`${n}_bn1`), apply(conv(`${n}_conv1`, p, 3, stride, false), x)));
        y = apply(bn(`${n}_bn2`), apply(conv(`${n}_conv2`, p, 3, 1, false), y));
        const short = stride !== 1 || inPlanes !== p ? apply(bn(`${n}_shortcut_bn`), apply(conv(`${n}_shortcut_conv`, p, 1, stride, false), x)) : x;
        x = relu(`${n}_relu2`, apply(tfl.layers.add({ name: `${n}_add` }), [short, y]));
        inPlanes = p;
      }
    });
    x = apply(tfl.layers.globalAveragePooling2d({ name: 'avgpool' }), x);
  } else {
    let k = 0;
    let m = 0;
    for (const v of VGG11_CFG) {
      if (v === 'M') {
        x = apply(tfl.layers.maxPooling2d({ name: `pool${++m}`, poolSize: 2 }), x);
        continue;
      }
      k++;
      x = apply(conv(`conv${k}`, channels(v, o.width), 3, 1, true), x);
      if (family === 'vgg11-bn') x = apply(bn(`bn${k}`), x);
      x = relu(`relu${k}`, x);
    }
    // kuangliu's AvgPool2d(1, 1) is the identity; at 32x32 the features are 1x1 here, larger inputs
    // keep their spatial map and the classifier sees it flattened (as Linear would refuse).
    x = apply(tfl.layers.flatten({ name: 'flatten' }), x);
  }
  const out = apply(tfl.layers.dense({ name: 'fc', units: o.classes, ...glorot(seed, ++i) }), x);
  return tfl.model({ name: tag.replace('.', 'p'), inputs: s.input, outputs: out });
}
