// Original file: ../../proto/hessian/v1/worker.proto


/**
 * The step's data augmentation. The worker draws each example's flip/angle/shift itself from
 * Rng(deriveSeed(seed, 'augment/<epoch>')) by example index, exactly as packages/training
 * does (augment.ts), so every shard (and the embedded trainer) sees the same images.
 */
export interface TrainAugment {
  /**
   * flip,rotate:DEG,crop:PIX (canonical, in order)
   */
  'ops'?: (string);
  /**
   * the run's seed
   */
  'seed'?: (number);
  /**
   * 0-based epoch index
   */
  'epoch'?: (number);
}

/**
 * The step's data augmentation. The worker draws each example's flip/angle/shift itself from
 * Rng(deriveSeed(seed, 'augment/<epoch>')) by example index, exactly as packages/training
 * does (augment.ts), so every shard (and the embedded trainer) sees the same images.
 */
export interface TrainAugment__Output {
  /**
   * flip,rotate:DEG,crop:PIX (canonical, in order)
   */
  'ops': (string);
  /**
   * the run's seed
   */
  'seed': (number);
  /**
   * 0-based epoch index
   */
  'epoch': (number);
}
