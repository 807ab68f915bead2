// Original file: ../../proto/hessian/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface UploadFileEntry {
  'path'?: (string);
  'size'?: (number | string | Long);
}

export interface UploadFileEntry__Output {
  'path': (string);
  'size': (number);
}
