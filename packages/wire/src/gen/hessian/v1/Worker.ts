// Original file: ../../proto/hessian/v1/worker.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { GradientRequest as _hessian_v1_GradientRequest, GradientRequest__Output as _hessian_v1_GradientRequest__Output } from '../../hessian/v1/GradientRequest.js';
import type { HealthReply as _hessian_v1_HealthReply, HealthReply__Output as _hessian_v1_HealthReply__Output } from '../../hessian/v1/HealthReply.js';
import type { HealthRequest as _hessian_v1_HealthRequest, HealthRequest__Output as _hessian_v1_HealthRequest__Output } from '../../hessian/v1/HealthRequest.js';
import type { HvpRequest as _hessian_v1_HvpRequest, HvpRequest__Output as _hessian_v1_HvpRequest__Output } from '../../hessian/v1/HvpRequest.js';
import type { PrepareReply as _hessian_v1_PrepareReply, PrepareReply__Output as _hessian_v1_PrepareReply__Output } from '../../hessian/v1/PrepareReply.js';
import type { PrepareRequest as _hessian_v1_PrepareRequest, PrepareRequest__Output as _hessian_v1_PrepareRequest__Output } from '../../hessian/v1/PrepareRequest.js';
import type { RunTaskRequest as _hessian_v1_RunTaskRequest, RunTaskRequest__Output as _hessian_v1_RunTaskRequest__Output } from '../../hessian/v1/RunTaskRequest.js';
import type { TaskUpdate as _hessian_v1_TaskUpdate, TaskUpdate__Output as _hessian_v1_TaskUpdate__Output } from '../../hessian/v1/TaskUpdate.js';
import type { TrainGradientReply as _hessian_v1_TrainGradientReply, TrainGradientReply__Output as _hessian_v1_TrainGradientReply__Output } from '../../hessian/v1/TrainGradientReply.js';
import type { TrainGradientRequest as _hessian_v1_TrainGradientRequest, TrainGradientRequest__Output as _hessian_v1_TrainGradientRequest__Output } from '../../hessian/v1/TrainGradientRequest.js';
import type { VectorChunk as _hessian_v1_VectorChunk, VectorChunk__Output as _hessian_v1_VectorChunk__Output } from '../../hessian/v1/VectorChunk.js';

export interface WorkerClient extends grpc.Client {
  /**
   * Gradient of the mean loss over this worker's shard.
   */
  Gradient(argument: _hessian_v1_GradientRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_hessian_v1_VectorChunk__Output>;
  Gradient(argument: _hessian_v1_GradientRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_hessian_v1_VectorChunk__Output>;
  /**
   * Gradient of the mean loss over this worker's shard.
   */
  gradient(argument: _hessian_v1_GradientRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_hessian_v1_VectorChunk__Output>;
  gradient(argument: _hessian_v1_GradientRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_hessian_v1_VectorChunk__Output>;
  
  Health(argument: _hessian_v1_HealthRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_HealthReply__Output>): grpc.ClientUnaryCall;
  Health(argument: _hessian_v1_HealthRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hessian_v1_HealthReply__Output>): grpc.ClientUnaryCall;
  Health(argument: _hessian_v1_HealthRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_HealthReply__Output>): grpc.ClientUnaryCall;
  Health(argument: _hessian_v1_HealthRequest, callback: grpc.requestCallback<_hessian_v1_HealthReply__Output>): grpc.ClientUnaryCall;
  health(argument: _hessian_v1_HealthRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_HealthReply__Output>): grpc.ClientUnaryCall;
  health(argument: _hessian_v1_HealthRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hessian_v1_HealthReply__Output>): grpc.ClientUnaryCall;
  health(argument: _hessian_v1_HealthRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_HealthReply__Output>): grpc.ClientUnaryCall;
  health(argument: _hessian_v1_HealthRequest, callback: grpc.requestCallback<_hessian_v1_HealthReply__Output>): grpc.ClientUnaryCall;
  
  /**
   * Data-parallel scope: the product of this worker's shard's Hessian (or a block of it) with v.
   */
  Hvp(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_hessian_v1_HvpRequest, _hessian_v1_VectorChunk__Output>;
  Hvp(options?: grpc.CallOptions): grpc.ClientDuplexStream<_hessian_v1_HvpRequest, _hessian_v1_VectorChunk__Output>;
  /**
   * Data-parallel scope: the product of this worker's shard's Hessian (or a block of it) with v.
   */
  hvp(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_hessian_v1_HvpRequest, _hessian_v1_VectorChunk__Output>;
  hvp(options?: grpc.CallOptions): grpc.ClientDuplexStream<_hessian_v1_HvpRequest, _hessian_v1_VectorChunk__Output>;
  
  /**
   * Loads (or finds in its cache) the model and data of a job and builds its engine.
   */
  Prepare(argument: _hessian_v1_PrepareRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_PrepareReply__Output>): grpc.ClientUnaryCall;
  Prepare(argument: _hessian_v1_PrepareRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hessian_v1_PrepareReply__Output>): grpc.ClientUnaryCall;
  Prepare(argument: _hessian_v1_PrepareRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_PrepareReply__Output>): grpc.ClientUnaryCall;
  Prepare(argument: _hessian_v1_PrepareRequest, callback: grpc.requestCallback<_hessian_v1_PrepareReply__Output>): grpc.ClientUnaryCall;
  /**
   * Loads (or finds in its cache) the model and data of a job and builds its engine.
   */
  prepare(argument: _hessian_v1_PrepareRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_PrepareReply__Output>): grpc.ClientUnaryCall;
  prepare(argument: _hessian_v1_PrepareRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_hessian_v1_PrepareReply__Output>): grpc.ClientUnaryCall;
  prepare(argument: _hessian_v1_PrepareRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_hessian_v1_PrepareReply__Output>): grpc.ClientUnaryCall;
  prepare(argument: _hessian_v1_PrepareRequest, callback: grpc.requestCallback<_hessian_v1_PrepareReply__Output>): grpc.ClientUnaryCall;
  
  /**
   * Runs one planned task; progress messages, then one result.
   */
  RunTask(argument: _hessian_v1_RunTaskRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_hessian_v1_TaskUpdate__Output>;
  RunTask(argument: _hessian_v1_RunTaskRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_hessian_v1_TaskUpdate__Output>;
  /**
   * Runs one planned task; progress messages, then one result.
   */
  runTask(argument: _hessian_v1_RunTaskRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_hessian_v1_TaskUpdate__Output>;
  runTask(argument: _hessian_v1_RunTaskRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_hessian_v1_TaskUpdate__Output>;
  
  /**
   * Cluster trainer (services/trainer): one training step on one shard of a minibatch.
   * Request: a header, then the weights as float32 chunks. Reply: a result, then the
   * gradient of this shard's mean CE + gamma * HTR (with the step's probes) as chunks.
   * The trainer weights shard i by n_i / n and sums (the batch loss is a mean, and
   * Tr H_batch = sum_i (n_i/n) Tr H_i with the same probes on every shard).
   */
  TrainGradient(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_hessian_v1_TrainGradientRequest, _hessian_v1_TrainGradientReply__Output>;
  TrainGradient(options?: grpc.CallOptions): grpc.ClientDuplexStream<_hessian_v1_TrainGradientRequest, _hessian_v1_TrainGradientReply__Output>;
  /**
   * Cluster trainer (services/trainer): one training step on one shard of a minibatch.
   * Request: a header, then the weights as float32 chunks. Reply: a result, then the
   * gradient of this shard's mean CE + gamma * HTR (with the step's probes) as chunks.
   * The trainer weights shard i by n_i / n and sums (the batch loss is a mean, and
   * Tr H_batch = sum_i (n_i/n) Tr H_i with the same probes on every shard).
   */
  trainGradient(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_hessian_v1_TrainGradientRequest, _hessian_v1_TrainGradientReply__Output>;
  trainGradient(options?: grpc.CallOptions): grpc.ClientDuplexStream<_hessian_v1_TrainGradientRequest, _hessian_v1_TrainGradientReply__Output>;
  
}

export interface WorkerHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Gradient of the mean loss over this worker's shard.
   */
  Gradient: grpc.handleServerStreamingCall<_hessian_v1_GradientRequest__Output, _hessian_v1_VectorChunk>;
  
  Health: grpc.handleUnaryCall<_hessian_v1_HealthRequest__Output, _hessian_v1_HealthReply>;
  
  /**
   * Data-parallel scope: the product of this worker's shard's Hessian (or a block of it) with v.
   */
  Hvp: grpc.handleBidiStreamingCall<_hessian_v1_HvpRequest__Output, _hessian_v1_VectorChunk>;
  
  /**
   * Loads (or finds in its cache) the model and data of a job and builds its engine.
   */
  Prepare: grpc.handleUnaryCall<_hessian_v1_PrepareRequest__Output, _hessian_v1_PrepareReply>;
  
  /**
   * Runs one planned task; progress messages, then one result.
   */
  RunTask: grpc.handleServerStreamingCall<_hessian_v1_RunTaskRequest__Output, _hessian_v1_TaskUpdate>;
  
  /**
   * Cluster trainer (services/trainer): one training step on one shard of a minibatch.
   * Request: a header, then the weights as float32 chunks. Reply: a result, then the
   * gradient of this shard's mean CE + gamma * HTR (with the step's probes) as chunks.
   * The trainer weights shard i by n_i / n and sums (the batch loss is a mean, and
   * Tr H_batch = sum_i (n_i/n) Tr H_i with the same probes on every shard).
   */
  TrainGradient: grpc.handleBidiStreamingCall<_hessian_v1_TrainGradientRequest__Output, _hessian_v1_TrainGradientReply>;
  
}

export interface WorkerDefinition extends grpc.ServiceDefinition {
  Gradient: MethodDefinition<_hessian_v1_GradientRequest, _hessian_v1_VectorChunk, _hessian_v1_GradientRequest__Output, _hessian_v1_VectorChunk__Output>
  Health: MethodDefinition<_hessian_v1_HealthRequest, _hessian_v1_HealthReply, _hessian_v1_HealthRequest__Output, _hessian_v1_HealthReply__Output>
  Hvp: MethodDefinition<_hessian_v1_HvpRequest, _hessian_v1_VectorChunk, _hessian_v1_HvpRequest__Output, _hessian_v1_VectorChunk__Output>
  Prepare: MethodDefinition<_hessian_v1_PrepareRequest, _hessian_v1_PrepareReply, _hessian_v1_PrepareRequest__Output, _hessian_v1_PrepareReply__Output>
  RunTask: MethodDefinition<_hessian_v1_RunTaskRequest, _hessian_v1_TaskUpdate, _hessian_v1_RunTaskRequest__Output, _hessian_v1_TaskUpdate__Output>
  TrainGradient: MethodDefinition<_hessian_v1_TrainGradientRequest, _hessian_v1_TrainGradientReply, _hessian_v1_TrainGradientRequest__Output, _hessian_v1_TrainGradientReply__Output>
}
