// Original file: ../../proto/hessian/v1/common.proto


export interface DensitySpec {
  'runs'?: (number);
  'steps'?: (number);
  /**
   * "papyan" | "pyhessian"
   */
  'preset'?: (string);
  'gridPoints'?: (number);
}

export interface DensitySpec__Output {
  'runs': (number);
  'steps': (number);
  /**
   * "papyan" | "pyhessian"
   */
  'preset': (string);
  'gridPoints': (number);
}
