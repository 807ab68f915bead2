/** The sources a data spec names (Fashion-MNIST, IDX or npy pairs, synthetic), opened: size, shape, classes, labels and examples on demand. */
import { resolve } from 'node:path';
import { stat } from 'node:fs/promises';
import { UserError } from '@hessian/linalg';
import { fileSource, readImagesIdx, readImagesNpy, readLabelsIdx, readLabelsNpy } from './files.js';
import type { DataSourceSpec } from './spec.js';
import { SyntheticSource } from './synthetic.js';

export const DEFAULT_FASHION_MNIST_ROOT = '/usr/share/datasets/fashion-mnist';

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

export interface DataOptions {
  /** Balanced subset: the first k examples of each class within the selected range, in original order. */
  perClass?: number;
  /** Seed of synthetic data (default 0). Other sources are deterministic without one. */
  seed?: number;
  /** Folder of the Fashion-MNIST files (default $HESSIAN_FASHION_MNIST, then /usr/share/datasets/fashion-mnist). */
  root?: string;
  /** Per-example shape of synthetic inputs (default [28, 28, 1]). */
  inputShape?: number[];
  /** Number of classes of synthetic data (default 10). */
  numClasses?: number;
}

/** A whole source, opened; examples are materialized on demand. */
export interface OpenedSource {
  size: number;
  sampleShape: number[];
  numClasses: number;
  /** Labels of examples start..end-1. */
  labels(start: number, end: number): Int32Array;
  /** Writes example i's inputs (float32) to out[offset ..] and returns its label. */
  fill(i: number, out: Float32Array, offset: number): number;
  source: string;
  /** Class names for messages, when known. */
  classNames?: readonly string[];
}

async function fashionMnistFile(root: string, base: string): Promise<string> {
  for (const candidate of [`${base}.gz`, base]) {
    const p = resolve(root, candidate);
    try {
      if ((await stat(p)).isFile()) return p;
    } catch {
      // try the next name
    }
  }
  return resolve(root, `${base}.gz`);
}

/**
 * Reads images and labels in parallel but reports their errors in a fixed order (the images'
 * first): with Promise.all the message would depend on which file's read failed first.
 */
async function imagesThenLabels<A, B>(images: Promise<A>, labels: Promise<B>): Promise<[A, B]> {
  const [a, b] = await Promise.allSettled([images, labels]);
  if (a.status === 'rejected') throw a.reason;
  if (b.status === 'rejected') throw b.reason;
  return [a.value, b.value];
}

async function openFashionMnist(split: 'train' | 'test', opts: DataOptions, end: number | null): Promise<OpenedSource> {
  const root = opts.root ?? process.env.HESSIAN_FASHION_MNIST ?? DEFAULT_FASHION_MNIST_ROOT;
  const prefix = split === 'train' ? 'train' : 't10k';
  const imagesPath = await fashionMnistFile(root, `${prefix}-images-idx3-ubyte`);
  const labelsPath = await fashionMnistFile(root, `${prefix}-labels-idx1-ubyte`);
  const notFound = (p: string) => () =>
    new UserError(
      `Fashion-MNIST file ${p} was not found; install it with \`apt-get install dataset-fashion-mnist\` or set HESSIAN_FASHION_MNIST (or the root option) to a folder holding ${prefix}-images-idx3-ubyte.gz and ${prefix}-labels-idx1-ubyte.gz.`,
      'NOT_FOUND',
    );
  const [images, labels] = await imagesThenLabels(readImagesIdx(imagesPath, notFound(imagesPath), end), readLabelsIdx(labelsPath, notFound(labelsPath)));
  return { ...fileSource(images, labels, imagesPath, labelsPath, 10), classNames: FASHION_MNIST_CLASSES };
}

function userFileNotFound(given: string, abs: string): () => UserError {
  return () =>
    new UserError(
      `Data file ${abs} was not found; fix the path "${given}" in the data spec (relative paths are taken from ${process.cwd()}).`,
      'NOT_FOUND',
    );
}

async function openFiles(kind: 'idx' | 'npy', imagesGiven: string, labelsGiven: string, end: number | null): Promise<OpenedSource> {
  const imagesPath = resolve(imagesGiven);
  const labelsPath = resolve(labelsGiven);
  const [images, labels] =
    kind === 'idx'
      ? await imagesThenLabels(readImagesIdx(imagesPath, userFileNotFound(imagesGiven, imagesPath), end), readLabelsIdx(labelsPath, userFileNotFound(labelsGiven, labelsPath)))
      : await imagesThenLabels(readImagesNpy(imagesPath, userFileNotFound(imagesGiven, imagesPath)), readLabelsNpy(labelsPath, userFileNotFound(labelsGiven, labelsPath)));
  return fileSource(images, labels, imagesPath, labelsPath, 1);
}

function openSynthetic(n: number, opts: DataOptions): OpenedSource {
  const inputShape = opts.inputShape ?? [28, 28, 1];
  if (!Array.isArray(inputShape) || inputShape.length < 1 || inputShape.length > 3 || inputShape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new UserError(
      `Synthetic input shape [${String(inputShape)}] is invalid; give 1 to 3 positive whole dimensions, e.g. [28, 28, 1] or [784].`,
    );
  }
  const numClasses = opts.numClasses ?? 10;
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new UserError(`Synthetic data cannot have ${numClasses} classes; give a positive whole number of classes.`);
  }
  const seed = opts.seed ?? 0;
  const syn = new SyntheticSource(inputShape, numClasses, seed);
  const sampleShape = inputShape.length === 2 ? [inputShape[0], inputShape[1], 1] : [...inputShape];
  const scratch = new Float32Array(syn.dim);
  return {
    size: n,
    sampleShape,
    numClasses,
    labels: (start, end) => {
      const out = new Int32Array(end - start);
      for (let i = start; i < end; i++) out[i - start] = syn.example(i, scratch, 0);
      return out;
    },
    fill: (i, out, offset) => syn.example(i, out, offset),
    source: `synthetic (seed ${seed}, input shape [${inputShape.join(',')}], ${numClasses} classes)`,
  };
}

/**
 * Opens a source. `end` is the slice's end when the spec has one: IDX inputs then decode only
 * the examples before it (`fill` serves no others); null opens everything.
 */
export function openSource(src: DataSourceSpec, opts: DataOptions, end: number | null = null): Promise<OpenedSource> | OpenedSource {
  switch (src.kind) {
    case 'fashion-mnist':
      return openFashionMnist(src.split, opts, end);
    case 'idx':
      return openFiles('idx', src.images, src.labels, end);
    case 'npy':
      return openFiles('npy', src.x, src.y, end);
    case 'synthetic':
      return openSynthetic(src.n, opts);
  }
}
