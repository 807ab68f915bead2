import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { AnalysisSpec as _hessian_v1_AnalysisSpec, AnalysisSpec__Output as _hessian_v1_AnalysisSpec__Output } from './hessian/v1/AnalysisSpec.js';
import type { DensitySpec as _hessian_v1_DensitySpec, DensitySpec__Output as _hessian_v1_DensitySpec__Output } from './hessian/v1/DensitySpec.js';
import type { GradientRequest as _hessian_v1_GradientRequest, GradientRequest__Output as _hessian_v1_GradientRequest__Output } from './hessian/v1/GradientRequest.js';
import type { HealthReply as _hessian_v1_HealthReply, HealthReply__Output as _hessian_v1_HealthReply__Output } from './hessian/v1/HealthReply.js';
import type { HealthRequest as _hessian_v1_HealthRequest, HealthRequest__Output as _hessian_v1_HealthRequest__Output } from './hessian/v1/HealthRequest.js';
import type { HvpRequest as _hessian_v1_HvpRequest, HvpRequest__Output as _hessian_v1_HvpRequest__Output } from './hessian/v1/HvpRequest.js';
import type { LayerSelection as _hessian_v1_LayerSelection, LayerSelection__Output as _hessian_v1_LayerSelection__Output } from './hessian/v1/LayerSelection.js';
import type { NameList as _hessian_v1_NameList, NameList__Output as _hessian_v1_NameList__Output } from './hessian/v1/NameList.js';
import type { PrepareReply as _hessian_v1_PrepareReply, PrepareReply__Output as _hessian_v1_PrepareReply__Output } from './hessian/v1/PrepareReply.js';
import type { PrepareRequest as _hessian_v1_PrepareRequest, PrepareRequest__Output as _hessian_v1_PrepareRequest__Output } from './hessian/v1/PrepareRequest.js';
import type { Progress as _hessian_v1_Progress, Progress__Output as _hessian_v1_Progress__Output } from './hessian/v1/Progress.js';
import type { RunTaskRequest as _hessian_v1_RunTaskRequest, RunTaskRequest__Output as _hessian_v1_RunTaskRequest__Output } from './hessian/v1/RunTaskRequest.js';
import type { TaskUpdate as _hessian_v1_TaskUpdate, TaskUpdate__Output as _hessian_v1_TaskUpdate__Output } from './hessian/v1/TaskUpdate.js';
import type { TopKSpec as _hessian_v1_TopKSpec, TopKSpec__Output as _hessian_v1_TopKSpec__Output } from './hessian/v1/TopKSpec.js';
import type { TraceSpec as _hessian_v1_TraceSpec, TraceSpec__Output as _hessian_v1_TraceSpec__Output } from './hessian/v1/TraceSpec.js';
import type { TrainAugment as _hessian_v1_TrainAugment, TrainAugment__Output as _hessian_v1_TrainAugment__Output } from './hessian/v1/TrainAugment.js';
import type { TrainGradientHeader as _hessian_v1_TrainGradientHeader, TrainGradientHeader__Output as _hessian_v1_TrainGradientHeader__Output } from './hessian/v1/TrainGradientHeader.js';
import type { TrainGradientReply as _hessian_v1_TrainGradientReply, TrainGradientReply__Output as _hessian_v1_TrainGradientReply__Output } from './hessian/v1/TrainGradientReply.js';
import type { TrainGradientRequest as _hessian_v1_TrainGradientRequest, TrainGradientRequest__Output as _hessian_v1_TrainGradientRequest__Output } from './hessian/v1/TrainGradientRequest.js';
import type { TrainGradientResult as _hessian_v1_TrainGradientResult, TrainGradientResult__Output as _hessian_v1_TrainGradientResult__Output } from './hessian/v1/TrainGradientResult.js';
import type { TrainHtr as _hessian_v1_TrainHtr, TrainHtr__Output as _hessian_v1_TrainHtr__Output } from './hessian/v1/TrainHtr.js';
import type { VectorChunk as _hessian_v1_VectorChunk, VectorChunk__Output as _hessian_v1_VectorChunk__Output } from './hessian/v1/VectorChunk.js';
import type { WorkerClient as _hessian_v1_WorkerClient, WorkerDefinition as _hessian_v1_WorkerDefinition } from './hessian/v1/Worker.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  hessian: {
    v1: {
      AnalysisSpec: MessageTypeDefinition<_hessian_v1_AnalysisSpec, _hessian_v1_AnalysisSpec__Output>
      DensitySpec: MessageTypeDefinition<_hessian_v1_DensitySpec, _hessian_v1_DensitySpec__Output>
      GradientRequest: MessageTypeDefinition<_hessian_v1_GradientRequest, _hessian_v1_GradientRequest__Output>
      HealthReply: MessageTypeDefinition<_hessian_v1_HealthReply, _hessian_v1_HealthReply__Output>
      HealthRequest: MessageTypeDefinition<_hessian_v1_HealthRequest, _hessian_v1_HealthRequest__Output>
      HvpRequest: MessageTypeDefinition<_hessian_v1_HvpRequest, _hessian_v1_HvpRequest__Output>
      LayerSelection: MessageTypeDefinition<_hessian_v1_LayerSelection, _hessian_v1_LayerSelection__Output>
      NameList: MessageTypeDefinition<_hessian_v1_NameList, _hessian_v1_NameList__Output>
      PrepareReply: MessageTypeDefinition<_hessian_v1_PrepareReply, _hessian_v1_PrepareReply__Output>
      PrepareRequest: MessageTypeDefinition<_hessian_v1_PrepareRequest, _hessian_v1_PrepareRequest__Output>
      Progress: MessageTypeDefinition<_hessian_v1_Progress, _hessian_v1_Progress__Output>
      RunTaskRequest: MessageTypeDefinition<_hessian_v1_RunTaskRequest, _hessian_v1_RunTaskRequest__Output>
      TaskUpdate: MessageTypeDefinition<_hessian_v1_TaskUpdate, _hessian_v1_TaskUpdate__Output>
      TopKSpec: MessageTypeDefinition<_hessian_v1_TopKSpec, _hessian_v1_TopKSpec__Output>
      TraceSpec: MessageTypeDefinition<_hessian_v1_TraceSpec, _hessian_v1_TraceSpec__Output>
      TrainAugment: MessageTypeDefinition<_hessian_v1_TrainAugment, _hessian_v1_TrainAugment__Output>
      TrainGradientHeader: MessageTypeDefinition<_hessian_v1_TrainGradientHeader, _hessian_v1_TrainGradientHeader__Output>
      TrainGradientReply: MessageTypeDefinition<_hessian_v1_TrainGradientReply, _hessian_v1_TrainGradientReply__Output>
      TrainGradientRequest: MessageTypeDefinition<_hessian_v1_TrainGradientRequest, _hessian_v1_TrainGradientRequest__Output>
      TrainGradientResult: MessageTypeDefinition<_hessian_v1_TrainGradientResult, _hessian_v1_TrainGradientResult__Output>
      TrainHtr: MessageTypeDefinition<_hessian_v1_TrainHtr, _hessian_v1_TrainHtr__Output>
      VectorChunk: MessageTypeDefinition<_hessian_v1_VectorChunk, _hessian_v1_VectorChunk__Output>
      Worker: SubtypeConstructor<typeof grpc.Client, _hessian_v1_WorkerClient> & { service: _hessian_v1_WorkerDefinition }
    }
  }
}

