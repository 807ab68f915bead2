// Original file: ../../proto/hessian/v1/common.proto

import type { NameList as _hessian_v1_NameList, NameList__Output as _hessian_v1_NameList__Output } from '../../hessian/v1/NameList.js';

/**
 * Which layers to analyze. Exactly one of the fields is set; none means "all".
 */
export interface LayerSelection {
  'all'?: (boolean);
  /**
   * the paper's floor(n/4) .. floor(3n/4)
   */
  'middle'?: (boolean);
  'names'?: (_hessian_v1_NameList | null);
  'regex'?: (string);
  'selection'?: "all"|"middle"|"names"|"regex";
}

/**
 * Which layers to analyze. Exactly one of the fields is set; none means "all".
 */
export interface LayerSelection__Output {
  'all'?: (boolean);
  /**
   * the paper's floor(n/4) .. floor(3n/4)
   */
  'middle'?: (boolean);
  'names'?: (_hessian_v1_NameList__Output | null);
  'regex'?: (string);
  'selection'?: "all"|"middle"|"names"|"regex";
}
