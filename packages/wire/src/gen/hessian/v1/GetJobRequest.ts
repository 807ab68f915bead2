// Original file: ../../proto/hessian/v1/coordinator.proto


export interface GetJobRequest {
  'id'?: (string);
  'includeReport'?: (boolean);
}

export interface GetJobRequest__Output {
  'id': (string);
  'includeReport': (boolean);
}
