// Original file: ../../proto/hessian/v1/coordinator.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CancelJobRequest as _hessian_v1_CancelJobRequest, CancelJobRequest__Output as _hessian_v1_CancelJobRequest__Output } from '../../hessian/v1/CancelJobRequest.js';
import type { GetJobRequest as _hessian_v1_GetJobRequest, GetJobRequest__Output as _hessian_v1_GetJobRequest__Output } from '../../hessian/v1/GetJobRequest.js';
import type { Job as _hessian_v1_Job, Job__Output as _hessian_v1_Job__Output } from '../../hessian/v1/Job.js';
import type { JobEvent as _hessian_v1_JobEvent, JobEvent__Output as _hessian_v1_JobEvent__Output } from '../../hessian/v1/JobEvent.js';
import type { ListJobsReply as _hessian_v1_ListJobsReply, ListJobsReply__Output as _hessian_v1_ListJobsReply__Output } from '../../hessian/v1/ListJobsReply.js';
import type { ListJobsRequest as _hessian_v1_ListJobsRequest, ListJobsRequest__Output as _hessian_v1_ListJobsRequest__Output } from '../../hessian/v1/ListJobsRequest.js';
import type { ListWorkersReply as _hessian_v1_ListWorkersReply, ListWorkersReply__Output as _hessian_v1_ListWorkersReply__Output } from '../../hessian/v1/ListWorkersReply.js';
import type { ListWorkersRequest as _hessian_v1_ListWorkersRequest, ListWorkersRequest__Output as _hessian_v1_ListWorkersRequest__Output } from '../../hessian/v1/ListWorkersRequest.js';
import type { SubmitAnalysisRequest as _hessian_v1_SubmitAnalysisRequest, SubmitAnalysisRequest__Output as _hessian_v1_SubmitAnalysisRequest__Output } from '../../hessian/v1/SubmitAnalysisRequest.js';
import type { UploadModelChunk as _hessian_v1_UploadModelChunk, UploadModelChunk__Output as _hessian_v1_UploadModelChunk__Output } from '../../hessian/v1/UploadModelChunk.js';
import type { UploadModelReply as _hessian_v1_UploadModelReply, UploadModelReply__Output as _hessian_v1_UploadModelReply__Output } from '../../hessian/v1/UploadModelReply.js';
import type { WatchJobRequest as _hessian_v1_WatchJobRequest, WatchJobRequest__Output as _hessian_v1_WatchJobRequest__Output } from '../../hessian/v1/WatchJobRequest.js';

export interface CoordinatorClient extends grpc.Client {
  CancelJob(argument: _hessian_v1_CancelJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_Job__Output>): grpc.ClientUnaryCall;
  CancelJob(argument: _hessian_v1_CancelJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hessian_v1_Job__Output>): grpc.ClientUnaryCall;
  CancelJob(argument: _hessian_v1_CancelJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_Job__Output>): grpc.ClientUnaryCall;
  CancelJob(argument: _hessian_v1_CancelJobRequest, callback: grpc.requestCallback<_hessian_v1_Job__Output>): grpc.ClientUnaryCall;
  cancelJob(argument: _hessian_v1_CancelJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_Job__Output>): grpc.ClientUnaryCall;
  cancelJob(argument: _hessian_v1_CancelJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hessian_v1_Job__Output>): grpc.ClientUnaryCall;
  cancelJob(argument: _hessian_v1_CancelJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_Job__Output>): grpc.ClientUnaryCall;
  cancelJob(argument: _hessian_v1_CancelJobRequest, callback: grpc.requestCallback<_hessian_v1_Job__Output>): grpc.ClientUnaryCall;
  
  GetJob(argument: _hessian_v1_GetJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_Job__Output>): grpc.ClientUnaryCall;
  GetJob(argument: _hessian_v1_GetJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hessian_v1_Job__Output>): grpc.ClientUnaryCall;
  GetJob(argument: _hessian_v1_GetJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_Job__Output>): grpc.ClientUnaryCall;
  GetJob(argument: _hessian_v1_GetJobRequest, callback: grpc.requestCallback<_hessian_v1_Job__Output>): grpc.ClientUnaryCall;
  getJob(argument: _hessian_v1_GetJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_Job__Output>): grpc.ClientUnaryCall;
  getJob(argument: _hessian_v1_GetJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hessian_v1_Job__Output>): grpc.ClientUnaryCall;
  getJob(argument: _hessian_v1_GetJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_Job__Output>): grpc.ClientUnaryCall;
  getJob(argument: _hessian_v1_GetJobRequest, callback: grpc.requestCallback<_hessian_v1_Job__Output>): grpc.ClientUnaryCall;
  
  ListJobs(argument: _hessian_v1_ListJobsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_ListJobsReply__Output>): grpc.ClientUnaryCall;
  ListJobs(argument: _hessian_v1_ListJobsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hessian_v1_ListJobsReply__Output>): grpc.ClientUnaryCall;
  ListJobs(argument: _hessian_v1_ListJobsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_ListJobsReply__Output>): grpc.ClientUnaryCall;
  ListJobs(argument: _hessian_v1_ListJobsRequest, callback: grpc.requestCallback<_hessian_v1_ListJobsReply__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _hessian_v1_ListJobsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_ListJobsReply__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _hessian_v1_ListJobsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hessian_v1_ListJobsReply__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _hessian_v1_ListJobsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_ListJobsReply__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _hessian_v1_ListJobsRequest, callback: grpc.requestCallback<_hessian_v1_ListJobsReply__Output>): grpc.ClientUnaryCall;
  
  ListWorkers(argument: _hessian_v1_ListWorkersRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_ListWorkersReply__Output>): grpc.ClientUnaryCall;
  ListWorkers(argument: _hessian_v1_ListWorkersRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hessian_v1_ListWorkersReply__Output>): grpc.ClientUnaryCall;
  ListWorkers(argument: _hessian_v1_ListWorkersRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_ListWorkersReply__Output>): grpc.ClientUnaryCall;
  ListWorkers(argument: _hessian_v1_ListWorkersRequest, callback: grpc.requestCallback<_hessian_v1_ListWorkersReply__Output>): grpc.ClientUnaryCall;
  listWorkers(argument: _hessian_v1_ListWorkersRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_ListWorkersReply__Output>): grpc.ClientUnaryCall;
  listWorkers(argument: _hessian_v1_ListWorkersRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hessian_v1_ListWorkersReply__Output>): grpc.ClientUnaryCall;
  listWorkers(argument: _hessian_v1_ListWorkersRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_ListWorkersReply__Output>): grpc.ClientUnaryCall;
  listWorkers(argument: _hessian_v1_ListWorkersRequest, callback: grpc.requestCallback<_hessian_v1_ListWorkersReply__Output>): grpc.ClientUnaryCall;
  
  /**
   * Plans and queues an analysis. INVALID_ARGUMENT for a bad spec (the message names the
   * field), NOT_FOUND for an unknown model digest, RESOURCE_EXHAUSTED past the queue limit.
   */
  SubmitAnalysis(argument: _hessian_v1_SubmitAnalysisRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_Job__Output>): grpc.ClientUnaryCall;
  SubmitAnalysis(argument: _hessian_v1_SubmitAnalysisRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hessian_v1_Job__Output>): grpc.ClientUnaryCall;
  SubmitAnalysis(argument: _hessian_v1_SubmitAnalysisRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_Job__Output>): grpc.ClientUnaryCall;
  SubmitAnalysis(argument: _hessian_v1_SubmitAnalysisRequest, callback: grpc.requestCallback<_hessian_v1_Job__Output>): grpc.ClientUnaryCall;
  /**
   * Plans and queues an analysis. INVALID_ARGUMENT for a bad spec (the message names the
   * field), NOT_FOUND for an unknown model digest, RESOURCE_EXHAUSTED past the queue limit.
   */
  submitAnalysis(argument: _hessian_v1_SubmitAnalysisRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_Job__Output>): grpc.ClientUnaryCall;
  submitAnalysis(argument: _hessian_v1_SubmitAnalysisRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hessian_v1_Job__Output>): grpc.ClientUnaryCall;
  submitAnalysis(argument: _hessian_v1_SubmitAnalysisRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_Job__Output>): grpc.ClientUnaryCall;
  submitAnalysis(argument: _hessian_v1_SubmitAnalysisRequest, callback: grpc.requestCallback<_hessian_v1_Job__Output>): grpc.ClientUnaryCall;
  
  /**
   * A tfjs model: first message carries the header, then the files' bytes in chunks.
   * RESOURCE_EXHAUSTED past the size limit.
   */
  UploadModel(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_UploadModelReply__Output>): grpc.ClientWritableStream<_hessian_v1_UploadModelChunk>;
  UploadModel(metadata: grpc.Metadata, callback: grpc.requestCallback<_hessian_v1_UploadModelReply__Output>): grpc.ClientWritableStream<_hessian_v1_UploadModelChunk>;
  UploadModel(options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_UploadModelReply__Output>): grpc.ClientWritableStream<_hessian_v1_UploadModelChunk>;
  UploadModel(callback: grpc.requestCallback<_hessian_v1_UploadModelReply__Output>): grpc.ClientWritableStream<_hessian_v1_UploadModelChunk>;
  /**
   * A tfjs model: first message carries the header, then the files' bytes in chunks.
   * RESOURCE_EXHAUSTED past the size limit.
   */
  uploadModel(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_UploadModelReply__Output>): grpc.ClientWritableStream<_hessian_v1_UploadModelChunk>;
  uploadModel(metadata: grpc.Metadata, callback: grpc.requestCallback<_hessian_v1_UploadModelReply__Output>): grpc.ClientWritableStream<_hessian_v1_UploadModelChunk>;
  uploadModel(options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_UploadModelReply__Output>): grpc.ClientWritableStream<_hessian_v1_UploadModelChunk>;
  uploadModel(callback: grpc.requestCallback<_hessian_v1_UploadModelReply__Output>): grpc.ClientWritableStream<_hessian_v1_UploadModelChunk>;
  
  /**
   * Events of one job from the start (or from after_sequence), then live until it ends.
   */
  WatchJob(argument: _hessian_v1_WatchJobRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_hessian_v1_JobEvent__Output>;
  WatchJob(argument: _hessian_v1_WatchJobRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_hessian_v1_JobEvent__Output>;
  /**
   * Events of one job from the start (or from after_sequence), then live until it ends.
   */
  watchJob(argument: _hessian_v1_WatchJobRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_hessian_v1_JobEvent__Output>;
  watchJob(argument: _hessian_v1_WatchJobRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_hessian_v1_JobEvent__Output>;
  
}

export interface CoordinatorHandlers extends grpc.UntypedServiceImplementation {
  CancelJob: grpc.handleUnaryCall<_hessian_v1_CancelJobRequest__Output, _hessian_v1_Job>;
  
  GetJob: grpc.handleUnaryCall<_hessian_v1_GetJobRequest__Output, _hessian_v1_Job>;
  
  ListJobs: grpc.handleUnaryCall<_hessian_v1_ListJobsRequest__Output, _hessian_v1_ListJobsReply>;
  
  ListWorkers: grpc.handleUnaryCall<_hessian_v1_ListWorkersRequest__Output, _hessian_v1_ListWorkersReply>;
  
  /**
   * Plans and queues an analysis. INVALID_ARGUMENT for a bad spec (the message names the
   * field), NOT_FOUND for an unknown model digest, RESOURCE_EXHAUSTED past the queue limit.
   */
  SubmitAnalysis: grpc.handleUnaryCall<_hessian_v1_SubmitAnalysisRequest__Output, _hessian_v1_Job>;
  
  /**
   * A tfjs model: first message carries the header, then the files' bytes in chunks.
   * RESOURCE_EXHAUSTED past the size limit.
   */
  UploadModel: grpc.handleClientStreamingCall<_hessian_v1_UploadModelChunk__Output, _hessian_v1_UploadModelReply>;
  
  /**
   * Events of one job from the start (or from after_sequence), then live until it ends.
   */
  WatchJob: grpc.handleServerStreamingCall<_hessian_v1_WatchJobRequest__Output, _hessian_v1_JobEvent>;
  
}

export interface CoordinatorDefinition extends grpc.ServiceDefinition {
  CancelJob: MethodDefinition<_hessian_v1_CancelJobRequest, _hessian_v1_Job, _hessian_v1_CancelJobRequest__Output, _hessian_v1_Job__Output>
  GetJob: MethodDefinition<_hessian_v1_GetJobRequest, _hessian_v1_Job, _hessian_v1_GetJobRequest__Output, _hessian_v1_Job__Output>
  ListJobs: MethodDefinition<_hessian_v1_ListJobsRequest, _hessian_v1_ListJobsReply, _hessian_v1_ListJobsRequest__Output, _hessian_v1_ListJobsReply__Output>
  ListWorkers: MethodDefinition<_hessian_v1_ListWorkersRequest, _hessian_v1_ListWorkersReply, _hessian_v1_ListWorkersRequest__Output, _hessian_v1_ListWorkersReply__Output>
  SubmitAnalysis: MethodDefinition<_hessian_v1_SubmitAnalysisRequest, _hessian_v1_Job, _hessian_v1_SubmitAnalysisRequest__Output, _hessian_v1_Job__Output>
  UploadModel: MethodDefinition<_hessian_v1_UploadModelChunk, _hessian_v1_UploadModelReply, _hessian_v1_UploadModelChunk__Output, _hessian_v1_UploadModelReply__Output>
  WatchJob: MethodDefinition<_hessian_v1_WatchJobRequest, _hessian_v1_JobEvent, _hessian_v1_WatchJobRequest__Output, _hessian_v1_JobEvent__Output>
}
