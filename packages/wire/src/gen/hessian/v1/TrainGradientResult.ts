// Original file: ../../proto/hessian/v1/worker.proto


export interface TrainGradientResult {
  /**
   * mean cross-entropy over the shard
   */
  'loss'?: (number | string);
  'hasReg'?: (boolean);
  /**
   * the shard's regularizer value (before gamma), when has_reg
   */
  'reg'?: (number | string);
  /**
   * correct predictions in the shard
   */
  'correct'?: (number);
  /**
   * examples in the shard
   */
  'examples'?: (number);
  /**
   * compute time on the worker
   */
  'seconds'?: (number | string);
}

export interface TrainGradientResult__Output {
  /**
   * mean cross-entropy over the shard
   */
  'loss': (number);
  'hasReg': (boolean);
  /**
   * the shard's regularizer value (before gamma), when has_reg
   */
  'reg': (number);
  /**
   * correct predictions in the shard
   */
  'correct': (number);
  /**
   * examples in the shard
   */
  'examples': (number);
  /**
   * compute time on the worker
   */
  'seconds': (number);
}
