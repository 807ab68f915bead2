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
}
