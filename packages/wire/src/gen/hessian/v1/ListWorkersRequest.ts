// Original file: ../../proto/hessian/v1/coordinator.proto


export interface ListWorkersRequest {
}

export interface ListWorkersRequest__Output {
}
