// Original file: ../../proto/hessian/v1/worker.proto


export interface GradientRequest {
  'key'?: (string);
}

export interface GradientRequest__Output {
  'key': (string);
}
