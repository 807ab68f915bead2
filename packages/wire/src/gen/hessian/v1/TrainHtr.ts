// Original file: ../../proto/hessian/v1/worker.proto

import type { Long } from '@grpc/proto-loader';

/**
 * The step's Hessian-trace regularizer term. The worker draws the probes itself from
 * Rng(deriveSeed(seed, 'htr/<step>')), exactly as packages/training does, so every shard
 * (and the embedded trainer) uses the same probes.
 */
export interface TrainHtr {
  'gamma'?: (number | string);
  /**
   * K per block
   */
  'probes'?: (number);
  /**
   * all | middle | name,name,...
   */
  'layers'?: (string);
  /**
   * layer | weights-only
   */
  'convention'?: (string);
  /**
   * rademacher | gaussian
   */
  'dist'?: (string);
  /**
   * the run's seed
   */
  'seed'?: (number);
  /**
   * global step (0-based) whose probes to draw
   */
  'step'?: (number | string | Long);
}

/**
 * The step's Hessian-trace regularizer term. The worker draws the probes itself from
 * Rng(deriveSeed(seed, 'htr/<step>')), exactly as packages/training does, so every shard
 * (and the embedded trainer) uses the same probes.
 */
export interface TrainHtr__Output {
  'gamma': (number);
  /**
   * K per block
   */
  'probes': (number);
  /**
   * all | middle | name,name,...
   */
  'layers': (string);
  /**
   * layer | weights-only
   */
  'convention': (string);
  /**
   * rademacher | gaussian
   */
  'dist': (string);
  /**
   * the run's seed
   */
  'seed': (number);
  /**
   * global step (0-based) whose probes to draw
   */
  'step': (number);
}
