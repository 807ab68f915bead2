// Original file: ../../proto/hessian/v1/worker.proto


export interface RunTaskRequest {
  'jobId'?: (string);
  /**
   * from PrepareReply
   */
  'key'?: (string);
  /**
   * a Task of packages/analysis/src/plan.ts
   */
  'taskJson'?: (string);
  /**
   * "layer" | "weights-only" (the job's spec.convention; empty = "layer")
   */
  'convention'?: (string);
}

export interface RunTaskRequest__Output {
  'jobId': (string);
  /**
   * from PrepareReply
   */
  'key': (string);
  /**
   * a Task of packages/analysis/src/plan.ts
   */
  'taskJson': (string);
  /**
   * "layer" | "weights-only" (the job's spec.convention; empty = "layer")
   */
  'convention': (string);
}
