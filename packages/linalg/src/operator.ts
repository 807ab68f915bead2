/**
 * The one interface between numerical algorithms and whatever produces matrix-vector
 * products (a network Hessian, a layer block, a dense test matrix, a sum over shards).
 * Algorithms never see anything else, so they can be tested on dense matrices with
 * known spectra and reused unchanged on every engine and in every service.
 */
export interface LinearOperator {
  /** Dimension n of the (square, symmetric) operator. */
  readonly dim: number;
  /**
   * Returns A v for a vector of length `dim`. Must not modify `v` and must return a new
   * array (callers may keep both). Asynchronous because the product may run on another
   * thread, process or machine.
   */
  matvec(v: Float32Array): Promise<Float32Array>;
}

/** Wraps an operator and counts the products taken through it (the "HVP count" of reports). */
export class CountingOperator implements LinearOperator {
  count = 0;
  constructor(private readonly inner: LinearOperator) {}
  get dim(): number {
    return this.inner.dim;
  }
  matvec(v: Float32Array): Promise<Float32Array> {
    this.count++;
    return this.inner.matvec(v);
  }
}
