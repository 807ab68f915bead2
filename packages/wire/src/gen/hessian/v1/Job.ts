// Original file: ../../proto/hessian/v1/coordinator.proto

import type { JobState as _hessian_v1_JobState, JobState__Output as _hessian_v1_JobState__Output } from '../../hessian/v1/JobState.js';
import type { AnalysisSpec as _hessian_v1_AnalysisSpec, AnalysisSpec__Output as _hessian_v1_AnalysisSpec__Output } from '../../hessian/v1/AnalysisSpec.js';
import type { Progress as _hessian_v1_Progress, Progress__Output as _hessian_v1_Progress__Output } from '../../hessian/v1/Progress.js';

export interface Job {
  'id'?: (string);
  'state'?: (_hessian_v1_JobState);
  'spec'?: (_hessian_v1_AnalysisSpec | null);
  'progress'?: (_hessian_v1_Progress | null);
  /**
   * the Report (schema hessian-cluster/report/v1) once SUCCEEDED
   */
  'reportJson'?: (string);
  /**
   * one sentence once FAILED
   */
  'error'?: (string);
  /**
   * ISO 8601
   */
  'createdAt'?: (string);
  'updatedAt'?: (string);
}

export interface Job__Output {
  'id': (string);
  'state': (_hessian_v1_JobState__Output);
  'spec': (_hessian_v1_AnalysisSpec__Output | null);
  'progress': (_hessian_v1_Progress__Output | null);
  /**
   * the Report (schema hessian-cluster/report/v1) once SUCCEEDED
   */
  'reportJson': (string);
  /**
   * one sentence once FAILED
   */
  'error': (string);
  /**
   * ISO 8601
   */
  'createdAt': (string);
  'updatedAt': (string);
}
