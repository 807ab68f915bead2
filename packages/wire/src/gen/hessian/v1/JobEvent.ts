// Original file: ../../proto/hessian/v1/coordinator.proto

import type { Progress as _hessian_v1_Progress, Progress__Output as _hessian_v1_Progress__Output } from '../../hessian/v1/Progress.js';
import type { JobState as _hessian_v1_JobState, JobState__Output as _hessian_v1_JobState__Output } from '../../hessian/v1/JobState.js';
import type { Long } from '@grpc/proto-loader';

export interface JobEvent {
  'jobId'?: (string);
  'sequence'?: (number | string | Long);
  'time'?: (string);
  /**
   * "queued" | "started" | "progress" | "task-done" | "task-retry" | "task-redispatched" |
   * "partial" | "succeeded" | "failed" | "cancelled"
   */
  'type'?: (string);
  'message'?: (string);
  'taskId'?: (string);
  'worker'?: (string);
  'progress'?: (_hessian_v1_Progress | null);
  /**
   * e.g. {"scope":"conv1","trace":{"mean":..,"stderr":..,"probes":..}}
   */
  'partialJson'?: (string);
  'state'?: (_hessian_v1_JobState);
}

export interface JobEvent__Output {
  'jobId': (string);
  'sequence': (number);
  'time': (string);
  /**
   * "queued" | "started" | "progress" | "task-done" | "task-retry" | "task-redispatched" |
   * "partial" | "succeeded" | "failed" | "cancelled"
   */
  'type': (string);
  'message': (string);
  'taskId': (string);
  'worker': (string);
  'progress': (_hessian_v1_Progress__Output | null);
  /**
   * e.g. {"scope":"conv1","trace":{"mean":..,"stderr":..,"probes":..}}
   */
  'partialJson': (string);
  'state': (_hessian_v1_JobState__Output);
}
