// Original file: ../../proto/hessian/v1/coordinator.proto

import type { Job as _hessian_v1_Job, Job__Output as _hessian_v1_Job__Output } from '../../hessian/v1/Job.js';

export interface ListJobsReply {
  'jobs'?: (_hessian_v1_Job)[];
}

export interface ListJobsReply__Output {
  'jobs': (_hessian_v1_Job__Output)[];
}
