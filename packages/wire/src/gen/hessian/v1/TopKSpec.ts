// Original file: ../../proto/hessian/v1/common.proto


/**
 * Top eigenvalues. Zero values take the defaults of `hessctl analyze`.
 */
export interface TopKSpec {
  'k'?: (number);
  /**
   * "lanczos" | "power"
   */
  'method'?: (string);
  'tol'?: (number | string);
  'maxIter'?: (number);
}

/**
 * Top eigenvalues. Zero values take the defaults of `hessctl analyze`.
 */
export interface TopKSpec__Output {
  'k': (number);
  /**
   * "lanczos" | "power"
   */
  'method': (string);
  'tol': (number);
  'maxIter': (number);
}
