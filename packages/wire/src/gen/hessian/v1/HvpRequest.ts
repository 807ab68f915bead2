// Original file: ../../proto/hessian/v1/worker.proto

import type { VectorChunk as _hessian_v1_VectorChunk, VectorChunk__Output as _hessian_v1_VectorChunk__Output } from '../../hessian/v1/VectorChunk.js';

export interface HvpRequest {
  /**
   * set on the first message
   */
  'key'?: (string);
  /**
   * "hessian" | "gauss-newton" | "residual"
   */
  'operator'?: (string);
  /**
   * "full" or a layer name
   */
  'scope'?: (string);
  'convention'?: (string);
  'v'?: (_hessian_v1_VectorChunk | null);
}

export interface HvpRequest__Output {
  /**
   * set on the first message
   */
  'key': (string);
  /**
   * "hessian" | "gauss-newton" | "residual"
   */
  'operator': (string);
  /**
   * "full" or a layer name
   */
  'scope': (string);
  'convention': (string);
  'v': (_hessian_v1_VectorChunk__Output | null);
}
