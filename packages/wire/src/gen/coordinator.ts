import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { AnalysisSpec as _hessian_v1_AnalysisSpec, AnalysisSpec__Output as _hessian_v1_AnalysisSpec__Output } from './hessian/v1/AnalysisSpec.js';
import type { CancelJobRequest as _hessian_v1_CancelJobRequest, CancelJobRequest__Output as _hessian_v1_CancelJobRequest__Output } from './hessian/v1/CancelJobRequest.js';
import type { CoordinatorClient as _hessian_v1_CoordinatorClient, CoordinatorDefinition as _hessian_v1_CoordinatorDefinition } from './hessian/v1/Coordinator.js';
import type { DensitySpec as _hessian_v1_DensitySpec, DensitySpec__Output as _hessian_v1_DensitySpec__Output } from './hessian/v1/DensitySpec.js';
import type { FileChunk as _hessian_v1_FileChunk, FileChunk__Output as _hessian_v1_FileChunk__Output } from './hessian/v1/FileChunk.js';
import type { GetJobRequest as _hessian_v1_GetJobRequest, GetJobRequest__Output as _hessian_v1_GetJobRequest__Output } from './hessian/v1/GetJobRequest.js';
import type { Job as _hessian_v1_Job, Job__Output as _hessian_v1_Job__Output } from './hessian/v1/Job.js';
import type { JobEvent as _hessian_v1_JobEvent, JobEvent__Output as _hessian_v1_JobEvent__Output } from './hessian/v1/JobEvent.js';
import type { LayerSelection as _hessian_v1_LayerSelection, LayerSelection__Output as _hessian_v1_LayerSelection__Output } from './hessian/v1/LayerSelection.js';
import type { ListJobsReply as _hessian_v1_ListJobsReply, ListJobsReply__Output as _hessian_v1_ListJobsReply__Output } from './hessian/v1/ListJobsReply.js';
import type { ListJobsRequest as _hessian_v1_ListJobsRequest, ListJobsRequest__Output as _hessian_v1_ListJobsRequest__Output } from './hessian/v1/ListJobsRequest.js';
import type { ListWorkersReply as _hessian_v1_ListWorkersReply, ListWorkersReply__Output as _hessian_v1_ListWorkersReply__Output } from './hessian/v1/ListWorkersReply.js';
import type { ListWorkersRequest as _hessian_v1_ListWorkersRequest, ListWorkersRequest__Output as _hessian_v1_ListWorkersRequest__Output } from './hessian/v1/ListWorkersRequest.js';
import type { NameList as _hessian_v1_NameList, NameList__Output as _hessian_v1_NameList__Output } from './hessian/v1/NameList.js';
import type { Progress as _hessian_v1_Progress, Progress__Output as _hessian_v1_Progress__Output } from './hessian/v1/Progress.js';
import type { SubmitAnalysisRequest as _hessian_v1_SubmitAnalysisRequest, SubmitAnalysisRequest__Output as _hessian_v1_SubmitAnalysisRequest__Output } from './hessian/v1/SubmitAnalysisRequest.js';
import type { TopKSpec as _hessian_v1_TopKSpec, TopKSpec__Output as _hessian_v1_TopKSpec__Output } from './hessian/v1/TopKSpec.js';
import type { TraceSpec as _hessian_v1_TraceSpec, TraceSpec__Output as _hessian_v1_TraceSpec__Output } from './hessian/v1/TraceSpec.js';
import type { UploadFileEntry as _hessian_v1_UploadFileEntry, UploadFileEntry__Output as _hessian_v1_UploadFileEntry__Output } from './hessian/v1/UploadFileEntry.js';
import type { UploadModelChunk as _hessian_v1_UploadModelChunk, UploadModelChunk__Output as _hessian_v1_UploadModelChunk__Output } from './hessian/v1/UploadModelChunk.js';
import type { UploadModelHeader as _hessian_v1_UploadModelHeader, UploadModelHeader__Output as _hessian_v1_UploadModelHeader__Output } from './hessian/v1/UploadModelHeader.js';
import type { UploadModelReply as _hessian_v1_UploadModelReply, UploadModelReply__Output as _hessian_v1_UploadModelReply__Output } from './hessian/v1/UploadModelReply.js';
import type { VectorChunk as _hessian_v1_VectorChunk, VectorChunk__Output as _hessian_v1_VectorChunk__Output } from './hessian/v1/VectorChunk.js';
import type { WatchJobRequest as _hessian_v1_WatchJobRequest, WatchJobRequest__Output as _hessian_v1_WatchJobRequest__Output } from './hessian/v1/WatchJobRequest.js';
import type { WorkerInfo as _hessian_v1_WorkerInfo, WorkerInfo__Output as _hessian_v1_WorkerInfo__Output } from './hessian/v1/WorkerInfo.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  hessian: {
    v1: {
      AnalysisSpec: MessageTypeDefinition<_hessian_v1_AnalysisSpec, _hessian_v1_AnalysisSpec__Output>
      CancelJobRequest: MessageTypeDefinition<_hessian_v1_CancelJobRequest, _hessian_v1_CancelJobRequest__Output>
      Coordinator: SubtypeConstructor<typeof grpc.Client, _hessian_v1_CoordinatorClient> & { service: _hessian_v1_CoordinatorDefinition }
      DensitySpec: MessageTypeDefinition<_hessian_v1_DensitySpec, _hessian_v1_DensitySpec__Output>
      FileChunk: MessageTypeDefinition<_hessian_v1_FileChunk, _hessian_v1_FileChunk__Output>
      GetJobRequest: MessageTypeDefinition<_hessian_v1_GetJobRequest, _hessian_v1_GetJobRequest__Output>
      Job: MessageTypeDefinition<_hessian_v1_Job, _hessian_v1_Job__Output>
      JobEvent: MessageTypeDefinition<_hessian_v1_JobEvent, _hessian_v1_JobEvent__Output>
      JobState: EnumTypeDefinition
      LayerSelection: MessageTypeDefinition<_hessian_v1_LayerSelection, _hessian_v1_LayerSelection__Output>
      ListJobsReply: MessageTypeDefinition<_hessian_v1_ListJobsReply, _hessian_v1_ListJobsReply__Output>
      ListJobsRequest: MessageTypeDefinition<_hessian_v1_ListJobsRequest, _hessian_v1_ListJobsRequest__Output>
      ListWorkersReply: MessageTypeDefinition<_hessian_v1_ListWorkersReply, _hessian_v1_ListWorkersReply__Output>
      ListWorkersRequest: MessageTypeDefinition<_hessian_v1_ListWorkersRequest, _hessian_v1_ListWorkersRequest__Output>
      NameList: MessageTypeDefinition<_hessian_v1_NameList, _hessian_v1_NameList__Output>
      Progress: MessageTypeDefinition<_hessian_v1_Progress, _hessian_v1_Progress__Output>
      SubmitAnalysisRequest: MessageTypeDefinition<_hessian_v1_SubmitAnalysisRequest, _hessian_v1_SubmitAnalysisRequest__Output>
      TopKSpec: MessageTypeDefinition<_hessian_v1_TopKSpec, _hessian_v1_TopKSpec__Output>
      TraceSpec: MessageTypeDefinition<_hessian_v1_TraceSpec, _hessian_v1_TraceSpec__Output>
      UploadFileEntry: MessageTypeDefinition<_hessian_v1_UploadFileEntry, _hessian_v1_UploadFileEntry__Output>
      UploadModelChunk: MessageTypeDefinition<_hessian_v1_UploadModelChunk, _hessian_v1_UploadModelChunk__Output>
      UploadModelHeader: MessageTypeDefinition<_hessian_v1_UploadModelHeader, _hessian_v1_UploadModelHeader__Output>
      UploadModelReply: MessageTypeDefinition<_hessian_v1_UploadModelReply, _hessian_v1_UploadModelReply__Output>
      VectorChunk: MessageTypeDefinition<_hessian_v1_VectorChunk, _hessian_v1_VectorChunk__Output>
      WatchJobRequest: MessageTypeDefinition<_hessian_v1_WatchJobRequest, _hessian_v1_WatchJobRequest__Output>
      WorkerInfo: MessageTypeDefinition<_hessian_v1_WorkerInfo, _hessian_v1_WorkerInfo__Output>
    }
  }
}

