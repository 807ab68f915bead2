/**
 * IDX and npy files decoded into checked inputs and labels (once per process, through the file
 * cache), and a pair of them as an opened source. IDX inputs for a slice ending at END are
 * decoded from a prefix of the file (idx-prefix.ts); labels are always read whole (29 KB gzipped
 * for Fashion-MNIST's training set), since numClasses comes from the whole file.
 */
import { UserError } from '@hessian/linalg';
import { cached } from './file-cache.js';
import { readWhole } from './file-read.js';
import { decodeIdx } from './idx.js';
import { readIdxRows } from './idx-prefix.js';
import { readNpy } from './npy.js';
import type { OpenedSource } from './sources.js';

/** Inputs of a file (its first `rows` examples, or all of them), decoded and checked once. */
interface ImageFile {
  /** Examples in the file, by its header. */
  n: number;
  /** Examples decoded: n, or fewer for a prefix (the rows a slice ends at). */
  rows: number;
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

function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v - v !== 0) return i; // NaN or +-Inf
  }
  return -1;
}

function toImageFile(path: string, dims: number[], data: ArrayLike<number>, isUint8: boolean, isFloat: boolean, rows = dims[0]): ImageFile {
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
  return { n, rows, sampleShape, dim, data, scale255: isUint8 };
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

/** A file decoded whole, through the cache. */
function wholeFile<T>(kind: string, path: string, notFound: () => UserError, decode: (buf: Buffer) => T): Promise<T> {
  return cached(kind, path, notFound, Infinity, async () => ({ value: decode(await readWhole(path, notFound)), rows: Infinity }));
}

function idxImageFile(path: string, dims: number[], data: ArrayLike<number>, rows?: number): ImageFile {
  const isFloat = data instanceof Float32Array || data instanceof Float64Array;
  return toImageFile(path, dims, data, data instanceof Uint8Array, isFloat, rows);
}

/** IDX inputs: the first `end` examples from a prefix of the file, or all of them (end null). */
export function readImagesIdx(path: string, notFound: () => UserError, end: number | null): Promise<ImageFile> {
  return cached('idx-images', path, notFound, end ?? Infinity, async () => {
    const part = end === null ? null : await readIdxRows(path, notFound, end);
    if (part !== null && end !== null) return { value: idxImageFile(path, part.dims, part.data, end), rows: end };
    const f = decodeIdx(await readWhole(path, notFound), path, true);
    return { value: idxImageFile(path, f.dims, f.data), rows: Infinity };
  });
}

export function readLabelsIdx(path: string, notFound: () => UserError): Promise<LabelFile> {
  return wholeFile('idx-labels', path, notFound, (buf) => {
    const f = decodeIdx(buf, path, true);
    return toLabelFile(path, f.dims, f.data);
  });
}

export function readImagesNpy(path: string, notFound: () => UserError): Promise<ImageFile> {
  return wholeFile('npy-images', path, notFound, (buf) => {
    const f = readNpy(buf, path);
    return toImageFile(path, f.shape, f.data, f.dtype === '|u1', f.dtype === '<f4' || f.dtype === '<f8');
  });
}

export function readLabelsNpy(path: string, notFound: () => UserError): Promise<LabelFile> {
  return wholeFile('npy-labels', path, notFound, (buf) => {
    const f = readNpy(buf, path);
    return toLabelFile(path, f.shape, f.data);
  });
}

export function fileSource(images: ImageFile, labels: LabelFile, imagesPath: string, labelsPath: string, minClasses: number): OpenedSource {
  if (images.n !== labels.labels.length) {
    throw new UserError(
      `${imagesPath} has ${images.n} examples but ${labelsPath} has ${labels.labels.length} labels; pass files with exactly one label per example.`,
      'FAILED_PRECONDITION',
    );
  }
  if (images.n === 0) {
    throw new UserError(`${imagesPath} holds no examples; pass a file with at least one.`, 'FAILED_PRECONDITION');
  }
  const { dim, data, scale255, rows } = images;
  const lab = labels.labels;
  let fillRow: OpenedSource['fill'];
  if (scale255 && data instanceof Uint8Array) {
    // x / 255 exactly as float32, through a table: one load per pixel.
    const lut = new Float32Array(256);
    for (let v = 0; v < 256; v++) lut[v] = v / 255;
    fillRow = (i, out, offset) => {
      const px = data.subarray(i * dim, (i + 1) * dim);
      for (let j = 0; j < dim; j++) out[offset + j] = lut[px[j]];
      return lab[i];
    };
  } else if (data instanceof Float32Array) {
    fillRow = (i, out, offset) => {
      out.set(data.subarray(i * dim, (i + 1) * dim), offset);
      return lab[i];
    };
  } else {
    fillRow = (i, out, offset) => {
      const base = i * dim;
      if (scale255) for (let j = 0; j < dim; j++) out[offset + j] = data[base + j] / 255;
      else for (let j = 0; j < dim; j++) out[offset + j] = data[base + j];
      return lab[i];
    };
  }
  // A prefix decode holds the rows up to the slice's end, and loadDataset asks for no others.
  const fill: OpenedSource['fill'] = (i, out, offset) => {
    if (i >= rows) throw new Error(`example ${i} of ${imagesPath} was not decoded (only the first ${rows} were)`);
    return fillRow(i, out, offset);
  };
  return {
    size: images.n,
    sampleShape: images.sampleShape,
    numClasses: Math.max(minClasses, labels.max + 1),
    labels: (start, end) => lab.slice(start, end),
    fill,
    source: `${imagesPath},${labelsPath}`,
  };
}
