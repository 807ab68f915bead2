/**
 * The fixed split of a minibatch into shards, and the weighted sum of their results.
 *
 * The split depends on the minibatch and the shard count only (never on which workers are
 * alive), and the sum runs in shard order in float64, so a step's result does not change when
 * a worker dies and its shards are redone elsewhere.
 */
import type { ShardResult } from '@hessian/training';

/** Shard j of a minibatch of m examples: [floor(j m / S), floor((j+1) m / S)); empty when m < S. */
export function splitShards(indices: Int32Array, shards: number): Int32Array[] {
  const m = indices.length;
  return Array.from({ length: shards }, (_, j) => indices.subarray(Math.floor((j * m) / shards), Math.floor(((j + 1) * m) / shards)));
}

/**
 * The minibatch's result from its shards' (in shard order, empty shards left out): the loss,
 * the regularizer and the gradient are means over the minibatch, so shard i counts n_i / n
 * (the Hessian of the mean loss is sum_i (n_i/n) H_i, and every shard used the same probes).
 */
export function combineShards(parts: ShardResult[], dim: number): ShardResult {
  const n = parts.reduce((a, p) => a + p.examples, 0);
  const acc = new Float64Array(dim);
  let loss = 0;
  let reg = 0;
  let correct = 0;
  const hasReg = parts.some((p) => p.reg !== undefined);
  for (const p of parts) {
    if (p.grad.length !== dim) throw new Error(`a shard's gradient has ${p.grad.length} entries, the model ${dim}`);
    const w = p.examples / n;
    for (let i = 0; i < dim; i++) acc[i] += w * p.grad[i];
    loss += w * p.loss;
    reg += w * (p.reg ?? 0);
    correct += p.correct;
  }
  return { loss, ...(hasReg ? { reg } : {}), correct, examples: n, grad: Float32Array.from(acc) };
}
