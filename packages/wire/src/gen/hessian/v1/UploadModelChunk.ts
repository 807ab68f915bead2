// Original file: ../../proto/hessian/v1/coordinator.proto

import type { UploadModelHeader as _hessian_v1_UploadModelHeader, UploadModelHeader__Output as _hessian_v1_UploadModelHeader__Output } from '../../hessian/v1/UploadModelHeader.js';
import type { FileChunk as _hessian_v1_FileChunk, FileChunk__Output as _hessian_v1_FileChunk__Output } from '../../hessian/v1/FileChunk.js';

export interface UploadModelChunk {
  'header'?: (_hessian_v1_UploadModelHeader | null);
  'file'?: (_hessian_v1_FileChunk | null);
  'part'?: "header"|"file";
}

export interface UploadModelChunk__Output {
  'header'?: (_hessian_v1_UploadModelHeader__Output | null);
  'file'?: (_hessian_v1_FileChunk__Output | null);
  'part'?: "header"|"file";
}
