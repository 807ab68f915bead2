// Original file: ../../proto/hessian/v1/common.proto

import type { Long } from '@grpc/proto-loader';

/**
 * A vector of float32 values, little-endian, sent in chunks of about 1 MiB.
 */
export interface VectorChunk {
  /**
   * index of the first value of this chunk in the whole vector
   */
  'offset'?: (number | string | Long);
  /**
   * length of the whole vector
   */
  'length'?: (number | string | Long);
  /**
   * little-endian float32
   */
  'values'?: (Buffer | Uint8Array | string);
}

/**
 * A vector of float32 values, little-endian, sent in chunks of about 1 MiB.
 */
export interface VectorChunk__Output {
  /**
   * index of the first value of this chunk in the whole vector
   */
  'offset': (number);
  /**
   * length of the whole vector
   */
  'length': (number);
  /**
   * little-endian float32
   */
  'values': (Buffer);
}
