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

  // The tracked rows of the accumulated rotation matrix Z (Z starts as I; column i becomes
  // eigenvector i), stored by column: cols[i][t] = Z[rowIdx[t]][i], so a plane rotation of
  // columns i and i+1 runs over two contiguous arrays (with every row tracked, row-wise storage
  // made each rotation touch n arrays: 7-50 ms for a 100-step Lanczos matrix, now about 1 ms).
  const rowIdx: number[] = opts.vectors ? Array.from({ length: n }, (_, i) => i) : n === 1 ? [0] : [0, n - 1];
  const tracked = rowIdx.length;
  const cols = Array.from({ length: n }, () => new Float64Array(tracked));
  rowIdx.forEach((r, t) => {
    cols[r][t] = 1;
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
          const zi = cols[i];
          const zj = cols[i + 1];
          for (let t = 0; t < tracked; t++) {
            const a = zi[t];
            const b = zj[t];
            zj[t] = s * a + c * b;
            zi[t] = c * a - s * b;
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
  const first = Float64Array.from(order, (i) => cols[i][0]);
  const last = Float64Array.from(order, (i) => cols[i][tracked - 1]);
  let vectors: Float64Array[] | undefined;
  if (opts.vectors) {
    vectors = order.map((col) => cols[col]);
  }
  return { values, firstComponents: first, lastComponents: last, vectors };
}

/**
 * Unit eigenvectors of the symmetric tridiagonal T for the given eigenvalues (from
 * tridiagonalEigen), by inverse iteration as LAPACK's dstein does: each solve of
 * (T - theta I) x = y is Gaussian elimination with partial pivoting, O(m); a vector whose
 * eigenvalue lies within 1e-3 ||T||_1 of an earlier one's is orthogonalized against it after each
 * solve (clusters and repeated values). Ritz vectors need a few eigenvectors of a 100-300-step
 * T, where accumulating every rotation of the QL iteration (tridiagonalEigen's `vectors`) costs
 * O(m^3), mostly in cold code: 40 ms on the first call for m = 100.
 */
export function tridiagonalEigenvectors(alpha: ArrayLike<number>, beta: ArrayLike<number>, thetas: readonly number[]): Float64Array[] {
  const n = alpha.length;
  if (beta.length < n - 1) throw new RangeError(`tridiagonalEigenvectors: need ${n - 1} off-diagonal entries, got ${beta.length}`);
  let tnorm = 0;
  for (let i = 0; i < n; i++) tnorm = Math.max(tnorm, Math.abs(alpha[i]) + (i > 0 ? Math.abs(beta[i - 1]) : 0) + (i < n - 1 ? Math.abs(beta[i]) : 0));
  // (a zero T, e.g. a zero operator's one-step run, still gets a finite pivot)
  const tiny = (tnorm > 0 ? tnorm : 1) * 2 ** -52;
  const cluster = 1e-3 * tnorm;
  // LU with partial pivoting of T - theta I: row i holds u0 (diagonal), u1, u2 (fill-in) and
  // the multiplier l of the elimination below it; swap[i] says whether rows i and i+1 swapped.
  const u0 = new Float64Array(n);
  const u1 = new Float64Array(n);
  const u2 = new Float64Array(n);
  const l = new Float64Array(n);
  const swap = new Uint8Array(n);
  const out: Float64Array[] = [];
  for (const theta of thetas) {
    let d = alpha[0] - theta;
    let up = n > 1 ? beta[0] : 0;
    for (let i = 0; i < n - 1; i++) {
      const sub = beta[i];
      const nextD = alpha[i + 1] - theta;
      const nextUp = i + 1 < n - 1 ? beta[i + 1] : 0;
      if (Math.abs(d) >= Math.abs(sub)) {
        swap[i] = 0;
        const m = d === 0 ? 0 : sub / d;
        l[i] = m;
        u0[i] = d;
        u1[i] = up;
        u2[i] = 0;
        d = nextD - m * up;
        up = nextUp;
      } else {
        swap[i] = 1;
        const m = d / sub;
        l[i] = m;
        u0[i] = sub;
        u1[i] = nextD;
        u2[i] = nextUp;
        d = up - m * nextD;
        up = -m * nextUp;
      }
      if (Math.abs(u0[i]) < tiny) u0[i] = tiny;
    }
    u0[n - 1] = Math.abs(d) < tiny ? tiny : d;
    // Start from a fixed vector with no special structure (dstein starts from random ones).
    const x = Float64Array.from({ length: n }, (_, i) => 1 + 0.5 * Math.sin(1.7 * i + 0.3));
    const near = out.filter((_, j) => Math.abs(thetas[j] - theta) <= cluster);
    for (let it = 0; it < 3; it++) {
      // Forward: apply the row swaps and multipliers to the right-hand side.
      for (let i = 0; i < n - 1; i++) {
        if (swap[i]) {
          const t = x[i];
          x[i] = x[i + 1];
          x[i + 1] = t - l[i] * x[i];
        } else {
          x[i + 1] -= l[i] * x[i];
        }
      }
      // Back substitution with the upper band (u0, u1, u2).
      for (let i = n - 1; i >= 0; i--) {
        let s = x[i];
        if (i + 1 < n) s -= u1[i] * x[i + 1];
        if (i + 2 < n) s -= u2[i] * x[i + 2];
        x[i] = s / u0[i];
      }
      for (const v of near) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += v[i] * x[i];
        for (let i = 0; i < n; i++) x[i] -= dot * v[i];
      }
      let s = 0;
      for (let i = 0; i < n; i++) s += x[i] * x[i];
      const inv = 1 / Math.sqrt(s);
      for (let i = 0; i < n; i++) x[i] *= inv;
    }
    out.push(x);
  }
  return out;
}
