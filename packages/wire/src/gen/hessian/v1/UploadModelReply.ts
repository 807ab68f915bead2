// Original file: ../../proto/hessian/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface UploadModelReply {
  /**
   * "sha256:HEX": use as AnalysisSpec.model
   */
  'digest'?: (string);
  'bytes'?: (number | string | Long);
}

export interface UploadModelReply__Output {
  /**
   * "sha256:HEX": use as AnalysisSpec.model
   */
  'digest': (string);
  'bytes': (number);
}
