import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { AnalysisSpec as _hessian_v1_AnalysisSpec, AnalysisSpec__Output as _hessian_v1_AnalysisSpec__Output } from './hessian/v1/AnalysisSpec.js';
import type { DensitySpec as _hessian_v1_DensitySpec, DensitySpec__Output as _hessian_v1_DensitySpec__Output } from './hessian/v1/DensitySpec.js';
import type { LayerSelection as _hessian_v1_LayerSelection, LayerSelection__Output as _hessian_v1_LayerSelection__Output } from './hessian/v1/LayerSelection.js';
import type { NameList as _hessian_v1_NameList, NameList__Output as _hessian_v1_NameList__Output } from './hessian/v1/NameList.js';
import type { Progress as _hessian_v1_Progress, Progress__Output as _hessian_v1_Progress__Output } from './hessian/v1/Progress.js';
import type { TopKSpec as _hessian_v1_TopKSpec, TopKSpec__Output as _hessian_v1_TopKSpec__Output } from './hessian/v1/TopKSpec.js';
import type { TraceSpec as _hessian_v1_TraceSpec, TraceSpec__Output as _hessian_v1_TraceSpec__Output } from './hessian/v1/TraceSpec.js';
import type { VectorChunk as _hessian_v1_VectorChunk, VectorChunk__Output as _hessian_v1_VectorChunk__Output } from './hessian/v1/VectorChunk.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  hessian: {
    v1: {
      AnalysisSpec: MessageTypeDefinition<_hessian_v1_AnalysisSpec, _hessian_v1_AnalysisSpec__Output>
      DensitySpec: MessageTypeDefinition<_hessian_v1_DensitySpec, _hessian_v1_DensitySpec__Output>
      LayerSelection: MessageTypeDefinition<_hessian_v1_LayerSelection, _hessian_v1_LayerSelection__Output>
      NameList: MessageTypeDefinition<_hessian_v1_NameList, _hessian_v1_NameList__Output>
      Progress: MessageTypeDefinition<_hessian_v1_Progress, _hessian_v1_Progress__Output>
      TopKSpec: MessageTypeDefinition<_hessian_v1_TopKSpec, _hessian_v1_TopKSpec__Output>
      TraceSpec: MessageTypeDefinition<_hessian_v1_TraceSpec, _hessian_v1_TraceSpec__Output>
      VectorChunk: MessageTypeDefinition<_hessian_v1_VectorChunk, _hessian_v1_VectorChunk__Output>
    }
  }
}

