// Original file: ../../proto/hessian/v1/coordinator.proto


export interface ListJobsRequest {
  'limit'?: (number);
}

export interface ListJobsRequest__Output {
  'limit': (number);
}
