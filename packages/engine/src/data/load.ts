/**
 * loadDataset: a data spec (spec.ts) plus options become a Dataset in memory.
 *
 * Decoded files are cached per process in a Map keyed by absolute path (and revalidated by
 * size and mtime), holding the compact decoded arrays (uint8 pixels for Fashion-MNIST), so
 * several slices of one file cost one read and one gunzip; only the selected examples are
 * converted to float32.
 */
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { UserError } from '@hessian/linalg';
import type { Dataset } from './batch.js';
import { isGzip } from './binary.js';
import { readIdx } from './idx.js';
import { readNpy } from './npy.js';
import { formatSource, parseDataSpec, type DataSourceSpec } from './spec.js';
import { SyntheticSource } from './synthetic.js';
import { applyTransform, formatTransform, transformBackground } from './transform.js';

const gunzipAsync = promisify(gunzip);

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

/** Inputs of a whole file, decoded and checked once. */
interface ImageFile {
  n: number;
  sampleShape: number[];
  dim: number;
  data: ArrayLike<number>;
  /** Divide by 255 (uint8 pixels) or use as is. */
  scale255: boolean;
}

interface LabelFile {
  labels: Int32Array;
  max: number;
}

/** A whole source, opened; examples are materialized on demand. */
interface OpenedSource {
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

// ---------------------------------------------------------------------------------------------
// File cache

interface CacheEntry {
  size: number;
  mtimeMs: number;
  value: Promise<unknown>;
}
const cache = new Map<string, CacheEntry>();

async function statOrThrow(path: string, notFound: () => UserError): Promise<{ size: number; mtimeMs: number }> {
  try {
    const s = await stat(path);
    if (!s.isFile()) {
      throw new UserError(`Data path ${path} is not a regular file; point the data spec at the file itself.`, 'INVALID_ARGUMENT');
    }
    return { size: s.size, mtimeMs: s.mtimeMs };
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw notFound();
    throw new UserError(`Data file ${path} cannot be read (${code ?? (e as Error).message}); make it readable by this process.`, 'FAILED_PRECONDITION');
  }
}

/** Reads, gunzips (if needed) and decodes a file once per process. */
async function cached<T>(kind: string, path: string, notFound: () => UserError, decode: (buf: Buffer) => T): Promise<T> {
  const st = await statOrThrow(path, notFound);
  const key = `${kind}:${path}`;
  const hit = cache.get(key);
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.value as Promise<T>;
  const value = (async () => {
    let buf: Buffer;
    try {
      buf = await readFile(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw notFound();
      throw new UserError(`Data file ${path} cannot be read (${code ?? (e as Error).message}); make it readable by this process.`, 'FAILED_PRECONDITION');
    }
    if (isGzip(buf)) {
      try {
        buf = await gunzipAsync(buf);
      } catch (e) {
        throw new UserError(`${path} starts like a gzip file but does not decompress (${(e as Error).message}); replace it with an intact copy.`);
      }
    }
    return decode(buf);
  })();
  cache.set(key, { ...st, value });
  value.catch(() => {
    if (cache.get(key)?.value === value) cache.delete(key);
  });
  return value;
}

// ---------------------------------------------------------------------------------------------
// Decoding of inputs and labels (shared by IDX and npy)

function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v - v !== 0) return i; // NaN or +-Inf
  }
  return -1;
}

function toImageFile(path: string, dims: number[], data: ArrayLike<number>, isUint8: boolean, isFloat: boolean): ImageFile {
  if (dims.length < 2 || dims.length > 4) {
    throw new UserError(
      `${path} has ${dims.length} dimension(s) [${dims.join(', ')}]; inputs must be [n, d], [n, h, w] or [n, h, w, c].`,
    );
  }
  const n = dims[0];
  const sampleShape = dims.length === 3 ? [dims[1], dims[2], 1] : dims.slice(1);
  const dim = sampleShape.reduce((a, d) => a * d, 1);
  if (isFloat) {
    const bad = firstNonFinite(data);
    if (bad >= 0) {
      throw new UserError(
        `${path} holds ${data[bad]} at flat index ${bad} (example ${dim > 0 ? Math.floor(bad / dim) : 0}); replace non-finite values before loading.`,
        'FAILED_PRECONDITION',
      );
    }
  }
  return { n, sampleShape, dim, data, scale255: isUint8 };
}

function toLabelFile(path: string, dims: number[], data: ArrayLike<number>): LabelFile {
  if (!(dims.length === 1 || (dims.length === 2 && dims[1] === 1))) {
    throw new UserError(
      `${path} has shape [${dims.join(', ')}]; labels must be a vector [n] (or [n, 1]) of class indices, not one-hot rows.`,
    );
  }
  const labels = new Int32Array(dims[0]);
  let max = -1;
  for (let i = 0; i < labels.length; i++) {
    const v = data[i];
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
      throw new UserError(
        `${path} holds label ${v} at index ${i}; labels must be whole numbers from 0 (class indices).`,
        'FAILED_PRECONDITION',
      );
    }
    labels[i] = v;
    if (v > max) max = v;
  }
  return { labels, max };
}

function readImagesIdx(path: string, notFound: () => UserError): Promise<ImageFile> {
  return cached('idx-images', path, notFound, (buf) => {
    const f = readIdx(buf, path);
    const isFloat = f.data instanceof Float32Array || f.data instanceof Float64Array;
    return toImageFile(path, f.dims, f.data, f.data instanceof Uint8Array, isFloat);
  });
}

function readLabelsIdx(path: string, notFound: () => UserError): Promise<LabelFile> {
  return cached('idx-labels', path, notFound, (buf) => {
    const f = readIdx(buf, path);
    return toLabelFile(path, f.dims, f.data);
  });
}

function readImagesNpy(path: string, notFound: () => UserError): Promise<ImageFile> {
  return cached('npy-images', path, notFound, (buf) => {
    const f = readNpy(buf, path);
    return toImageFile(path, f.shape, f.data, f.dtype === '|u1', f.dtype === '<f4' || f.dtype === '<f8');
  });
}

function readLabelsNpy(path: string, notFound: () => UserError): Promise<LabelFile> {
  return cached('npy-labels', path, notFound, (buf) => {
    const f = readNpy(buf, path);
    return toLabelFile(path, f.shape, f.data);
  });
}

function fileSource(images: ImageFile, labels: LabelFile, imagesPath: string, labelsPath: string, minClasses: number): OpenedSource {
  if (images.n !== labels.labels.length) {
    throw new UserError(
      `${imagesPath} has ${images.n} examples but ${labelsPath} has ${labels.labels.length} labels; pass files with exactly one label per example.`,
      'FAILED_PRECONDITION',
    );
  }
  if (images.n === 0) {
    throw new UserError(`${imagesPath} holds no examples; pass a file with at least one.`, 'FAILED_PRECONDITION');
  }
  const { dim, data, scale255 } = images;
  const lab = labels.labels;
  let fill: OpenedSource['fill'];
  if (scale255 && data instanceof Uint8Array) {
    // x / 255 exactly as float32, through a table: one load per pixel.
    const lut = new Float32Array(256);
    for (let v = 0; v < 256; v++) lut[v] = v / 255;
    fill = (i, out, offset) => {
      const px = data.subarray(i * dim, (i + 1) * dim);
      for (let j = 0; j < dim; j++) out[offset + j] = lut[px[j]];
      return lab[i];
    };
  } else if (data instanceof Float32Array) {
    fill = (i, out, offset) => {
      out.set(data.subarray(i * dim, (i + 1) * dim), offset);
      return lab[i];
    };
  } else {
    fill = (i, out, offset) => {
      const base = i * dim;
      if (scale255) for (let j = 0; j < dim; j++) out[offset + j] = data[base + j] / 255;
      else for (let j = 0; j < dim; j++) out[offset + j] = data[base + j];
      return lab[i];
    };
  }
  return {
    size: images.n,
    sampleShape: images.sampleShape,
    numClasses: Math.max(minClasses, labels.max + 1),
    labels: (start, end) => lab.slice(start, end),
    fill,
    source: `${imagesPath},${labelsPath}`,
  };
}

// ---------------------------------------------------------------------------------------------
// Sources

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

async function openFashionMnist(split: 'train' | 'test', opts: DataOptions): Promise<OpenedSource> {
  const root = opts.root ?? process.env.HESSIAN_FASHION_MNIST ?? DEFAULT_FASHION_MNIST_ROOT;
  const prefix = split === 'train' ? 'train' : 't10k';
  const imagesPath = await fashionMnistFile(root, `${prefix}-images-idx3-ubyte`);
  const labelsPath = await fashionMnistFile(root, `${prefix}-labels-idx1-ubyte`);
  const notFound = (p: string) => () =>
    new UserError(
      `Fashion-MNIST file ${p} was not found; install it with \`apt-get install dataset-fashion-mnist\` or set HESSIAN_FASHION_MNIST (or the root option) to a folder holding ${prefix}-images-idx3-ubyte.gz and ${prefix}-labels-idx1-ubyte.gz.`,
      'NOT_FOUND',
    );
  const [images, labels] = await imagesThenLabels(readImagesIdx(imagesPath, notFound(imagesPath)), readLabelsIdx(labelsPath, notFound(labelsPath)));
  return { ...fileSource(images, labels, imagesPath, labelsPath, 10), classNames: FASHION_MNIST_CLASSES };
}

function userFileNotFound(given: string, abs: string): () => UserError {
  return () =>
    new UserError(
      `Data file ${abs} was not found; fix the path "${given}" in the data spec (relative paths are taken from ${process.cwd()}).`,
      'NOT_FOUND',
    );
}

async function openFiles(kind: 'idx' | 'npy', imagesGiven: string, labelsGiven: string): Promise<OpenedSource> {
  const imagesPath = resolve(imagesGiven);
  const labelsPath = resolve(labelsGiven);
  const [images, labels] =
    kind === 'idx'
      ? await imagesThenLabels(readImagesIdx(imagesPath, userFileNotFound(imagesGiven, imagesPath)), readLabelsIdx(labelsPath, userFileNotFound(labelsGiven, labelsPath)))
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

function openSource(src: DataSourceSpec, opts: DataOptions): Promise<OpenedSource> | OpenedSource {
  switch (src.kind) {
    case 'fashion-mnist':
      return openFashionMnist(src.split, opts);
    case 'idx':
      return openFiles('idx', src.images, src.labels);
    case 'npy':
      return openFiles('npy', src.x, src.y);
    case 'synthetic':
      return openSynthetic(src.n, opts);
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * Loads the examples a data spec names (see spec.ts for the syntax), as float32 NHWC inputs
 * and int32 labels. With opts.perClass = k, keeps the first k examples of each class within
 * the selected range, in their original order (deterministic, no seed). Every error a user
 * can cause is a UserError whose message says what to change.
 */
export async function loadDataset(spec: string, opts: DataOptions = {}): Promise<Dataset> {
  const parsed = parseDataSpec(spec);
  const { perClass } = opts;
  if (perClass !== undefined && (!Number.isInteger(perClass) || perClass < 1)) {
    throw new UserError(`Per-class count ${perClass} is invalid; give a positive whole number of examples per class, e.g. --per-class 10.`);
  }
  if (opts.seed !== undefined && !Number.isInteger(opts.seed)) {
    throw new UserError(`Data seed ${opts.seed} is invalid; give a whole number.`);
  }
  const src = await openSource(parsed.source, opts);
  const name = formatSource(parsed.source);
  const start = parsed.start ?? 0;
  const end = parsed.end ?? src.size;
  if (start >= src.size) {
    throw new UserError(
      `Slice [${start}:${parsed.end ?? ''}] starts past the end of ${name}, which has ${src.size} examples; use a start below ${src.size}.`,
    );
  }
  if (end > src.size) {
    throw new UserError(`Slice [${start}:${end}] is out of range for ${name}, which has ${src.size} examples; use an end of at most ${src.size}.`);
  }
  let description = `${name}[${start}:${end}]`;
  const options = parsed.transform ? formatTransform(parsed.transform) : '';
  if (options !== '') description += `?${options}`;

  let indices: Int32Array;
  if (perClass === undefined) {
    indices = new Int32Array(end - start);
    for (let i = 0; i < indices.length; i++) indices[i] = start + i;
  } else {
    const rangeLabels = src.labels(start, end);
    const counts = new Int32Array(src.numClasses);
    const picked: number[] = [];
    let full = 0;
    for (let i = 0; i < rangeLabels.length && full < src.numClasses; i++) {
      const c = rangeLabels[i];
      if (counts[c] < perClass) {
        counts[c]++;
        picked.push(start + i);
        if (counts[c] === perClass) full++;
      }
    }
    if (full < src.numClasses) {
      const short = Array.from(counts).findIndex((k) => k < perClass);
      const least = Math.min(...Array.from(counts));
      const label = src.classNames?.[short] ? `${short} (${src.classNames[short]})` : `${short}`;
      throw new UserError(
        `Class ${label} has only ${counts[short]} examples in ${description}, fewer than the ${perClass} per class asked for; ${least > 0 ? `lower per-class to at most ${least} or widen the slice` : 'widen the slice so that every class appears'}.`,
      );
    }
    indices = Int32Array.from(picked);
    description += ` per-class ${perClass}`;
  }

  const dim = src.sampleShape.reduce((a, d) => a * d, 1);
  const x = new Float32Array(indices.length * dim);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) labels[i] = src.fill(indices[i], x, i * dim);
  if (parsed.source.kind === 'synthetic') description += ` (seed ${opts.seed ?? 0}, shape [${src.sampleShape.join(',')}], ${src.numClasses} classes)`;
  const t = parsed.transform ? applyTransform(x, indices.length, src.sampleShape, parsed.transform, spec.trim()) : { x, sampleShape: src.sampleShape };
  return {
    x: t.x,
    shape: [indices.length, ...t.sampleShape],
    labels,
    numClasses: src.numClasses,
    description,
    source: src.source,
    ...(parsed.transform ? { background: transformBackground(parsed.transform) } : {}),
  };
}
