// Original file: ../../proto/hessian/v1/common.proto

import type { Long } from '@grpc/proto-loader';

export interface Progress {
  'tasksDone'?: (number);
  'tasksSkipped'?: (number);
  'tasksTotal'?: (number);
  'hvps'?: (number | string | Long);
  'elapsedSeconds'?: (number | string);
  /**
   * negative when unknown
   */
  'etaSeconds'?: (number | string);
}

export interface Progress__Output {
  'tasksDone': (number);
  'tasksSkipped': (number);
  'tasksTotal': (number);
  'hvps': (number);
  'elapsedSeconds': (number);
  /**
   * negative when unknown
   */
  'etaSeconds': (number);
}
