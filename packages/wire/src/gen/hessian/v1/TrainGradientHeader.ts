// Original file: ../../proto/hessian/v1/worker.proto

import type { PrepareRequest as _hessian_v1_PrepareRequest, PrepareRequest__Output as _hessian_v1_PrepareRequest__Output } from '../../hessian/v1/PrepareRequest.js';
import type { TrainHtr as _hessian_v1_TrainHtr, TrainHtr__Output as _hessian_v1_TrainHtr__Output } from '../../hessian/v1/TrainHtr.js';
import type { TrainAugment as _hessian_v1_TrainAugment, TrainAugment__Output as _hessian_v1_TrainAugment__Output } from '../../hessian/v1/TrainAugment.js';
import type { Long } from '@grpc/proto-loader';

export interface TrainGradientHeader {
  /**
   * The training data: the worker prepares it (cached by key) when it does not hold it yet,
   * so a worker that restarted or evicted it needs no separate Prepare call.
   */
  'prepare'?: (_hessian_v1_PrepareRequest | null);
  /**
   * this shard's examples: indices into the training set, in minibatch order
   */
  'indices'?: (number)[];
  /**
   * absent: plain cross-entropy
   */
  'htr'?: (_hessian_v1_TrainHtr | null);
  /**
   * the run folder or id, for logs
   */
  'run'?: (string);
  /**
   * global step (0-based), for logs
   */
  'step'?: (number | string | Long);
  /**
   * absent: the examples as loaded
   */
  'augment'?: (_hessian_v1_TrainAugment | null);
}

export interface TrainGradientHeader__Output {
  /**
   * The training data: the worker prepares it (cached by key) when it does not hold it yet,
   * so a worker that restarted or evicted it needs no separate Prepare call.
   */
  'prepare': (_hessian_v1_PrepareRequest__Output | null);
  /**
   * this shard's examples: indices into the training set, in minibatch order
   */
  'indices': (number)[];
  /**
   * absent: plain cross-entropy
   */
  'htr': (_hessian_v1_TrainHtr__Output | null);
  /**
   * the run folder or id, for logs
   */
  'run': (string);
  /**
   * global step (0-based), for logs
   */
  'step': (number);
  /**
   * absent: the examples as loaded
   */
  'augment': (_hessian_v1_TrainAugment__Output | null);
}
