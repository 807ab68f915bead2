// Original file: ../../proto/hessian/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

export interface PrepareReply {
  /**
   * cache key of the prepared engine (model, data, shard)
   */
  'key'?: (string);
  'params'?: (number | string | Long);
  'examples'?: (number);
  'backend'?: (string);
  /**
   * sum of per-example losses over the shard
   */
  'lossSum'?: (number | string);
  /**
   * What the coordinator needs to plan and to write the report (added compatibly):
   */
  'groupsJson'?: (string);
  'modelName'?: (string);
  'inputShape'?: (number)[];
  'dataDescription'?: (string);
  'backendDetail'?: (string);
  /**
   * mean loss over the shard (= loss_sum / examples)
   */
  'lossValue'?: (number | string);
  /**
   * examples of the whole data set before sharding
   */
  'totalExamples'?: (number);
  /**
   * parameters of the whole model
   */
  'modelParams'?: (number | string | Long);
  /**
   * Memory and cost (issue #13): the worker's budget, the engine's estimated share of it, and
   * one full-network Hessian product over this engine's examples, timed on its first micro-batch.
   */
  'memoryBudgetBytes'?: (number | string | Long);
  /**
   * "HESSIAN_WORKER_MEMORY=8G" or "75% of this machine's ..."
   */
  'memoryBudgetSource'?: (string);
  'engineBytes'?: (number | string | Long);
  /**
   * 0 when not measured (HESSIAN_CALIBRATE=0)
   */
  'hvpSeconds'?: (number | string);
  /**
   * how the engine computes Hessian products: "R-op" or "autodiff (why)"; empty for a training engine
   */
  'products'?: (string);
}

export interface PrepareReply__Output {
  /**
   * cache key of the prepared engine (model, data, shard)
   */
  'key': (string);
  'params': (number);
  'examples': (number);
  'backend': (string);
  /**
   * sum of per-example losses over the shard
   */
  'lossSum': (number);
  /**
   * What the coordinator needs to plan and to write the report (added compatibly):
   */
  'groupsJson': (string);
  'modelName': (string);
  'inputShape': (number)[];
  'dataDescription': (string);
  'backendDetail': (string);
  /**
   * mean loss over the shard (= loss_sum / examples)
   */
  'lossValue': (number);
  /**
   * examples of the whole data set before sharding
   */
  'totalExamples': (number);
  /**
   * parameters of the whole model
   */
  'modelParams': (number);
  /**
   * Memory and cost (issue #13): the worker's budget, the engine's estimated share of it, and
   * one full-network Hessian product over this engine's examples, timed on its first micro-batch.
   */
  'memoryBudgetBytes': (number);
  /**
   * "HESSIAN_WORKER_MEMORY=8G" or "75% of this machine's ..."
   */
  'memoryBudgetSource': (string);
  'engineBytes': (number);
  /**
   * 0 when not measured (HESSIAN_CALIBRATE=0)
   */
  'hvpSeconds': (number);
  /**
   * how the engine computes Hessian products: "R-op" or "autodiff (why)"; empty for a training engine
   */
  'products': (string);
}
