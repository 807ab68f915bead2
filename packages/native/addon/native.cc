// N-API addon for the `native` TensorFlow.js backend (@hessian/native).
// All functions are synchronous and write into output typed arrays allocated in JS;
// the only native allocations are per-thread scratch buffers that are reused.
#include <napi.h>
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace {

// ---------------------------------------------------------------- helpers

struct F32 {
  float* p;
  size_t n;
};

inline F32 f32(const Napi::Value& v) {
  Napi::Float32Array a = v.As<Napi::Float32Array>();
  return {a.Data(), a.ElementLength()};
}

inline int64_t i64(const Napi::Value& v) { return v.As<Napi::Number>().Int64Value(); }
inline double dbl(const Napi::Value& v) { return v.As<Napi::Number>().DoubleValue(); }

std::vector<int64_t> shapeOf(const Napi::Value& v) {
  Napi::Array a = v.As<Napi::Array>();
  std::vector<int64_t> s(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) s[i] = a.Get(i).As<Napi::Number>().Int64Value();
  return s;
}

// Scratch memory reused across calls (kept at its high-water mark).
std::vector<float>& scratch(int which) {
  static thread_local std::vector<float> bufs[3];
  return bufs[which];
}
float* scratchPtr(int which, size_t n) {
  auto& v = scratch(which);
  if (v.size() < n) v.resize(n);
  return v.data();
}

// ---------------------------------------------------------------- threads

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  int n = static_cast<int>(i64(info[0]));
  if (n < 1) n = 1;
  openblas_set_num_threads(n);
  return info.Env().Undefined();
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), openblas_get_num_threads());
}

// ---------------------------------------------------------------- activations

enum Act { ACT_LINEAR = 0, ACT_RELU = 1, ACT_RELU6 = 2, ACT_LEAKY = 3, ACT_SIGMOID = 4, ACT_ELU = 5 };

inline void applyAct(float* y, size_t n, int act, float alpha) {
  switch (act) {
    case ACT_RELU:
      for (size_t i = 0; i < n; ++i) y[i] = y[i] < 0.f ? 0.f : y[i];
      break;
    case ACT_RELU6:
      for (size_t i = 0; i < n; ++i) y[i] = y[i] < 0.f ? 0.f : (y[i] > 6.f ? 6.f : y[i]);
      break;
    case ACT_LEAKY:
      for (size_t i = 0; i < n; ++i) y[i] = y[i] < 0.f ? alpha * y[i] : y[i];
      break;
    case ACT_SIGMOID:
      for (size_t i = 0; i < n; ++i) y[i] = 1.f / (1.f + std::exp(-y[i]));
      break;
    case ACT_ELU:
      for (size_t i = 0; i < n; ++i) y[i] = y[i] >= 0.f ? y[i] : std::expm1(y[i]);
      break;
    default:
      break;
  }
}

// ---------------------------------------------------------------- matmul
// gemm(a, b, out, batchA, batchB, m, n, k, transA, transB, bias|null, biasLen, act, alpha)
// out[batch, m, n]; batch = max(batchA, batchB); a batch of 1 is broadcast.
// bias (optional) of length n (row vector) or 1 (scalar), added before the activation.
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  F32 a = f32(info[0]), b = f32(info[1]), c = f32(info[2]);
  const int64_t batchA = i64(info[3]), batchB = i64(info[4]);
  const int m = static_cast<int>(i64(info[5])), n = static_cast<int>(i64(info[6])),
            k = static_cast<int>(i64(info[7]));
  const bool tA = info[8].As<Napi::Boolean>(), tB = info[9].As<Napi::Boolean>();
  const bool hasBias = info[10].IsTypedArray();
  const int64_t biasLen = i64(info[11]);
  const int act = static_cast<int>(i64(info[12]));
  const float alpha = static_cast<float>(dbl(info[13]));
  const int64_t batch = std::max(batchA, batchB);
  const size_t mn = static_cast<size_t>(m) * n;
  float beta = 0.f;
  if (hasBias) {
    F32 bias = f32(info[10]);
    for (int64_t bi = 0; bi < batch; ++bi) {
      float* cp = c.p + bi * mn;
      if (biasLen == 1) {
        std::fill(cp, cp + mn, bias.p[0]);
      } else {
        for (int i = 0; i < m; ++i) std::memcpy(cp + static_cast<size_t>(i) * n, bias.p, sizeof(float) * n);
      }
    }
    beta = 1.f;
  }
  const int lda = tA ? m : k, ldb = tB ? k : n;
  const size_t aStride = static_cast<size_t>(m) * k, bStride = static_cast<size_t>(k) * n;
  if (batchB == 1 && !tA && batchA > 1) {
    // Fold the batch into M: [batch*m, k] x [k, n].
    cblas_sgemm(CblasRowMajor, CblasNoTrans, tB ? CblasTrans : CblasNoTrans,
                static_cast<int>(batch * m), n, k, 1.f, a.p, lda, b.p, ldb, beta, c.p, n);
  } else {
    for (int64_t bi = 0; bi < batch; ++bi) {
      const float* ap = a.p + (batchA == 1 ? 0 : bi * aStride);
      const float* bp = b.p + (batchB == 1 ? 0 : bi * bStride);
      cblas_sgemm(CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans, m, n, k,
                  1.f, ap, lda, bp, ldb, beta, c.p + bi * mn, n);
    }
  }
  if (act != ACT_LINEAR) applyAct(c.p, batch * mn, act, alpha);
  return info.Env().Undefined();
}

// ---------------------------------------------------------------- convolution
struct ConvP {
  int N, H, W, C, fH, fW, O, oH, oW, sH, sW, dH, dW, pT, pL;
};

ConvP convParams(const Napi::CallbackInfo& info, int first) {
  Napi::Array p = info[first].As<Napi::Array>();
  auto g = [&](uint32_t i) { return p.Get(i).As<Napi::Number>().Int32Value(); };
  return {g(0), g(1), g(2), g(3), g(4), g(5), g(6), g(7), g(8), g(9), g(10), g(11), g(12), g(13), g(14)};
}

inline bool isPointwise(const ConvP& q) {
  return q.fH == 1 && q.fW == 1 && q.sH == 1 && q.sW == 1 && q.pT == 0 && q.pL == 0 && q.oH == q.H && q.oW == q.W;
}

// col[(n*oH*oW + oy*oW + ox), ((ky*fW + kx)*C + c)] for samples [n0, n0+nb)
void im2col(const float* x, float* col, const ConvP& q, int n0, int nb) {
  const size_t K = static_cast<size_t>(q.fH) * q.fW * q.C;
  for (int n = 0; n < nb; ++n) {
    const float* xn = x + static_cast<size_t>(n0 + n) * q.H * q.W * q.C;
    for (int oy = 0; oy < q.oH; ++oy) {
      for (int ox = 0; ox < q.oW; ++ox) {
        float* row = col + (static_cast<size_t>(n) * q.oH * q.oW + static_cast<size_t>(oy) * q.oW + ox) * K;
        for (int ky = 0; ky < q.fH; ++ky) {
          const int iy = oy * q.sH - q.pT + ky * q.dH;
          float* dst = row + static_cast<size_t>(ky) * q.fW * q.C;
          if (iy < 0 || iy >= q.H) {
            for (int c = 0; c < q.fW * q.C; ++c) dst[c] = 0.f;
            continue;
          }
          for (int kx = 0; kx < q.fW; ++kx) {
            const int ix = ox * q.sW - q.pL + kx * q.dW;
            float* d = dst + static_cast<size_t>(kx) * q.C;
            if (ix < 0 || ix >= q.W) {
                for (int c = 0; c < q.C; ++c) d[c] = 0.f;
            } else {
              const float* src = xn + (static_cast<size_t>(iy) * q.W + ix) * q.C;
              for (int c = 0; c < q.C; ++c) d[c] = src[c];
            }
          }
        }
      }
    }
  }
}

// dx[n0..n0+nb) += col2im(col)
void col2im(const float* col, float* dx, const ConvP& q, int n0, int nb) {
  const size_t K = static_cast<size_t>(q.fH) * q.fW * q.C;
  for (int n = 0; n < nb; ++n) {
    float* xn = dx + static_cast<size_t>(n0 + n) * q.H * q.W * q.C;
    for (int oy = 0; oy < q.oH; ++oy) {
      for (int ox = 0; ox < q.oW; ++ox) {
        const float* row = col + (static_cast<size_t>(n) * q.oH * q.oW + static_cast<size_t>(oy) * q.oW + ox) * K;
        for (int ky = 0; ky < q.fH; ++ky) {
          const int iy = oy * q.sH - q.pT + ky * q.dH;
          if (iy < 0 || iy >= q.H) continue;
          for (int kx = 0; kx < q.fW; ++kx) {
            const int ix = ox * q.sW - q.pL + kx * q.dW;
            if (ix < 0 || ix >= q.W) continue;
            const float* s = row + (static_cast<size_t>(ky) * q.fW + kx) * q.C;
            float* d = xn + (static_cast<size_t>(iy) * q.W + ix) * q.C;
            for (int c = 0; c < q.C; ++c) d[c] += s[c];
          }
        }
      }
    }
  }
}

// Transposed layout for skinny convolutions (few output channels):
// colT[k = (ky*fW + kx)*C + c][r = n*oH*oW + oy*oW + ox]. Rows of colT are shifted copies
// of input rows, so building it is mostly contiguous copies (C = 1, stride 1).
inline void oxRange(const ConvP& q, int kx, int& lo, int& hi) {
  // valid ox: 0 <= ox*sW - pL + kx*dW < W
  const int off = -q.pL + kx * q.dW;
  lo = off >= 0 ? 0 : (-off + q.sW - 1) / q.sW;
  hi = q.W - off <= 0 ? 0 : (q.W - off + q.sW - 1) / q.sW;
  if (hi > q.oW) hi = q.oW;
  if (lo > hi) lo = hi;
}

void im2colT(const float* x, float* colT, const ConvP& q, int n0, int nb) {
  const size_t rowsPer = static_cast<size_t>(q.oH) * q.oW;
  const size_t R = rowsPer * nb;
  for (int ky = 0; ky < q.fH; ++ky) {
    for (int kx = 0; kx < q.fW; ++kx) {
      int lo, hi;
      oxRange(q, kx, lo, hi);
      const int off = -q.pL + kx * q.dW;
      for (int c = 0; c < q.C; ++c) {
        float* dstK = colT + ((static_cast<size_t>(ky) * q.fW + kx) * q.C + c) * R;
        for (int n = 0; n < nb; ++n) {
          const float* xn = x + static_cast<size_t>(n0 + n) * q.H * q.W * q.C + c;
          for (int oy = 0; oy < q.oH; ++oy) {
            float* d = dstK + n * rowsPer + static_cast<size_t>(oy) * q.oW;
            const int iy = oy * q.sH - q.pT + ky * q.dH;
            if (iy < 0 || iy >= q.H) {
              for (int ox = 0; ox < q.oW; ++ox) d[ox] = 0.f;
              continue;
            }
            for (int ox = 0; ox < lo; ++ox) d[ox] = 0.f;
            const float* srow = xn + static_cast<size_t>(iy) * q.W * q.C;
            const int step = q.sW * q.C;
            const float* sp = srow + static_cast<ptrdiff_t>(lo * q.sW + off) * q.C;
            if (step == 1) {
              std::memcpy(d + lo, sp, sizeof(float) * (hi - lo));
            } else {
              for (int ox = lo; ox < hi; ++ox, sp += step) d[ox] = *sp;
            }
            for (int ox = hi; ox < q.oW; ++ox) d[ox] = 0.f;
          }
        }
      }
    }
  }
}

void col2imT(const float* colT, float* dx, const ConvP& q, int n0, int nb) {
  const size_t rowsPer = static_cast<size_t>(q.oH) * q.oW;
  const size_t R = rowsPer * nb;
  for (int ky = 0; ky < q.fH; ++ky) {
    for (int kx = 0; kx < q.fW; ++kx) {
      int lo, hi;
      oxRange(q, kx, lo, hi);
      const int off = -q.pL + kx * q.dW;
      for (int c = 0; c < q.C; ++c) {
        const float* srcK = colT + ((static_cast<size_t>(ky) * q.fW + kx) * q.C + c) * R;
        for (int n = 0; n < nb; ++n) {
          float* xn = dx + static_cast<size_t>(n0 + n) * q.H * q.W * q.C + c;
          for (int oy = 0; oy < q.oH; ++oy) {
            const int iy = oy * q.sH - q.pT + ky * q.dH;
            if (iy < 0 || iy >= q.H) continue;
            const float* sr = srcK + n * rowsPer + static_cast<size_t>(oy) * q.oW;
            float* drow = xn + static_cast<size_t>(iy) * q.W * q.C;
            const int step = q.sW * q.C;
            float* dp = drow + static_cast<ptrdiff_t>(lo * q.sW + off) * q.C;
            for (int ox = lo; ox < hi; ++ox, dp += step) *dp += sr[ox];
          }
        }
      }
    }
  }
}

inline bool useTransposed(const ConvP& q) { return q.O < 32 && q.C < 4; }

// out[r*O + o] = t[o*R + r]
inline void transposeInto(const float* t, float* out, int O, size_t R) {
  for (size_t r = 0; r < R; ++r)
    for (int o = 0; o < O; ++o) out[r * O + o] = t[static_cast<size_t>(o) * R + r];
}

int chunkSamples(const ConvP& q) {
  const size_t perSample = static_cast<size_t>(q.oH) * q.oW * q.fH * q.fW * q.C;
  const size_t budget = size_t(1) << 22;  // 4M floats = 16 MiB of scratch
  size_t nb = perSample == 0 ? 1 : budget / perSample;
  if (nb < 1) nb = 1;
  if (nb > static_cast<size_t>(q.N)) nb = q.N;
  return static_cast<int>(nb);
}

// conv2d(x, w, out, params)
Napi::Value Conv2D(const Napi::CallbackInfo& info) {
  F32 x = f32(info[0]), w = f32(info[1]), y = f32(info[2]);
  ConvP q = convParams(info, 3);
  const int K = q.fH * q.fW * q.C;
  const size_t rowsPer = static_cast<size_t>(q.oH) * q.oW;
  if (isPointwise(q)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(q.N * rowsPer), q.O, K, 1.f, x.p, K,
                w.p, q.O, 0.f, y.p, q.O);
    return info.Env().Undefined();
  }
  const int nb = chunkSamples(q);
  float* col = scratchPtr(0, nb * rowsPer * K);
  for (int n0 = 0; n0 < q.N; n0 += nb) {
    const int cnt = std::min(nb, q.N - n0);
    const int rows = static_cast<int>(cnt * rowsPer);
    float* yp = y.p + n0 * rowsPer * q.O;
    if (useTransposed(q)) {
      // Y^T[O, rows] = W^T colT, then transpose.
      im2colT(x.p, col, q, n0, cnt);
      float* yt = scratchPtr(1, static_cast<size_t>(rows) * q.O);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, q.O, rows, K, 1.f, w.p, q.O, col, rows, 0.f, yt, rows);
      transposeInto(yt, yp, q.O, rows);
    } else {
      im2col(x.p, col, q, n0, cnt);
      if (q.O < 32) {
        // Skinny output: OpenBLAS is faster on Y^T[O, rows] = W^T col^T; then transpose.
        float* yt = scratchPtr(1, static_cast<size_t>(rows) * q.O);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasTrans, q.O, rows, K, 1.f, w.p, q.O, col, K, 0.f, yt, rows);
        transposeInto(yt, yp, q.O, rows);
      } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, q.O, K, 1.f, col, K, w.p, q.O, 0.f, yp, q.O);
      }
    }
  }
  return info.Env().Undefined();
}

// conv2dBackpropInput(dy, w, dx, params): dx must be zero-filled
Napi::Value Conv2DBackpropInput(const Napi::CallbackInfo& info) {
  F32 dy = f32(info[0]), w = f32(info[1]), dx = f32(info[2]);
  ConvP q = convParams(info, 3);
  const int K = q.fH * q.fW * q.C;
  const size_t rowsPer = static_cast<size_t>(q.oH) * q.oW;
  if (isPointwise(q)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(q.N * rowsPer), K, q.O, 1.f, dy.p, q.O,
                w.p, q.O, 0.f, dx.p, K);
    return info.Env().Undefined();
  }
  const int nb = chunkSamples(q);
  float* col = scratchPtr(0, nb * rowsPer * K);
  for (int n0 = 0; n0 < q.N; n0 += nb) {
    const int cnt = std::min(nb, q.N - n0);
    const int rows = static_cast<int>(cnt * rowsPer);
    if (useTransposed(q)) {
      // dcolT[K, rows] = W dy^T
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, K, rows, q.O, 1.f, w.p, q.O, dy.p + n0 * rowsPer * q.O,
                  q.O, 0.f, col, rows);
      col2imT(col, dx.p, q, n0, cnt);
    } else {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, K, q.O, 1.f, dy.p + n0 * rowsPer * q.O, q.O, w.p,
                  q.O, 0.f, col, K);
      col2im(col, dx.p, q, n0, cnt);
    }
  }
  return info.Env().Undefined();
}

// conv2dBackpropFilter(x, dy, dw, params)
Napi::Value Conv2DBackpropFilter(const Napi::CallbackInfo& info) {
  F32 x = f32(info[0]), dy = f32(info[1]), dw = f32(info[2]);
  ConvP q = convParams(info, 3);
  const int K = q.fH * q.fW * q.C;
  const size_t rowsPer = static_cast<size_t>(q.oH) * q.oW;
  if (isPointwise(q)) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, q.O, static_cast<int>(q.N * rowsPer), 1.f, x.p, K,
                dy.p, q.O, 0.f, dw.p, q.O);
    return info.Env().Undefined();
  }
  const int nb = chunkSamples(q);
  float* col = scratchPtr(0, nb * rowsPer * K);
  float* dwt = scratchPtr(2, static_cast<size_t>(K) * q.O);
  for (int n0 = 0; n0 < q.N; n0 += nb) {
    const int cnt = std::min(nb, q.N - n0);
    const int rows = static_cast<int>(cnt * rowsPer);
    // dW^T[O, K] += dy^T col (faster than col^T dy for skinny O); transposed at the end.
    if (useTransposed(q)) {
      im2colT(x.p, col, q, n0, cnt);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasTrans, q.O, K, rows, 1.f, dy.p + n0 * rowsPer * q.O, q.O, col,
                  rows, n0 == 0 ? 0.f : 1.f, dwt, K);
    } else {
      im2col(x.p, col, q, n0, cnt);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, q.O, K, rows, 1.f, dy.p + n0 * rowsPer * q.O, q.O, col,
                  K, n0 == 0 ? 0.f : 1.f, dwt, K);
    }
  }
  for (int kk = 0; kk < K; ++kk)
    for (int o = 0; o < q.O; ++o) dw.p[static_cast<size_t>(kk) * q.O + o] = dwt[static_cast<size_t>(o) * K + kk];
  return info.Env().Undefined();
}

// ---------------------------------------------------------------- broadcasting iterator
// Collapses an N-d loop over `out` with per-operand strides (0 = broadcast) into
// as few dims as possible. dims are outermost first.
struct Loop {
  std::vector<int64_t> dims;
  std::vector<int64_t> st[3];
};

Loop makeLoop(const std::vector<int64_t>& outShape, const std::vector<std::vector<int64_t>>& strides) {
  Loop L;
  const size_t R = outShape.size();
  const size_t nops = strides.size();
  for (size_t i = 0; i < R; ++i) {
    if (outShape[i] == 1) continue;
    if (!L.dims.empty()) {
      bool merge = true;
      for (size_t o = 0; o < nops; ++o) {
        if (L.st[o].back() != strides[o][i] * outShape[i]) { merge = false; break; }
      }
      if (merge) {
        L.dims.back() *= outShape[i];
        for (size_t o = 0; o < nops; ++o) L.st[o].back() = strides[o][i];
        continue;
      }
    }
    L.dims.push_back(outShape[i]);
    for (size_t o = 0; o < nops; ++o) L.st[o].push_back(strides[o][i]);
  }
  if (L.dims.empty()) {
    L.dims.push_back(1);
    for (size_t o = 0; o < nops; ++o) L.st[o].push_back(0);
  }
  return L;
}

std::vector<int64_t> bcastStrides(const std::vector<int64_t>& shape, const std::vector<int64_t>& outShape) {
  const size_t R = outShape.size();
  std::vector<int64_t> s(R, 0);
  int64_t acc = 1;
  for (size_t i = 0; i < R; ++i) {
    const size_t j = R - 1 - i;
    const int64_t si = shape.size() > i ? shape[shape.size() - 1 - i] : 1;
    s[j] = si == 1 ? 0 : acc;
    acc *= si;
  }
  return s;
}

// Calls inner(offA, offB, offOut, count, strideA, strideB) for each innermost run.
template <typename F>
void forEachRun(const Loop& L, int nops, F inner) {
  const size_t D = L.dims.size();
  const int64_t innerN = L.dims[D - 1];
  std::vector<int64_t> idx(D, 0);
  int64_t off[3] = {0, 0, 0};
  int64_t outer = 1;
  for (size_t i = 0; i + 1 < D; ++i) outer *= L.dims[i];
  for (int64_t it = 0; it < outer; ++it) {
    inner(off[0], off[1], off[2], innerN, L.st[0][D - 1], nops > 1 ? L.st[1][D - 1] : 0,
          nops > 2 ? L.st[2][D - 1] : 0);
    for (int64_t d = static_cast<int64_t>(D) - 2; d >= 0; --d) {
      ++idx[d];
      for (int o = 0; o < nops; ++o) off[o] += L.st[o][d];
      if (idx[d] < L.dims[d]) break;
      for (int o = 0; o < nops; ++o) off[o] -= L.st[o][d] * L.dims[d];
      idx[d] = 0;
    }
  }
}

enum BinOp {
  B_ADD = 0, B_SUB, B_MUL, B_DIV, B_MAX, B_MIN, B_SQDIFF, B_POW,
  B_EQ = 16, B_NE, B_GT, B_GE, B_LT, B_LE
};

template <typename T, typename Op>
void binaryRun(const Loop& L, const float* a, const float* b, T* out, Op op) {
  forEachRun(L, 3, [&](int64_t oa, int64_t ob, int64_t oo, int64_t n, int64_t sa, int64_t sb, int64_t so) {
    const float* pa = a + oa;
    const float* pb = b + ob;
    T* po = out + oo;
    (void)so;  // out is contiguous: so == 1
    if (sa == 1 && sb == 1) {
      for (int64_t i = 0; i < n; ++i) po[i] = op(pa[i], pb[i]);
    } else if (sa == 0 && sb == 1) {
      const float av = pa[0];
      for (int64_t i = 0; i < n; ++i) po[i] = op(av, pb[i]);
    } else if (sa == 1 && sb == 0) {
      const float bv = pb[0];
      for (int64_t i = 0; i < n; ++i) po[i] = op(pa[i], bv);
    } else {
      for (int64_t i = 0; i < n; ++i) po[i] = op(pa[i * sa], pb[i * sb]);
    }
  });
}

// binary(op, a, aShape, b, bShape, out, outShape)
Napi::Value Binary(const Napi::CallbackInfo& info) {
  const int op = static_cast<int>(i64(info[0]));
  F32 a = f32(info[1]);
  auto aShape = shapeOf(info[2]);
  F32 b = f32(info[3]);
  auto bShape = shapeOf(info[4]);
  auto outShape = shapeOf(info[6]);
  std::vector<int64_t> outStr(outShape.size());
  {
    int64_t acc = 1;
    for (size_t i = outShape.size(); i-- > 0;) { outStr[i] = acc; acc *= outShape[i]; }
  }
  Loop L = makeLoop(outShape, {bcastStrides(aShape, outShape), bcastStrides(bShape, outShape), outStr});
  if (op >= B_EQ) {
    Napi::Uint8Array o = info[5].As<Napi::Uint8Array>();
    uint8_t* out = o.Data();
    switch (op) {
      case B_EQ: binaryRun(L, a.p, b.p, out, [](float x, float y) -> uint8_t { return x == y; }); break;
      case B_NE: binaryRun(L, a.p, b.p, out, [](float x, float y) -> uint8_t { return x != y; }); break;
      case B_GT: binaryRun(L, a.p, b.p, out, [](float x, float y) -> uint8_t { return x > y; }); break;
      case B_GE: binaryRun(L, a.p, b.p, out, [](float x, float y) -> uint8_t { return x >= y; }); break;
      case B_LT: binaryRun(L, a.p, b.p, out, [](float x, float y) -> uint8_t { return x < y; }); break;
      case B_LE: binaryRun(L, a.p, b.p, out, [](float x, float y) -> uint8_t { return x <= y; }); break;
      default: break;
    }
    return info.Env().Undefined();
  }
  float* out = f32(info[5]).p;
  switch (op) {
    case B_ADD: binaryRun(L, a.p, b.p, out, [](float x, float y) { return x + y; }); break;
    case B_SUB: binaryRun(L, a.p, b.p, out, [](float x, float y) { return x - y; }); break;
    case B_MUL: binaryRun(L, a.p, b.p, out, [](float x, float y) { return x * y; }); break;
    case B_DIV: binaryRun(L, a.p, b.p, out, [](float x, float y) { return x / y; }); break;
    case B_MAX:
      binaryRun(L, a.p, b.p, out, [](float x, float y) {
        return (std::isnan(x) || std::isnan(y)) ? std::numeric_limits<float>::quiet_NaN() : (x > y ? x : y);
      });
      break;
    case B_MIN:
      binaryRun(L, a.p, b.p, out, [](float x, float y) {
        return (std::isnan(x) || std::isnan(y)) ? std::numeric_limits<float>::quiet_NaN() : (x < y ? x : y);
      });
      break;
    case B_SQDIFF: binaryRun(L, a.p, b.p, out, [](float x, float y) { return (x - y) * (x - y); }); break;
    case B_POW:
      binaryRun(L, a.p, b.p, out, [](float x, float y) {
        return static_cast<float>(std::pow(static_cast<double>(x), static_cast<double>(y)));
      });
      break;
    default: break;
  }
  return info.Env().Undefined();
}

// ---------------------------------------------------------------- unary
enum UnOp {
  U_NEG = 0, U_EXP, U_LOG, U_SQRT, U_RSQRT, U_SQUARE, U_RELU, U_STEP, U_ABS, U_SIGMOID, U_TANH,
  U_RECIPROCAL, U_RELU6, U_ELU, U_LOG1P, U_SOFTPLUS, U_LEAKY, U_SIGN
};

template <typename Op>
inline void unaryLoop(const float* x, float* y, size_t n, Op op) {
  for (size_t i = 0; i < n; ++i) y[i] = op(x[i]);
}

Napi::Value Unary(const Napi::CallbackInfo& info) {
  const int op = static_cast<int>(i64(info[0]));
  F32 x = f32(info[1]), y = f32(info[2]);
  const float alpha = info.Length() > 3 ? static_cast<float>(dbl(info[3])) : 0.f;
  const size_t n = x.n;
  const float* xp = x.p;
  float* yp = y.p;
  switch (op) {
    case U_NEG: unaryLoop(xp, yp, n, [](float v) { return -v; }); break;
    case U_EXP: unaryLoop(xp, yp, n, [](float v) { return static_cast<float>(std::exp(static_cast<double>(v))); }); break;
    case U_LOG: unaryLoop(xp, yp, n, [](float v) { return static_cast<float>(std::log(static_cast<double>(v))); }); break;
    case U_SQRT: unaryLoop(xp, yp, n, [](float v) { return std::sqrt(v); }); break;
    case U_RSQRT: unaryLoop(xp, yp, n, [](float v) { return static_cast<float>(1.0 / std::sqrt(static_cast<double>(v))); }); break;
    case U_SQUARE: unaryLoop(xp, yp, n, [](float v) { return v * v; }); break;
    case U_RELU: unaryLoop(xp, yp, n, [](float v) { return v < 0.f ? 0.f : v; }); break;
    case U_STEP:
      unaryLoop(xp, yp, n, [alpha](float v) { return std::isnan(v) ? v : (v > 0.f ? 1.f : alpha); });
      break;
    case U_ABS: unaryLoop(xp, yp, n, [](float v) { return std::fabs(v); }); break;
    case U_SIGMOID:
      unaryLoop(xp, yp, n, [](float v) { return static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(v)))); });
      break;
    case U_TANH: unaryLoop(xp, yp, n, [](float v) { return static_cast<float>(std::tanh(static_cast<double>(v))); }); break;
    case U_RECIPROCAL: unaryLoop(xp, yp, n, [](float v) { return 1.f / v; }); break;
    case U_RELU6: unaryLoop(xp, yp, n, [](float v) { return v < 0.f ? 0.f : (v > 6.f ? 6.f : v); }); break;
    case U_ELU:
      unaryLoop(xp, yp, n, [](float v) { return v >= 0.f ? v : static_cast<float>(std::exp(static_cast<double>(v)) - 1.0); });
      break;
    case U_LOG1P: unaryLoop(xp, yp, n, [](float v) { return static_cast<float>(std::log1p(static_cast<double>(v))); }); break;
    case U_LEAKY: unaryLoop(xp, yp, n, [alpha](float v) { return v < 0.f ? alpha * v : v; }); break;
    case U_SIGN: unaryLoop(xp, yp, n, [](float v) { return v > 0.f ? 1.f : (v < 0.f ? -1.f : v * 0.f); }); break;
    default: break;
  }
  return info.Env().Undefined();
}

// ---------------------------------------------------------------- reductions
enum RedOp { R_SUM = 0, R_MAX, R_MIN, R_MEAN, R_PROD };

// reduce(op, x, shape, reduceMask(array of 0/1), out)
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  const int op = static_cast<int>(i64(info[0]));
  F32 x = f32(info[1]);
  auto shape = shapeOf(info[2]);
  auto mask = shapeOf(info[3]);
  F32 y = f32(info[4]);
  const size_t R = shape.size();
  // Strides: the loop runs over the input shape; out strides are 0 on reduced dims.
  std::vector<int64_t> inStr(R), outStr(R);
  int64_t accIn = 1, accOut = 1, reduceSize = 1;
  for (size_t i = R; i-- > 0;) {
    inStr[i] = accIn;
    accIn *= shape[i];
    if (mask[i]) {
      outStr[i] = 0;
      reduceSize *= shape[i];
    } else {
      outStr[i] = accOut;
      accOut *= shape[i];
    }
  }
  const size_t outN = y.n;
  Loop L = makeLoop(shape, {inStr, outStr});
  if (op == R_SUM || op == R_MEAN || op == R_PROD) {
    std::vector<double> acc(outN, op == R_PROD ? 1.0 : 0.0);
    double* ap = acc.data();
    const float* xp = x.p;
    if (op == R_PROD) {
      forEachRun(L, 2, [&](int64_t oi, int64_t oo, int64_t, int64_t n, int64_t si, int64_t so, int64_t) {
        for (int64_t i = 0; i < n; ++i) ap[oo + i * so] *= xp[oi + i * si];
      });
    } else {
      forEachRun(L, 2, [&](int64_t oi, int64_t oo, int64_t, int64_t n, int64_t si, int64_t so, int64_t) {
        const float* p = xp + oi;
        if (so == 0) {
          double s = 0.0;
          if (si == 1) {
            for (int64_t i = 0; i < n; ++i) s += p[i];
          } else {
            for (int64_t i = 0; i < n; ++i) s += p[i * si];
          }
          ap[oo] += s;
        } else {
          double* q = ap + oo;
          if (si == 1 && so == 1) {
            for (int64_t i = 0; i < n; ++i) q[i] += p[i];
          } else {
            for (int64_t i = 0; i < n; ++i) q[i * so] += p[i * si];
          }
        }
      });
    }
    if (op == R_MEAN) {
      for (size_t i = 0; i < outN; ++i) y.p[i] = static_cast<float>(acc[i] / static_cast<double>(reduceSize));
    } else {
      for (size_t i = 0; i < outN; ++i) y.p[i] = static_cast<float>(acc[i]);
    }
  } else {
    const bool isMax = op == R_MAX;
    std::fill(y.p, y.p + outN, isMax ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity());
    std::vector<uint8_t> nan(outN, 0);
    const float* xp = x.p;
    float* yp = y.p;
    forEachRun(L, 2, [&](int64_t oi, int64_t oo, int64_t, int64_t n, int64_t si, int64_t so, int64_t) {
      for (int64_t i = 0; i < n; ++i) {
        const float v = xp[oi + i * si];
        float& t = yp[oo + i * so];
        if (std::isnan(v)) nan[oo + i * so] = 1;
        else if (isMax ? v > t : v < t) t = v;
      }
    });
    for (size_t i = 0; i < outN; ++i)
      if (nan[i]) yp[i] = std::numeric_limits<float>::quiet_NaN();
  }
  return info.Env().Undefined();
}

// ---------------------------------------------------------------- transpose, addN
// transpose(x, shape, perm, out)
Napi::Value Transpose(const Napi::CallbackInfo& info) {
  F32 x = f32(info[0]);
  auto shape = shapeOf(info[1]);
  auto perm = shapeOf(info[2]);
  F32 y = f32(info[3]);
  const size_t R = shape.size();
  std::vector<int64_t> inStr(R);
  int64_t acc = 1;
  for (size_t i = R; i-- > 0;) { inStr[i] = acc; acc *= shape[i]; }
  std::vector<int64_t> outShape(R), xs(R), ys(R);
  for (size_t i = 0; i < R; ++i) { outShape[i] = shape[perm[i]]; xs[i] = inStr[perm[i]]; }
  acc = 1;
  for (size_t i = R; i-- > 0;) { ys[i] = acc; acc *= outShape[i]; }
  Loop L = makeLoop(outShape, {xs, ys});
  const float* xp = x.p;
  float* yp = y.p;
  forEachRun(L, 2, [&](int64_t oi, int64_t oo, int64_t, int64_t n, int64_t si, int64_t so, int64_t) {
    for (int64_t i = 0; i < n; ++i) yp[oo + i * so] = xp[oi + i * si];
  });
  return info.Env().Undefined();
}

// addN([arrays], out)
Napi::Value AddN(const Napi::CallbackInfo& info) {
  Napi::Array arr = info[0].As<Napi::Array>();
  F32 y = f32(info[1]);
  const uint32_t k = arr.Length();
  F32 first = f32(arr.Get(0u));
  std::memcpy(y.p, first.p, sizeof(float) * y.n);
  for (uint32_t j = 1; j < k; ++j) {
    F32 a = f32(arr.Get(j));
    for (size_t i = 0; i < y.n; ++i) y.p[i] += a.p[i];
  }
  return info.Env().Undefined();
}

// ---------------------------------------------------------------- pooling (NHWC)
// params: [N, H, W, C, fH, fW, oH, oW, sH, sW, dH, dW, pT, pL]
struct PoolP {
  int N, H, W, C, fH, fW, oH, oW, sH, sW, dH, dW, pT, pL;
};
PoolP poolParams(const Napi::Value& v) {
  Napi::Array p = v.As<Napi::Array>();
  auto g = [&](uint32_t i) { return p.Get(i).As<Napi::Number>().Int32Value(); };
  return {g(0), g(1), g(2), g(3), g(4), g(5), g(6), g(7), g(8), g(9), g(10), g(11), g(12), g(13)};
}

// maxPool(x, out, params): first maximum wins (strict >), NaN windows give NaN as in tfjs cpu.
Napi::Value MaxPool(const Napi::CallbackInfo& info) {
  F32 x = f32(info[0]), y = f32(info[1]);
  PoolP q = poolParams(info[2]);
  for (int n = 0; n < q.N; ++n) {
    const float* xn = x.p + static_cast<size_t>(n) * q.H * q.W * q.C;
    for (int oy = 0; oy < q.oH; ++oy) {
      for (int ox = 0; ox < q.oW; ++ox) {
        float* yo = y.p + ((static_cast<size_t>(n) * q.oH + oy) * q.oW + ox) * q.C;
        for (int c = 0; c < q.C; ++c) yo[c] = -std::numeric_limits<float>::infinity();
        for (int ky = 0; ky < q.fH; ++ky) {
          const int iy = oy * q.sH - q.pT + ky * q.dH;
          if (iy < 0 || iy >= q.H) continue;
          for (int kx = 0; kx < q.fW; ++kx) {
            const int ix = ox * q.sW - q.pL + kx * q.dW;
            if (ix < 0 || ix >= q.W) continue;
            const float* xp = xn + (static_cast<size_t>(iy) * q.W + ix) * q.C;
            for (int c = 0; c < q.C; ++c) yo[c] = xp[c] > yo[c] ? xp[c] : yo[c];
          }
        }
      }
    }
  }
  return info.Env().Undefined();
}

// maxPoolGrad(dy, x, dx, params): dx zero-filled; routes dy to the first maximum of each window.
Napi::Value MaxPoolGrad(const Napi::CallbackInfo& info) {
  F32 dy = f32(info[0]), x = f32(info[1]), dx = f32(info[2]);
  PoolP q = poolParams(info[3]);
  for (int n = 0; n < q.N; ++n) {
    const size_t base = static_cast<size_t>(n) * q.H * q.W * q.C;
    const float* xn = x.p + base;
    float* dxn = dx.p + base;
    for (int oy = 0; oy < q.oH; ++oy) {
      for (int ox = 0; ox < q.oW; ++ox) {
        const float* dyo = dy.p + ((static_cast<size_t>(n) * q.oH + oy) * q.oW + ox) * q.C;
        for (int c = 0; c < q.C; ++c) {
          float best = -std::numeric_limits<float>::infinity();
          int64_t pos = -1;
          for (int ky = 0; ky < q.fH; ++ky) {
            const int iy = oy * q.sH - q.pT + ky * q.dH;
            if (iy < 0 || iy >= q.H) continue;
            for (int kx = 0; kx < q.fW; ++kx) {
              const int ix = ox * q.sW - q.pL + kx * q.dW;
              if (ix < 0 || ix >= q.W) continue;
              const int64_t p = (static_cast<int64_t>(iy) * q.W + ix) * q.C + c;
              if (xn[p] > best) { best = xn[p]; pos = p; }
            }
          }
          if (pos >= 0) dxn[pos] += dyo[c];
        }
      }
    }
  }
  return info.Env().Undefined();
}

// avgPool(x, out, params): divides by the number of in-bounds pixels (tfjs cpu semantics).
Napi::Value AvgPool(const Napi::CallbackInfo& info) {
  F32 x = f32(info[0]), y = f32(info[1]);
  PoolP q = poolParams(info[2]);
  for (int n = 0; n < q.N; ++n) {
    const float* xn = x.p + static_cast<size_t>(n) * q.H * q.W * q.C;
    for (int oy = 0; oy < q.oH; ++oy) {
      for (int ox = 0; ox < q.oW; ++ox) {
        float* yo = y.p + ((static_cast<size_t>(n) * q.oH + oy) * q.oW + ox) * q.C;
        for (int c = 0; c < q.C; ++c) yo[c] = 0.f;
        int count = 0;
        for (int ky = 0; ky < q.fH; ++ky) {
          const int iy = oy * q.sH - q.pT + ky * q.dH;
          if (iy < 0 || iy >= q.H) continue;
          for (int kx = 0; kx < q.fW; ++kx) {
            const int ix = ox * q.sW - q.pL + kx * q.dW;
            if (ix < 0 || ix >= q.W) continue;
            const float* xp = xn + (static_cast<size_t>(iy) * q.W + ix) * q.C;
            for (int c = 0; c < q.C; ++c) yo[c] += xp[c];
            ++count;
          }
        }
        const float inv = count > 0 ? 1.f / static_cast<float>(count) : 0.f;
        for (int c = 0; c < q.C; ++c) yo[c] = count > 0 ? yo[c] / static_cast<float>(count) : std::numeric_limits<float>::quiet_NaN();
        (void)inv;
      }
    }
  }
  return info.Env().Undefined();
}

// avgPoolGrad(dy, dx, params): dx zero-filled; tfjs cpu scales by 1/(fH*fW) regardless of padding.
Napi::Value AvgPoolGrad(const Napi::CallbackInfo& info) {
  F32 dy = f32(info[0]), dx = f32(info[1]);
  PoolP q = poolParams(info[2]);
  const float mult = 1.f / static_cast<float>(q.fH * q.fW);
  for (int n = 0; n < q.N; ++n) {
    float* dxn = dx.p + static_cast<size_t>(n) * q.H * q.W * q.C;
    for (int oy = 0; oy < q.oH; ++oy) {
      for (int ox = 0; ox < q.oW; ++ox) {
        const float* dyo = dy.p + ((static_cast<size_t>(n) * q.oH + oy) * q.oW + ox) * q.C;
        for (int ky = 0; ky < q.fH; ++ky) {
          const int iy = oy * q.sH - q.pT + ky * q.dH;
          if (iy < 0 || iy >= q.H) continue;
          for (int kx = 0; kx < q.fW; ++kx) {
            const int ix = ox * q.sW - q.pL + kx * q.dW;
            if (ix < 0 || ix >= q.W) continue;
            float* d = dxn + (static_cast<size_t>(iy) * q.W + ix) * q.C;
            for (int c = 0; c < q.C; ++c) d[c] += dyo[c] * mult;
          }
        }
      }
    }
  }
  return info.Env().Undefined();
}

// maxPoolWithArgmax(x, out, idx(Int32Array), params, includeBatchInIndex)
Napi::Value MaxPoolWithArgmax(const Napi::CallbackInfo& info) {
  F32 x = f32(info[0]), y = f32(info[1]);
  int32_t* idx = info[2].As<Napi::Int32Array>().Data();
  PoolP q = poolParams(info[3]);
  const bool withBatch = info[4].As<Napi::Boolean>();
  for (int n = 0; n < q.N; ++n) {
    const size_t base = static_cast<size_t>(n) * q.H * q.W * q.C;
    const float* xn = x.p + base;
    for (int oy = 0; oy < q.oH; ++oy) {
      for (int ox = 0; ox < q.oW; ++ox) {
        const size_t o = ((static_cast<size_t>(n) * q.oH + oy) * q.oW + ox) * q.C;
        for (int c = 0; c < q.C; ++c) {
          float best = -std::numeric_limits<float>::infinity();
          int64_t pos = -1;
          for (int ky = 0; ky < q.fH; ++ky) {
            const int iy = oy * q.sH - q.pT + ky * q.dH;
            if (iy < 0 || iy >= q.H) continue;
            for (int kx = 0; kx < q.fW; ++kx) {
              const int ix = ox * q.sW - q.pL + kx * q.dW;
              if (ix < 0 || ix >= q.W) continue;
              const int64_t p = (static_cast<int64_t>(iy) * q.W + ix) * q.C + c;
              if (xn[p] > best) { best = xn[p]; pos = p; }
            }
          }
          y.p[o + c] = best;
          idx[o + c] = static_cast<int32_t>(pos < 0 ? -1 : (withBatch ? static_cast<int64_t>(base) + pos : pos));
        }
      }
    }
  }
  return info.Env().Undefined();
}

// gather(x, outer, axisLen, inner, indices(Int32Array), out): returns false on an out-of-range index.
Napi::Value Gather(const Napi::CallbackInfo& info) {
  F32 x = f32(info[0]);
  const int64_t outer = i64(info[1]), axisLen = i64(info[2]), inner = i64(info[3]);
  Napi::Int32Array ind = info[4].As<Napi::Int32Array>();
  F32 y = f32(info[5]);
  const int32_t* ip = ind.Data();
  const int64_t ni = static_cast<int64_t>(ind.ElementLength());
  for (int64_t i = 0; i < ni; ++i)
    if (ip[i] < 0 || ip[i] >= axisLen) return Napi::Boolean::New(info.Env(), false);
  for (int64_t o = 0; o < outer; ++o) {
    const float* xo = x.p + o * axisLen * inner;
    float* yo = y.p + o * ni * inner;
    if (inner == 1) {
      for (int64_t i = 0; i < ni; ++i) yo[i] = xo[ip[i]];
    } else {
      for (int64_t i = 0; i < ni; ++i) std::memcpy(yo + i * inner, xo + ip[i] * inner, sizeof(float) * inner);
    }
  }
  return Napi::Boolean::New(info.Env(), true);
}

// select(cond(Uint8Array), a, b, out): same shapes (or cond of rank 1 over the first dim).
Napi::Value Select(const Napi::CallbackInfo& info) {
  Napi::Uint8Array c = info[0].As<Napi::Uint8Array>();
  F32 a = f32(info[1]), b = f32(info[2]), y = f32(info[3]);
  const uint8_t* cp = c.Data();
  const size_t cn = c.ElementLength();
  if (cn == y.n) {
    for (size_t i = 0; i < y.n; ++i) y.p[i] = cp[i] ? a.p[i] : b.p[i];
  } else {
    const size_t inner = y.n / cn;
    for (size_t i = 0; i < cn; ++i) std::memcpy(y.p + i * inner, (cp[i] ? a.p : b.p) + i * inner, sizeof(float) * inner);
  }
  return info.Env().Undefined();
}

// cast(src typed array, out Float32Array) for bool/int32 -> float32
Napi::Value CastToFloat(const Napi::CallbackInfo& info) {
  F32 y = f32(info[1]);
  if (info[0].As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
    const uint8_t* s = info[0].As<Napi::Uint8Array>().Data();
    for (size_t i = 0; i < y.n; ++i) y.p[i] = static_cast<float>(s[i]);
  } else {
    const int32_t* s = info[0].As<Napi::Int32Array>().Data();
    for (size_t i = 0; i < y.n; ++i) y.p[i] = static_cast<float>(s[i]);
  }
  return info.Env().Undefined();
}

// ---------------------------------------------------------------- float64 linear algebra for @hessian/linalg
// (registered by the engine through linalg's setDenseKernels; same results as linalg's JS
// kernels up to float64 summation order)

extern "C" void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
                        double* work, const int* lwork, int* iwork, const int* liwork, int* info);

// symEigvals(a Float64Array n*n symmetric, n, w Float64Array n): eigenvalues ascending (LAPACK
// dsyevd without vectors: Householder tridiagonalization, then dsterf). Returns LAPACK's info.
Napi::Value SymEigvals(const Napi::CallbackInfo& info) {
  Napi::Float64Array a = info[0].As<Napi::Float64Array>();
  const int n = static_cast<int>(i64(info[1]));
  Napi::Float64Array w = info[2].As<Napi::Float64Array>();
  std::vector<double> m(a.Data(), a.Data() + static_cast<size_t>(n) * n);
  const char jobz = 'N', uplo = 'L';
  int lwork = 2 * n + 1, liwork = 1, inf = 0;
  std::vector<double> work(lwork);
  std::vector<int> iwork(liwork);
  dsyevd_(&jobz, &uplo, &n, m.data(), &n, w.Data(), work.data(), &lwork, iwork.data(), &liwork, &inf);
  return Napi::Number::New(info.Env(), inf);
}

// 16384 elements: w's tile (128 KB of float64) stays in L2 while each basis vector streams a
// 64 KB run (float32); with 8 vectors per pass that read the DRAM at ~1.5x the rate of 2048-element
// tiles and 4 vectors (measured on this machine's EPYC: 23-29 against 16-18 GB/s, 40 cold
// vectors of 235k: bench/native/sweep-tiles.cc and its README). Shorter runs restart the
// hardware prefetcher too often.
constexpr size_t GS_TILE = 16384;

// Blocked classical Gram-Schmidt sweeps over a basis of float64 (Float64Array) or float32
// (Float32Array: SLQ's semi-orthogonal basis, half the bytes of these memory-bound sweeps)
// vectors, accumulated in float64 either way: tile by tile (w's tile stays in cache while the
// basis streams by), eight basis vectors at a time. BLAS has no mixed-precision axpy, so these are
// plain loops vectorized by -O3 -march; the reductions through `omp simd` (-fopenmp-simd:
// reassociated in these loops only, no OpenMP runtime).
template <typename T, typename A>
std::vector<const T*> basisPtrs(const Napi::Value& v, size_t k) {
  Napi::Array arr = v.As<Napi::Array>();
  std::vector<const T*> q(k);
  for (uint32_t i = 0; i < k; ++i) q[i] = arr.Get(i).As<A>().Data();
  return q;
}

// gsProject(basis, k, w Float64Array, c Float64Array): c = Q^T w; returns ||w||^2.
template <typename T, typename A>
Napi::Value GsProjectT(const Napi::CallbackInfo& info) {
  const size_t k = static_cast<size_t>(i64(info[1]));
  auto q = basisPtrs<T, A>(info[0], k);
  Napi::Float64Array wa = info[2].As<Napi::Float64Array>();
  double* c = info[3].As<Napi::Float64Array>().Data();
  const double* w = wa.Data();
  const size_t n = wa.ElementLength();
  std::fill(c, c + k, 0.0);
  double ww = 0;
  for (size_t t0 = 0; t0 < n; t0 += GS_TILE) {
    const size_t t1 = std::min(n, t0 + GS_TILE);
#pragma omp simd reduction(+ : ww)
    for (size_t j = t0; j < t1; ++j) ww += w[j] * w[j];
    size_t i = 0;
    for (; i + 7 < k; i += 8) {
      const T *q0 = q[i], *q1 = q[i + 1], *q2 = q[i + 2], *q3 = q[i + 3], *q4 = q[i + 4], *q5 = q[i + 5], *q6 = q[i + 6], *q7 = q[i + 7];
      double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
#pragma omp simd reduction(+ : s0, s1, s2, s3, s4, s5, s6, s7)
      for (size_t j = t0; j < t1; ++j) {
        const double x = w[j];
        s0 += q0[j] * x;
        s1 += q1[j] * x;
        s2 += q2[j] * x;
        s3 += q3[j] * x;
        s4 += q4[j] * x;
        s5 += q5[j] * x;
        s6 += q6[j] * x;
        s7 += q7[j] * x;
      }
      c[i] += s0;
      c[i + 1] += s1;
      c[i + 2] += s2;
      c[i + 3] += s3;
      c[i + 4] += s4;
      c[i + 5] += s5;
      c[i + 6] += s6;
      c[i + 7] += s7;
    }
    for (; i + 3 < k; i += 4) {
      const T *q0 = q[i], *q1 = q[i + 1], *q2 = q[i + 2], *q3 = q[i + 3];
      double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
      for (size_t j = t0; j < t1; ++j) {
        const double x = w[j];
        s0 += q0[j] * x;
        s1 += q1[j] * x;
        s2 += q2[j] * x;
        s3 += q3[j] * x;
      }
      c[i] += s0;
      c[i + 1] += s1;
      c[i + 2] += s2;
      c[i + 3] += s3;
    }
    for (; i < k; ++i) {
      const T* qi = q[i];
      double s = 0;
#pragma omp simd reduction(+ : s)
      for (size_t j = t0; j < t1; ++j) s += qi[j] * w[j];
      c[i] += s;
    }
  }
  return Napi::Number::New(info.Env(), ww);
}

// gsSubtract(basis, k, c Float64Array, w Float64Array): w -= Q c; returns ||w||^2 after.
template <typename T, typename A>
Napi::Value GsSubtractT(const Napi::CallbackInfo& info) {
  const size_t k = static_cast<size_t>(i64(info[1]));
  auto q = basisPtrs<T, A>(info[0], k);
  const double* c = info[2].As<Napi::Float64Array>().Data();
  Napi::Float64Array wa = info[3].As<Napi::Float64Array>();
  double* w = wa.Data();
  const size_t n = wa.ElementLength();
  double ww = 0;
  for (size_t t0 = 0; t0 < n; t0 += GS_TILE) {
    const size_t t1 = std::min(n, t0 + GS_TILE);
    size_t i = 0;
    for (; i + 7 < k; i += 8) {
      const T *q0 = q[i], *q1 = q[i + 1], *q2 = q[i + 2], *q3 = q[i + 3], *q4 = q[i + 4], *q5 = q[i + 5], *q6 = q[i + 6], *q7 = q[i + 7];
      const double c0 = c[i], c1 = c[i + 1], c2 = c[i + 2], c3 = c[i + 3], c4 = c[i + 4], c5 = c[i + 5], c6 = c[i + 6], c7 = c[i + 7];
      for (size_t j = t0; j < t1; ++j)
        w[j] -= c0 * q0[j] + c1 * q1[j] + c2 * q2[j] + c3 * q3[j] + c4 * q4[j] + c5 * q5[j] + c6 * q6[j] + c7 * q7[j];
    }
    for (; i + 3 < k; i += 4) {
      const T *q0 = q[i], *q1 = q[i + 1], *q2 = q[i + 2], *q3 = q[i + 3];
      const double c0 = c[i], c1 = c[i + 1], c2 = c[i + 2], c3 = c[i + 3];
      for (size_t j = t0; j < t1; ++j) w[j] -= c0 * q0[j] + c1 * q1[j] + c2 * q2[j] + c3 * q3[j];
    }
    for (; i < k; ++i) {
      const T* qi = q[i];
      const double ci = c[i];
      for (size_t j = t0; j < t1; ++j) w[j] -= ci * qi[j];
    }
#pragma omp simd reduction(+ : ww)
    for (size_t j = t0; j < t1; ++j) ww += w[j] * w[j];
  }
  return Napi::Number::New(info.Env(), ww);
}

// lanczosStep32(aq F32, q F32, qPrev F32 | null, betaPrev, w F64, out F64[3]): one Lanczos step
// on a float32 basis (linalg vector.ts lanczosStep32, the same three passes): alpha = q . aq;
// w = aq - alpha q - betaPrev qPrev with the coefficients of w along qPrev and q and ||w||^2;
// then w -= cp qPrev + c q and ||w||^2 again. out = [alpha, before2, after2]. Float64 sums,
// vectorized (the JavaScript loops are bound by their add chains: 1.5-2 ns per element).
Napi::Value LanczosStep32(const Napi::CallbackInfo& info) {
  Napi::Float32Array aqa = info[0].As<Napi::Float32Array>();
  const float* aq = aqa.Data();
  const float* q = info[1].As<Napi::Float32Array>().Data();
  const float* qp = info[2].IsNull() || info[2].IsUndefined() ? nullptr : info[2].As<Napi::Float32Array>().Data();
  const double betaPrev = info[3].As<Napi::Number>().DoubleValue();
  double* w = info[4].As<Napi::Float64Array>().Data();
  double* out = info[5].As<Napi::Float64Array>().Data();
  const size_t n = aqa.ElementLength();
  double alpha = 0;
#pragma omp simd reduction(+ : alpha)
  for (size_t k = 0; k < n; ++k) alpha += static_cast<double>(q[k]) * aq[k];
  double cp = 0, c = 0, before2 = 0, after2 = 0;
  if (qp) {
#pragma omp simd reduction(+ : cp, c, before2)
    for (size_t k = 0; k < n; ++k) {
      const double x = aq[k] - alpha * q[k] - betaPrev * qp[k];
      w[k] = x;
      cp += qp[k] * x;
      c += q[k] * x;
      before2 += x * x;
    }
#pragma omp simd reduction(+ : after2)
    for (size_t k = 0; k < n; ++k) {
      const double x = w[k] - cp * qp[k] - c * q[k];
      w[k] = x;
      after2 += x * x;
    }
  } else {
#pragma omp simd reduction(+ : c, before2)
    for (size_t k = 0; k < n; ++k) {
      const double x = aq[k] - alpha * q[k];
      w[k] = x;
      c += q[k] * x;
      before2 += x * x;
    }
#pragma omp simd reduction(+ : after2)
    for (size_t k = 0; k < n; ++k) {
      const double x = w[k] - c * q[k];
      w[k] = x;
      after2 += x * x;
    }
  }
  out[0] = alpha;
  out[1] = before2;
  out[2] = after2;
  return info.Env().Undefined();
}

// scaleTo32(x F64, s, out F32): out = x * s, rounded to float32 (the next basis vector).
Napi::Value ScaleTo32(const Napi::CallbackInfo& info) {
  Napi::Float64Array xa = info[0].As<Napi::Float64Array>();
  const double* x = xa.Data();
  const double s = info[1].As<Napi::Number>().DoubleValue();
  float* o = info[2].As<Napi::Float32Array>().Data();
  const size_t n = xa.ElementLength();
#pragma omp simd
  for (size_t k = 0; k < n; ++k) o[k] = static_cast<float>(x[k] * s);
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads));
  exports.Set("gemm", Napi::Function::New(env, Gemm));
  exports.Set("conv2d", Napi::Function::New(env, Conv2D));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, Conv2DBackpropInput));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, Conv2DBackpropFilter));
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("reduce", Napi::Function::New(env, Reduce));
  exports.Set("transpose", Napi::Function::New(env, Transpose));
  exports.Set("addN", Napi::Function::New(env, AddN));
  exports.Set("maxPool", Napi::Function::New(env, MaxPool));
  exports.Set("maxPoolGrad", Napi::Function::New(env, MaxPoolGrad));
  exports.Set("avgPool", Napi::Function::New(env, AvgPool));
  exports.Set("avgPoolGrad", Napi::Function::New(env, AvgPoolGrad));
  exports.Set("select", Napi::Function::New(env, Select));
  exports.Set("maxPoolWithArgmax", Napi::Function::New(env, MaxPoolWithArgmax));
  exports.Set("gather", Napi::Function::New(env, Gather));
  exports.Set("castToFloat", Napi::Function::New(env, CastToFloat));
  exports.Set("symEigvals", Napi::Function::New(env, SymEigvals));
  exports.Set("gsProject", Napi::Function::New(env, GsProjectT<double, Napi::Float64Array>));
  exports.Set("gsSubtract", Napi::Function::New(env, GsSubtractT<double, Napi::Float64Array>));
  exports.Set("gsProject32", Napi::Function::New(env, GsProjectT<float, Napi::Float32Array>));
  exports.Set("gsSubtract32", Napi::Function::New(env, GsSubtractT<float, Napi::Float32Array>));
  exports.Set("lanczosStep32", Napi::Function::New(env, LanczosStep32));
  exports.Set("scaleTo32", Napi::Function::New(env, ScaleTo32));
  return exports;
}

}  // namespace

NODE_API_MODULE(hessian_native, Init)
