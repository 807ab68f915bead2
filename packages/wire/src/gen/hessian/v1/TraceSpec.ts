// Original file: ../../proto/hessian/v1/common.proto


export interface TraceSpec {
  /**
   * "auto" (default: exact diagonal where exact, else Hutchinson) | "exact-diagonal" | "hutchinson" | "hutch++"
   */
  'method'?: (string);
  'probes'?: (number);
  'targetRelStderr'?: (number | string);
  'chunk'?: (number);
  'fromFullProbes'?: (boolean);
}

export interface TraceSpec__Output {
  /**
   * "auto" (default: exact diagonal where exact, else Hutchinson) | "exact-diagonal" | "hutchinson" | "hutch++"
   */
  'method': (string);
  'probes': (number);
  'targetRelStderr': (number);
  'chunk': (number);
  'fromFullProbes': (boolean);
}
