// Original file: ../../proto/hessian/v1/worker.proto


export interface TaskUpdate {
  /**
   * fraction of the task done
   */
  'progress'?: (number | string);
  /**
   * a TaskResult of packages/analysis/src/execute.ts
   */
  'resultJson'?: (string);
  'update'?: "progress"|"resultJson";
}

export interface TaskUpdate__Output {
  /**
   * fraction of the task done
   */
  'progress'?: (number);
  /**
   * a TaskResult of packages/analysis/src/execute.ts
   */
  'resultJson'?: (string);
  'update'?: "progress"|"resultJson";
}
