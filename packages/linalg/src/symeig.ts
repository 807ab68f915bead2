/**
 * Eigen-decomposition of a small dense symmetric matrix (cyclic Jacobi): the Rayleigh-Ritz step
 * of thick-restart Lanczos, whose projected matrix is no longer tridiagonal after a restart
 * (the kept Ritz values sit on the diagonal with an arrow of couplings to the next vector).
 * Sizes are tens, so O(m^3) per sweep is nothing next to one operator product.
 */
export interface SymmetricEigen {
  /** Ascending. */
  values: Float64Array;
  /** vectors[i] is the unit eigenvector of values[i] (length m). */
  vectors: Float64Array[];
}

/** a: m x m row-major symmetric (only read). Accurate to a few ulps of ||a||. */
export function symmetricEigen(a: ArrayLike<number>, m: number): SymmetricEigen {
  const s = Float64Array.from(a);
  const v = new Float64Array(m * m);
  for (let i = 0; i < m; i++) v[i * m + i] = 1;
  let total = 0;
  for (let i = 0; i < m * m; i++) total += s[i] * s[i];
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < m; p++) for (let q = p + 1; q < m; q++) off += s[p * m + q] * s[p * m + q];
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < m - 1; p++) {
      for (let q = p + 1; q < m; q++) {
        const apq = s[p * m + q];
        if (apq === 0) continue;
        const theta = (s[q * m + q] - s[p * m + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const sn = t * c;
        // Rotate rows and columns p, q of s, and columns p, q of v.
        for (let k = 0; k < m; k++) {
          const skp = s[k * m + p];
          const skq = s[k * m + q];
          s[k * m + p] = c * skp - sn * skq;
          s[k * m + q] = sn * skp + c * skq;
        }
        for (let k = 0; k < m; k++) {
          const spk = s[p * m + k];
          const sqk = s[q * m + k];
          s[p * m + k] = c * spk - sn * sqk;
          s[q * m + k] = sn * spk + c * sqk;
        }
        for (let k = 0; k < m; k++) {
          const vkp = v[k * m + p];
          const vkq = v[k * m + q];
          v[k * m + p] = c * vkp - sn * vkq;
          v[k * m + q] = sn * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: m }, (_, i) => i).sort((x, y) => s[x * m + x] - s[y * m + y]);
  return {
    values: Float64Array.from(order, (i) => s[i * m + i]),
    vectors: order.map((i) => Float64Array.from({ length: m }, (_, k) => v[k * m + i])),
  };
}
