/** In-memory batches: the shape every loader returns, one-hot targets, and slicing for shards. */
import { UserError } from '@hessian/linalg';

export interface Batch {
  /** Inputs, float32, row-major in `shape`. Pixels are in [0, 1]. */
  x: Float32Array;
  /** [n, h, w, c] (NHWC) for images, [n, d] for flat features. */
  shape: number[];
  /** Class index of each example, 0 <= label < numClasses. */
  labels: Int32Array;
  /** Number of classes of the whole set (not only of this batch), so shards agree. */
  numClasses: number;
}

export interface Dataset extends Batch {
  /** Canonical, human-readable description, e.g. "fashion-mnist:train[0:256]" or "fashion-mnist:train[0:60000] per-class 10". */
  description: string;
  /** Where the data came from: the absolute file paths, or "synthetic (...)". */
  source: string;
  /** The value of an empty (black) pixel after the spec's preprocessing (absent: 0); augmentation fills with it. */
  background?: number;
}

/** One-hot encoding, row-major [n, numClasses], float32. */
export function onehot(labels: Int32Array, numClasses: number): Float32Array {
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new UserError(`Cannot one-hot encode with ${numClasses} classes; pass a positive whole number of classes.`);
  }
  const out = new Float32Array(labels.length * numClasses);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (c < 0 || c >= numClasses) {
      throw new UserError(`Label ${c} of example ${i} is outside 0..${numClasses - 1}; pass a class count above the largest label.`);
    }
    out[i * numClasses + c] = 1;
  }
  return out;
}

/** Examples start..end-1 of a batch (a copy), e.g. one worker's shard of the Hessian set. */
export function sliceBatch(b: Batch, start: number, end: number): Batch {
  const n = b.shape[0];
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > n || start >= end) {
    throw new UserError(`Cannot take examples [${start}:${end}] of a batch of ${n}; use whole numbers with 0 <= start < end <= ${n}.`);
  }
  const d = n === 0 ? 0 : b.x.length / n;
  return {
    x: b.x.slice(start * d, end * d),
    shape: [end - start, ...b.shape.slice(1)],
    labels: b.labels.slice(start, end),
    numClasses: b.numClasses,
  };
}
