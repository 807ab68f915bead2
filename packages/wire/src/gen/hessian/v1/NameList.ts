// Original file: ../../proto/hessian/v1/common.proto


export interface NameList {
  'names'?: (string)[];
}

export interface NameList__Output {
  'names': (string)[];
}
