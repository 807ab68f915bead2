// Original file: ../../proto/hessian/v1/coordinator.proto

import type { WorkerInfo as _hessian_v1_WorkerInfo, WorkerInfo__Output as _hessian_v1_WorkerInfo__Output } from '../../hessian/v1/WorkerInfo.js';

export interface ListWorkersReply {
  'workers'?: (_hessian_v1_WorkerInfo)[];
}

export interface ListWorkersReply__Output {
  'workers': (_hessian_v1_WorkerInfo__Output)[];
}
