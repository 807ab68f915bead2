// Original file: ../../proto/hessian/v1/coordinator.proto

import type { UploadFileEntry as _hessian_v1_UploadFileEntry, UploadFileEntry__Output as _hessian_v1_UploadFileEntry__Output } from '../../hessian/v1/UploadFileEntry.js';

export interface UploadModelHeader {
  'name'?: (string);
  /**
   * Every file of the upload with its size, in the order their chunks follow (sorted by path,
   * as the bundle is). With it the coordinator streams the upload into the object store as it
   * arrives and admits it against HESSIAN_UPLOAD_BYTES_IN_FLIGHT before any byte is sent.
   * Without it (older clients) the upload is held in memory until it ends.
   */
  'files'?: (_hessian_v1_UploadFileEntry)[];
}

export interface UploadModelHeader__Output {
  'name': (string);
  /**
   * Every file of the upload with its size, in the order their chunks follow (sorted by path,
   * as the bundle is). With it the coordinator streams the upload into the object store as it
   * arrives and admits it against HESSIAN_UPLOAD_BYTES_IN_FLIGHT before any byte is sent.
   * Without it (older clients) the upload is held in memory until it ends.
   */
  'files': (_hessian_v1_UploadFileEntry__Output)[];
}
