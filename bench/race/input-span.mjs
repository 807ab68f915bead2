// A measured prototype, not the product: the MLP's Hessian restricted to the row space of its
// 256 input images. The loss depends on the first layer's kernel W1 only through x W1, so every
// W1 direction orthogonal to the images' span (784 - 256 input dimensions x 256 units = 135,168
// directions) is an exact zero eigenvector of H. Lanczos / SLQ on the rest (99,978 dimensions:
// W1 = U W~ with U an orthonormal basis of the span, products with xU in place of x) gives the
// same nonzero spectrum for less: this script times a 100-step SLQ run (partial reorthogonalization,
// float32 basis, as the report runs it) of both operators, each product a hand-fused R-op pass on
// the addon's GEMM (the same code for both). See bench/race/README.md; never in CI.
//   npx tsc -b && node bench/race/input-span.mjs
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { table } from '../lib/table.mjs';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const req = createRequire(import.meta.url);
const A = req('../../packages/native/build/Release/hessian_native.node');
const { initBackend, loadModel, loadDataset } = await import('@hessian/engine');
const { Rng, slqRun } = await import('@hessian/linalg');
await initBackend('native', {});
(await import('@hessian/native')).setThreads(1);
const model = await loadModel('zoo:mlp', { seed: 0 });
const data = await loadDataset('fashion-mnist:train[0:256]');
const M = 256, C = 10;
const P = model.getFlatParams();
const x = Float32Array.from(data.x);
// row space of x: Gram-Schmidt (twice) over its 256 rows of 784
let t0 = performance.now();
const U = [];
for (let i = 0; i < M; i++) {
  const v = Float64Array.from(x.subarray(i * 784, (i + 1) * 784));
  const n0 = Math.hypot(...v);
  for (let pass = 0; pass < 2; pass++) for (const u of U) { let d = 0; for (let j = 0; j < 784; j++) d += u[j] * v[j]; for (let j = 0; j < 784; j++) v[j] -= d * u[j]; }
  const n1 = Math.hypot(...v);
  if (n1 > 1e-9 * n0) { for (let j = 0; j < 784; j++) v[j] /= n1; U.push(v); }
}
const r = U.length;
const xU = new Float32Array(M * r);
for (let i = 0; i < M; i++) for (let k = 0; k < r; k++) { let d = 0; for (let j = 0; j < 784; j++) d += x[i * 784 + j] * U[k][j]; xU[i * r + k] = d; }
console.log(`rank ${r}, basis in ${(performance.now() - t0).toFixed(0)} ms`);
const gemm = (a, b, out, m, n, k, tA, tB) => A.gemm(a, b, out, 1, 1, m, n, k, tA, tB, null, 0, 0, 0);
function makeOp(d0, a0) {
  const dims = [d0, 256, 128, 10];
  const offs = []; { let o = 0; for (let l = 0; l < 3; l++) { offs.push([o, o + dims[l] * dims[l + 1]]); o += dims[l] * dims[l + 1] + dims[l + 1]; } }
  const dim = offs[2][1] + 10;
  const Wfull = (l) => { const o = l === 0 ? 0 : 784 * 256 + 256 + (l === 2 ? 256 * 128 + 128 : 0); return P.subarray(o, o + [784, 256, 128][l] * [256, 128, 10][l]); };
  const Bfull = (l) => { const o = [784 * 256, 784 * 256 + 256 + 256 * 128, 784 * 256 + 256 + 256 * 128 + 128 + 1280][l]; return P.subarray(o, o + [256, 128, 10][l]); };
  const W = (arr, l) => arr.subarray(offs[l][0], offs[l][0] + dims[l] * dims[l + 1]);
  const B = (arr, l) => arr.subarray(offs[l][1], offs[l][1] + dims[l + 1]);
  // forward cache from the full input (the same for both)
  const act = [x]; const z = [];
  for (let l = 0; l < 3; l++) { const n = dims[l + 1]; const zl = new Float32Array(M * n); gemm(act[l], Wfull(l), zl, M, n, [784, 256, 128][l], false, false); const b = Bfull(l); for (let i = 0; i < M; i++) for (let j = 0; j < n; j++) zl[i * n + j] += b[j]; z.push(zl); act.push(l < 2 ? zl.map((v) => (v > 0 ? v : 0)) : zl); }
  const p = new Float32Array(M * C);
  for (let i = 0; i < M; i++) { let mx = -Infinity; for (let j = 0; j < C; j++) mx = Math.max(mx, act[3][i * C + j]); let s = 0; for (let j = 0; j < C; j++) { p[i * C + j] = Math.exp(act[3][i * C + j] - mx); s += p[i * C + j]; } for (let j = 0; j < C; j++) p[i * C + j] /= s; }
  const delta = [null, null, new Float32Array(M * C)];
  for (let i = 0; i < M; i++) for (let j = 0; j < C; j++) delta[2][i * C + j] = (p[i * C + j] - (data.labels[i] === j ? 1 : 0)) / M;
  for (let l = 2; l > 0; l--) { const g = new Float32Array(M * dims[l]); gemm(delta[l], Wfull(l), g, M, dims[l], dims[l + 1], false, true); for (let i = 0; i < g.length; i++) g[i] = z[l - 1][i] > 0 ? g[i] : 0; delta[l - 1] = g; }
  act[0] = a0;
  const Rz = dims.slice(1).map((d) => new Float32Array(M * d)), Ra = dims.slice(1).map((d) => new Float32Array(M * d)), Rd = dims.slice(1).map((d) => new Float32Array(M * d)), T = dims.slice(1).map((d) => new Float32Array(M * d)), T2 = [0, 1, 2].map((l) => new Float32Array(dims[l] * dims[l + 1]));
  const matvec = async (v) => {
    const out = new Float32Array(dim);
    for (let l = 0; l < 3; l++) {
      const n = dims[l + 1], k = dims[l];
      gemm(act[l], W(v, l), Rz[l], M, n, k, false, false);
      if (l > 0) { gemm(Ra[l - 1], Wfull(l), T[l], M, n, k, false, false); const a = Rz[l], t = T[l]; for (let i = 0; i < a.length; i++) a[i] += t[i]; }
      const b = B(v, l), a = Rz[l]; for (let i = 0; i < M; i++) for (let j = 0; j < n; j++) a[i * n + j] += b[j];
      if (l < 2) { const rr = Ra[l], zz = z[l]; for (let i = 0; i < a.length; i++) rr[i] = zz[i] > 0 ? a[i] : 0; }
    }
    const rz = Rz[2], d = Rd[2];
    for (let i = 0; i < M; i++) { let s = 0; for (let j = 0; j < C; j++) s += p[i * C + j] * rz[i * C + j]; for (let j = 0; j < C; j++) d[i * C + j] = (p[i * C + j] * (rz[i * C + j] - s)) / M; }
    for (let l = 2; l >= 0; l--) {
      const n = dims[l + 1], k = dims[l];
      const gw = W(out, l);
      gemm(act[l], Rd[l], gw, k, n, M, true, false);
      if (l > 0) { const t = T2[l]; gemm(Ra[l - 1], delta[l], t, k, n, M, true, false); for (let i = 0; i < k * n; i++) gw[i] += t[i]; }
      const gb = B(out, l); const rd = Rd[l]; for (let i = 0; i < M; i++) for (let j = 0; j < n; j++) gb[j] += rd[i * n + j];
      if (l > 0) { const g = Rd[l - 1]; gemm(Rd[l], Wfull(l), g, M, k, n, false, true); const t = T[l - 1]; gemm(delta[l], W(v, l), t, M, k, n, false, true); const zz = z[l - 1]; for (let i = 0; i < g.length; i++) g[i] = zz[i] > 0 ? g[i] + t[i] : 0; }
    }
    return out;
  };
  return { dim, matvec };
}
const full = makeOp(784, x), red = makeOp(r, xU);
const rows = [];
for (let rep = 0; rep < 3; rep++) {
  for (const [name, op] of [['whole space', full], ['images\' span', red]]) {
    t0 = performance.now();
    const s = await slqRun(op, { steps: 100, rng: new Rng(5), basis: 'float32', reorth: 'partial', top: { k: 1, tol: 1e-3 } });
    rows.push({ operator: name, dim: op.dim, seconds: (performance.now() - t0) / 1000, topNode: Math.max(...s.nodes) });
  }
}
table(`MLP full network, 256 images: 100-step SLQ (input rank ${r}, ${full.dim - red.dim} exact zero directions)`, ['operator', 'dim', 'seconds', 'top node'], rows.map((o) => [o.operator, o.dim, o.seconds, o.topNode.toFixed(7)]));
writeFileSync(join(ROOT, 'bench/results/input-span.json'), JSON.stringify({ bench: 'input-span', date: new Date().toISOString(), rank: r, nullDirections: full.dim - red.dim, rows }, null, 2) + '\n');
console.log('wrote bench/results/input-span.json');
