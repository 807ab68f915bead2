// Original file: ../../proto/hessian/v1/common.proto


export interface TraceSpec {
  /**
   * "hutchinson" | "hutch++"
   */
  'method'?: (string);
  'probes'?: (number);
  'targetRelStderr'?: (number | string);
  'chunk'?: (number);
  'fromFullProbes'?: (boolean);
}

export interface TraceSpec__Output {
  /**
   * "hutchinson" | "hutch++"
   */
  'method': (string);
  'probes': (number);
  'targetRelStderr': (number);
  'chunk': (number);
  'fromFullProbes': (boolean);
}
