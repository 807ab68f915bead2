// Original file: ../../proto/hessian/v1/common.proto

import type { LayerSelection as _hessian_v1_LayerSelection, LayerSelection__Output as _hessian_v1_LayerSelection__Output } from '../../hessian/v1/LayerSelection.js';
import type { TopKSpec as _hessian_v1_TopKSpec, TopKSpec__Output as _hessian_v1_TopKSpec__Output } from '../../hessian/v1/TopKSpec.js';
import type { TraceSpec as _hessian_v1_TraceSpec, TraceSpec__Output as _hessian_v1_TraceSpec__Output } from '../../hessian/v1/TraceSpec.js';
import type { DensitySpec as _hessian_v1_DensitySpec, DensitySpec__Output as _hessian_v1_DensitySpec__Output } from '../../hessian/v1/DensitySpec.js';

/**
 * The analysis, as packages/analysis/src/spec.ts's AnalysisSpec. Unset fields take defaults;
 * a quantity is skipped with its skip_* flag.
 */
export interface AnalysisSpec {
  /**
   * "zoo:NAME" or "sha256:HEX" of a model uploaded with UploadModel
   */
  'model'?: (string);
  'modelSeed'?: (number);
  /**
   * e.g. "fashion-mnist:train[0:256]"
   */
  'data'?: (string);
  'perClass'?: (number);
  /**
   * "cross-entropy" | "mse"
   */
  'loss'?: (string);
  'layers'?: (_hessian_v1_LayerSelection | null);
  /**
   * "layer" | "weights-only"
   */
  'convention'?: (string);
  'skipFull'?: (boolean);
  'topK'?: (_hessian_v1_TopKSpec | null);
  'skipTopK'?: (boolean);
  'trace'?: (_hessian_v1_TraceSpec | null);
  'skipTrace'?: (boolean);
  'density'?: (_hessian_v1_DensitySpec | null);
  'skipDensity'?: (boolean);
  'gaussNewton'?: (boolean);
  'skipSimilarity'?: (boolean);
  'batchSize'?: (number);
  'seed'?: (number);
  /**
   * "batch" (default: every worker holds all examples) | "dataset" (examples sharded over workers, HVPs summed)
   */
  'scope'?: (string);
  /**
   * scopes with at most this many parameters are computed exactly when no dearer (0: default 1000)
   */
  'exactMax'?: (number);
  /**
   * --exact-max 0: never build exact blocks
   */
  'skipExact'?: (boolean);
  /**
   * scope "dataset": split the examples into this many shards, fixed for the job, so the numbers are the same on any number of workers (0: one per live worker at start)
   */
  'shards'?: (number);
}

/**
 * The analysis, as packages/analysis/src/spec.ts's AnalysisSpec. Unset fields take defaults;
 * a quantity is skipped with its skip_* flag.
 */
export interface AnalysisSpec__Output {
  /**
   * "zoo:NAME" or "sha256:HEX" of a model uploaded with UploadModel
   */
  'model': (string);
  'modelSeed': (number);
  /**
   * e.g. "fashion-mnist:train[0:256]"
   */
  'data': (string);
  'perClass': (number);
  /**
   * "cross-entropy" | "mse"
   */
  'loss': (string);
  'layers': (_hessian_v1_LayerSelection__Output | null);
  /**
   * "layer" | "weights-only"
   */
  'convention': (string);
  'skipFull': (boolean);
  'topK': (_hessian_v1_TopKSpec__Output | null);
  'skipTopK': (boolean);
  'trace': (_hessian_v1_TraceSpec__Output | null);
  'skipTrace': (boolean);
  'density': (_hessian_v1_DensitySpec__Output | null);
  'skipDensity': (boolean);
  'gaussNewton': (boolean);
  'skipSimilarity': (boolean);
  'batchSize': (number);
  'seed': (number);
  /**
   * "batch" (default: every worker holds all examples) | "dataset" (examples sharded over workers, HVPs summed)
   */
  'scope': (string);
  /**
   * scopes with at most this many parameters are computed exactly when no dearer (0: default 1000)
   */
  'exactMax': (number);
  /**
   * --exact-max 0: never build exact blocks
   */
  'skipExact': (boolean);
  /**
   * scope "dataset": split the examples into this many shards, fixed for the job, so the numbers are the same on any number of workers (0: one per live worker at start)
   */
  'shards': (number);
}
