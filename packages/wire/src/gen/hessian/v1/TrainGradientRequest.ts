// Original file: ../../proto/hessian/v1/worker.proto

import type { TrainGradientHeader as _hessian_v1_TrainGradientHeader, TrainGradientHeader__Output as _hessian_v1_TrainGradientHeader__Output } from '../../hessian/v1/TrainGradientHeader.js';
import type { VectorChunk as _hessian_v1_VectorChunk, VectorChunk__Output as _hessian_v1_VectorChunk__Output } from '../../hessian/v1/VectorChunk.js';

export interface TrainGradientRequest {
  /**
   * first message
   */
  'header'?: (_hessian_v1_TrainGradientHeader | null);
  /**
   * then the weights (model.params order), float32 chunks
   */
  'weights'?: (_hessian_v1_VectorChunk | null);
  'part'?: "header"|"weights";
}

export interface TrainGradientRequest__Output {
  /**
   * first message
   */
  'header'?: (_hessian_v1_TrainGradientHeader__Output | null);
  /**
   * then the weights (model.params order), float32 chunks
   */
  'weights'?: (_hessian_v1_VectorChunk__Output | null);
  'part'?: "header"|"weights";
}
