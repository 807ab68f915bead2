// Original file: ../../proto/hessian/v1/worker.proto

import type { TrainGradientResult as _hessian_v1_TrainGradientResult, TrainGradientResult__Output as _hessian_v1_TrainGradientResult__Output } from '../../hessian/v1/TrainGradientResult.js';
import type { VectorChunk as _hessian_v1_VectorChunk, VectorChunk__Output as _hessian_v1_VectorChunk__Output } from '../../hessian/v1/VectorChunk.js';

export interface TrainGradientReply {
  /**
   * first message
   */
  'result'?: (_hessian_v1_TrainGradientResult | null);
  /**
   * then the gradient, float32 chunks
   */
  'gradient'?: (_hessian_v1_VectorChunk | null);
  'part'?: "result"|"gradient";
}

export interface TrainGradientReply__Output {
  /**
   * first message
   */
  'result'?: (_hessian_v1_TrainGradientResult__Output | null);
  /**
   * then the gradient, float32 chunks
   */
  'gradient'?: (_hessian_v1_VectorChunk__Output | null);
  'part'?: "result"|"gradient";
}
