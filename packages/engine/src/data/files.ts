/** IDX and npy files decoded into checked inputs and labels (once per process, through the file cache), and a pair of them as an opened source. */
import { UserError } from '@hessian/linalg';
import { cached } from './file-cache.js';
import { readIdx } from './idx.js';
import { readNpy } from './npy.js';
import type { OpenedSource } from './sources.js';

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

export function readImagesIdx(path: string, notFound: () => UserError): Promise<ImageFile> {
  return cached('idx-images', path, notFound, (buf) => {
    const f = readIdx(buf, path);
    const isFloat = f.data instanceof Float32Array || f.data instanceof Float64Array;
    return toImageFile(path, f.dims, f.data, f.data instanceof Uint8Array, isFloat);
  });
}

export function readLabelsIdx(path: string, notFound: () => UserError): Promise<LabelFile> {
  return cached('idx-labels', path, notFound, (buf) => {
    const f = readIdx(buf, path);
    return toLabelFile(path, f.dims, f.data);
  });
}

export function readImagesNpy(path: string, notFound: () => UserError): Promise<ImageFile> {
  return cached('npy-images', path, notFound, (buf) => {
    const f = readNpy(buf, path);
    return toImageFile(path, f.shape, f.data, f.dtype === '|u1', f.dtype === '<f4' || f.dtype === '<f8');
  });
}

export function readLabelsNpy(path: string, notFound: () => UserError): Promise<LabelFile> {
  return cached('npy-labels', path, notFound, (buf) => {
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
