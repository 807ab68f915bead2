// Original file: ../../proto/hessian/v1/worker.proto

import type { AnalysisSpec as _hessian_v1_AnalysisSpec, AnalysisSpec__Output as _hessian_v1_AnalysisSpec__Output } from '../../hessian/v1/AnalysisSpec.js';

export interface PrepareRequest {
  'jobId'?: (string);
  'spec'?: (_hessian_v1_AnalysisSpec | null);
  /**
   * when spec.model is an uploaded model: fetch from the object store
   */
  'modelDigest'?: (string);
  /**
   * data-parallel scope: which shard of the examples this worker holds
   */
  'shardIndex'?: (number);
  /**
   * 0 or 1: all examples
   */
  'shardCount'?: (number);
}

export interface PrepareRequest__Output {
  'jobId': (string);
  'spec': (_hessian_v1_AnalysisSpec__Output | null);
  /**
   * when spec.model is an uploaded model: fetch from the object store
   */
  'modelDigest': (string);
  /**
   * data-parallel scope: which shard of the examples this worker holds
   */
  'shardIndex': (number);
  /**
   * 0 or 1: all examples
   */
  'shardCount': (number);
}
