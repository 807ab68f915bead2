/**
 * SGD with momentum and weight decay, exactly PyTorch's torch.optim.SGD (dampening 0,
 * nesterov off) on flat float32 vectors:
 *   d = g + weightDecay * theta          (L2 through the gradient, as PyTorch's weight_decay)
 *   buf = d                      on the first step, else  buf = momentum * buf + d
 *   theta = theta - lr * buf
 * Arithmetic is in float64 per entry, rounded to float32 on store, so a resumed run that
 * restores theta and buf bit for bit continues bit for bit.
 */
export interface SgdOptions {
  momentum: number;
  weightDecay: number;
}

export class Sgd {
  /** momentum buffer; null until the first step (PyTorch initializes it with d) */
  buf: Float32Array | null = null;

  constructor(
    readonly dim: number,
    readonly opts: SgdOptions,
  ) {}

  /** Updates theta in place with gradient g and learning rate lr. */
  step(theta: Float32Array, g: Float32Array, lr: number): void {
    const { momentum, weightDecay } = this.opts;
    if (theta.length !== this.dim || g.length !== this.dim) throw new Error(`Sgd.step: expected vectors of length ${this.dim}`);
    if (momentum === 0) {
      for (let i = 0; i < this.dim; i++) theta[i] = theta[i] - lr * (g[i] + weightDecay * theta[i]);
      return;
    }
    const first = this.buf === null;
    const buf = this.buf ?? new Float32Array(this.dim);
    for (let i = 0; i < this.dim; i++) {
      const d = g[i] + weightDecay * theta[i];
      buf[i] = first ? d : momentum * buf[i] + d;
      theta[i] = theta[i] - lr * buf[i];
    }
    this.buf = buf;
  }
}
