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
  /**
   * Training data for TrainGradient (services/trainer): the model and the whole data set,
   * loaded as packages/training loads its training set (spec.seed = the data seed, 1);
   * no Hessian engine, no loss evaluation (loss_value and loss_sum are 0), no shard.
   */
  'training'?: (boolean);
  /**
   * The coordinator's submit-time check of a spec (its job may wait in the queue for long):
   * the worker evicts engines prepared only by checks before those a job asked for.
   */
  'check'?: (boolean);
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
  /**
   * Training data for TrainGradient (services/trainer): the model and the whole data set,
   * loaded as packages/training loads its training set (spec.seed = the data seed, 1);
   * no Hessian engine, no loss evaluation (loss_value and loss_sum are 0), no shard.
   */
  'training': (boolean);
  /**
   * The coordinator's submit-time check of a spec (its job may wait in the queue for long):
   * the worker evicts engines prepared only by checks before those a job asked for.
   */
  'check': (boolean);
}
