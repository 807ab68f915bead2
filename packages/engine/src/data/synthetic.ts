/**
 * Synthetic data: `synthetic:N` is N examples whose inputs are uniform in [0, 1) with the
 * per-example shape opts.inputShape (default [28, 28, 1]), and whose labels are
 *
 *     label = argmax_k  w_k . (x - 0.5)
 *
 * for a fixed random linear map W (unit-norm Gaussian rows). W depends only on the input
 * shape and the number of classes, never on the seed, so sets drawn with different seeds
 * (train and test, say) share one labelling rule that a linear model can learn exactly.
 * Example i's inputs come from its own sub-stream of the seed, so any slice of a synthetic
 * set equals the same slice of the whole set, and nothing outside the slice is stored.
 */
import { Rng } from '@hessian/linalg';

export class SyntheticSource {
  readonly dim: number;
  private readonly w: Float64Array;
  private readonly base: Rng;

  constructor(
    readonly inputShape: number[],
    readonly numClasses: number,
    readonly seed: number,
  ) {
    this.dim = inputShape.reduce((a, d) => a * d, 1);
    const mapRng = new Rng(0x5eed).fork(`synthetic-map/${inputShape.join('x')}/${numClasses}`);
    this.w = new Float64Array(numClasses * this.dim);
    for (let k = 0; k < numClasses; k++) {
      let norm = 0;
      for (let j = 0; j < this.dim; j++) {
        const v = mapRng.normal();
        this.w[k * this.dim + j] = v;
        norm += v * v;
      }
      const s = 1 / Math.sqrt(norm);
      for (let j = 0; j < this.dim; j++) this.w[k * this.dim + j] *= s;
    }
    this.base = new Rng(seed);
  }

  /** Writes example i's inputs into out[offset ..] and returns its label. */
  example(i: number, out: Float32Array, offset: number): number {
    const rng = this.base.fork(`x/${i}`);
    const d = this.dim;
    for (let j = 0; j < d; j++) out[offset + j] = rng.uniform();
    let best = 0;
    let bestScore = -Infinity;
    for (let k = 0; k < this.numClasses; k++) {
      let s = 0;
      const row = k * d;
      for (let j = 0; j < d; j++) s += this.w[row + j] * (out[offset + j] - 0.5);
      if (s > bestScore) {
        bestScore = s;
        best = k;
      }
    }
    return best;
  }
}
