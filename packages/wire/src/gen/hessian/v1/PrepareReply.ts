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
}
