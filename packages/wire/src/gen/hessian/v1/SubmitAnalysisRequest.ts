// Original file: ../../proto/hessian/v1/coordinator.proto

import type { AnalysisSpec as _hessian_v1_AnalysisSpec, AnalysisSpec__Output as _hessian_v1_AnalysisSpec__Output } from '../../hessian/v1/AnalysisSpec.js';

export interface SubmitAnalysisRequest {
  'spec'?: (_hessian_v1_AnalysisSpec | null);
  /**
   * optional idempotency key: resubmitting it returns the same job
   */
  'clientRequestId'?: (string);
}

export interface SubmitAnalysisRequest__Output {
  'spec': (_hessian_v1_AnalysisSpec__Output | null);
  /**
   * optional idempotency key: resubmitting it returns the same job
   */
  'clientRequestId': (string);
}
