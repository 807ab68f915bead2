// Original file: ../../proto/hessian/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface WorkerInfo {
  'id'?: (string);
  'address'?: (string);
  'backend'?: (string);
  'device'?: (string);
  /**
   * tasks it runs at once
   */
  'capacity'?: (number);
  'running'?: (number);
  'memoryBytes'?: (number | string | Long);
  'lastHeartbeat'?: (string);
  /**
   * model and data digests it holds
   */
  'cached'?: (string)[];
}

export interface WorkerInfo__Output {
  'id': (string);
  'address': (string);
  'backend': (string);
  'device': (string);
  /**
   * tasks it runs at once
   */
  'capacity': (number);
  'running': (number);
  'memoryBytes': (number);
  'lastHeartbeat': (string);
  /**
   * model and data digests it holds
   */
  'cached': (string)[];
}
