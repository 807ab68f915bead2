// Original file: ../../proto/hessian/v1/coordinator.proto


export interface UploadModelHeader {
  'name'?: (string);
}

export interface UploadModelHeader__Output {
  'name': (string);
}
