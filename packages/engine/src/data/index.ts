/**
 * Data loaders of the engine: Fashion-MNIST, IDX and npy files, synthetic data, selected by a
 * spec string (see spec.ts and README.md). Imports only node built-ins and @hessian/linalg.
 */
export type { Batch, Dataset } from './batch.js';
export { onehot, sliceBatch } from './batch.js';
export type { DataOptions } from './load.js';
export { loadDataset } from './load.js';
export type { DataSourceSpec, ParsedDataSpec } from './spec.js';
export { parseDataSpec } from './spec.js';
export type { IdxFile } from './idx.js';
export { readIdx } from './idx.js';
export type { NpyFile } from './npy.js';
export { readNpy } from './npy.js';
export type { ImageShape } from './image.js';
export { flipHorizontal, meanStd, padImage, rotateImage, translateImage } from './image.js';
export type { DataTransform } from './transform.js';
export { formatTransform, splitTransform, transformBackground, withTransform } from './transform.js';
