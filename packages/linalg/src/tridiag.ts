/**
 * Eigen-decomposition of a symmetric tridiagonal matrix (the Lanczos matrix T), in float64.
 *
 * Algorithm: implicit QL with Wilkinson-type shifts, as in EISPACK tql2 (Bowdler, Martin,
 * Reinsch and Wilkinson, Numer. Math. 11, 1968) and its JAMA transcription. Every plane
 * rotation is also applied to the rows of the eigenvector matrix we track. Lanczos needs only
 * the first row (SLQ weights are squared first components) and the last row (the Ritz residual
 * of Ritz pair i is |beta_m * s_last,i|), so by default only those two rows are carried:
 * O(m^2) work instead of O(m^3).
 */

export interface TridiagonalEigen {
  /** Eigenvalues, ascending. */
  values: Float64Array;
  /** First component of each unit eigenvector (same order as values). */
  firstComponents: Float64Array;
  /** Last component of each unit eigenvector (same order as values). */
  lastComponents: Float64Array;
  /** The unit eigenvectors themselves, when asked for (same order as values). */
  vectors?: Float64Array[];
}

/**
 * alpha: diagonal (length m); beta: off-diagonal (length m-1, beta[j] couples j and j+1).
 * Extra trailing entries of beta are ignored, so a Lanczos beta that includes the final
 * residual norm can be passed directly.
 */
export function tridiagonalEigen(
  alpha: ArrayLike<number>,
  beta: ArrayLike<number>,
  opts: { vectors?: boolean } = {},
): TridiagonalEigen {
  const n = alpha.length;
  if (n === 0) {
    const empty = new Float64Array(0);
    return { values: empty, firstComponents: empty, lastComponents: empty, vectors: opts.vectors ? [] : undefined };
  }
  if (beta.length < n - 1) throw new RangeError(`tridiagonalEigen: need ${n - 1} off-diagonal entries, got ${beta.length}`);

  const d = Float64Array.from(alpha);
  // e[i] couples i and i+1; e[n-1] = 0 (tql2's convention after its initial shift).
  const e = new Float64Array(n);
  for (let i = 0; i < n - 1; i++) e[i] = beta[i];

  // Rows of the accumulated rotation matrix Z (Z starts as I; column i becomes eigenvector i).
  const rowIdx: number[] = opts.vectors ? Array.from({ length: n }, (_, i) => i) : n === 1 ? [0] : [0, n - 1];
  const rows = rowIdx.map((r) => {
    const z = new Float64Array(n);
    z[r] = 1;
    return z;
  });

  const eps = 2 ** -52;
  let f = 0;
  let tst1 = 0;
  for (let l = 0; l < n; l++) {
    // Find a small subdiagonal element: the matrix splits there.
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]) > eps * tst1) m++;

    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 60) throw new Error(`tridiagonalEigen: no convergence for eigenvalue ${l} after 60 QL sweeps`);
        // Shift from the leading 2x2 block (the eigenvalue of it nearer d[l]).
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;

        // Implicit QL sweep from m-1 up to l, chasing the bulge with plane rotations.
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          for (const z of rows) {
            const zi1 = z[i + 1];
            z[i + 1] = s * z[i] + c * zi1;
            z[i] = c * z[i] - s * zi1;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }

  // Sort ascending, carrying the tracked rows along.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => d[a] - d[b]);
  const values = Float64Array.from(order, (i) => d[i]);
  const first = Float64Array.from(order, (i) => rows[0][i]);
  const last = Float64Array.from(order, (i) => rows[rows.length - 1][i]);
  let vectors: Float64Array[] | undefined;
  if (opts.vectors) {
    vectors = order.map((col) => Float64Array.from(rows, (z) => z[col]));
  }
  return { values, firstComponents: first, lastComponents: last, vectors };
}
