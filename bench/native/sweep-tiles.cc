// The Gram-Schmidt sweeps of packages/native/addon/native.cc (gsProject32 / gsSubtract32: float32
// basis, float64 w and sums) with the old and the new blocking side by side, on cold data: 40
// basis vectors of 235,146 (the MLP's parameter count) taken in turn from 400 (376 MB, beyond the
// caches), best of 30 per variant. Prints a table and writes bench/results/sweep-tiles.json.
//   g++ -O3 -march=native -fopenmp-simd -w -o /tmp/sweep-tiles bench/native/sweep-tiles.cc && /tmp/sweep-tiles
// The addon ships tile 16384 with eight vectors per pass (was 2048 with four).
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <algorithm>
#include <chrono>
#include <string>
template<size_t TILE, int V>
double project(const std::vector<const float*>& q, size_t k, const double* w, size_t n, double* c) {
  std::fill(c, c + k, 0.0); double ww = 0;
  for (size_t t0 = 0; t0 < n; t0 += TILE) {
    const size_t t1 = std::min(n, t0 + TILE);
#pragma omp simd reduction(+ : ww)
    for (size_t j = t0; j < t1; ++j) ww += w[j] * w[j];
    size_t i = 0;
    if (V == 4) for (; i + 3 < k; i += 4) {
      const float *q0 = q[i], *q1 = q[i + 1], *q2 = q[i + 2], *q3 = q[i + 3];
      double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
      for (size_t j = t0; j < t1; ++j) { const double x = w[j]; s0 += q0[j] * x; s1 += q1[j] * x; s2 += q2[j] * x; s3 += q3[j] * x; }
      c[i] += s0; c[i + 1] += s1; c[i + 2] += s2; c[i + 3] += s3;
    }
    if (V == 8) for (; i + 7 < k; i += 8) {
      const float *q0 = q[i], *q1 = q[i + 1], *q2 = q[i + 2], *q3 = q[i + 3], *q4 = q[i+4], *q5=q[i+5], *q6=q[i+6], *q7=q[i+7];
      double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4=0,s5=0,s6=0,s7=0;
#pragma omp simd reduction(+ : s0, s1, s2, s3, s4, s5, s6, s7)
      for (size_t j = t0; j < t1; ++j) { const double x = w[j]; s0 += q0[j] * x; s1 += q1[j] * x; s2 += q2[j] * x; s3 += q3[j] * x; s4 += q4[j] * x; s5 += q5[j] * x; s6 += q6[j] * x; s7 += q7[j] * x; }
      c[i] += s0; c[i + 1] += s1; c[i + 2] += s2; c[i + 3] += s3; c[i+4]+=s4; c[i+5]+=s5; c[i+6]+=s6; c[i+7]+=s7;
    }
    for (; i < k; ++i) { const float* qi = q[i]; double s = 0;
#pragma omp simd reduction(+ : s)
      for (size_t j = t0; j < t1; ++j) s += qi[j] * w[j];
      c[i] += s; }
  }
  return ww;
}
template<size_t TILE, int V=4>
double subtract(const std::vector<const float*>& q, size_t k, const double* c, double* w, size_t n) {
  double ww = 0;
  for (size_t t0 = 0; t0 < n; t0 += TILE) {
    const size_t t1 = std::min(n, t0 + TILE);
    size_t i = 0;
    if (V == 8) for (; i + 7 < k; i += 8) {
      const float *q0 = q[i], *q1 = q[i + 1], *q2 = q[i + 2], *q3 = q[i + 3], *q4 = q[i+4], *q5=q[i+5], *q6=q[i+6], *q7=q[i+7];
      const double c0 = c[i], c1 = c[i + 1], c2 = c[i + 2], c3 = c[i + 3], c4=c[i+4], c5=c[i+5], c6=c[i+6], c7=c[i+7];
      for (size_t j = t0; j < t1; ++j) w[j] -= c0 * q0[j] + c1 * q1[j] + c2 * q2[j] + c3 * q3[j] + c4 * q4[j] + c5 * q5[j] + c6 * q6[j] + c7 * q7[j];
    }
    for (; i + 3 < k; i += 4) {
      const float *q0 = q[i], *q1 = q[i + 1], *q2 = q[i + 2], *q3 = q[i + 3];
      const double c0 = c[i], c1 = c[i + 1], c2 = c[i + 2], c3 = c[i + 3];
      for (size_t j = t0; j < t1; ++j) w[j] -= c0 * q0[j] + c1 * q1[j] + c2 * q2[j] + c3 * q3[j];
    }
    for (; i < k; ++i) { const float* qi = q[i]; const double ci = c[i]; for (size_t j = t0; j < t1; ++j) w[j] -= ci * qi[j]; }
#pragma omp simd reduction(+ : ww)
    for (size_t j = t0; j < t1; ++j) ww += w[j] * w[j];
  }
  return ww;
}
int main() {
  const size_t n = 235146, K = 400, k = 40;
  std::vector<float*> all(K); for (auto& p : all) { p = (float*)malloc(n * 4); for (size_t j = 0; j < n; j++) p[j] = (rand() % 1000) * 1e-3f; }
  std::vector<const float*> q(k); int rot = 0; auto pick = [&] { rot++; for (size_t i = 0; i < k; i++) q[i] = all[(rot * k + i) % K]; };
  std::vector<double> w(n, 0.5), c(k);
  std::string json = "{\n  \"bench\": \"sweep-tiles\", \"n\": 235146, \"vectors\": 40, \"rows\": [";
  bool first = true;
  auto bench = [&](const char* name, auto f) { double best = 1e9; for (int r = 0; r < 30; r++) { pick(); auto t0 = std::chrono::steady_clock::now(); f(); double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); best = std::min(best, dt); } printf("%-22s %.3f ms  %.1f GB/s\n", name, best * 1e3, k * n * 4 / best / 1e9);
    char row[200]; snprintf(row, sizeof row, "%s\n    {\"variant\": \"%s\", \"ms\": %.4f, \"GBps\": %.2f}", first ? "" : ",", name, best * 1e3, k * n * 4 / best / 1e9); json += row; first = false; };
  bench("proj tile2048 v4", [&] { project<2048, 4>(q, k, w.data(), n, c.data()); });
  bench("proj tile8192 v4", [&] { project<8192, 4>(q, k, w.data(), n, c.data()); });
  bench("proj tile16384 v4", [&] { project<16384, 4>(q, k, w.data(), n, c.data()); });
  bench("proj tile2048 v8", [&] { project<2048, 8>(q, k, w.data(), n, c.data()); });
  bench("proj tile8192 v8", [&] { project<8192, 8>(q, k, w.data(), n, c.data()); });
  bench("proj tile16384 v8", [&] { project<16384, 8>(q, k, w.data(), n, c.data()); });
  for (auto& x : c) x *= 1e-9;
  bench("sub tile2048", [&] { subtract<2048>(q, k, c.data(), w.data(), n); });
  bench("sub tile8192", [&] { subtract<8192>(q, k, c.data(), w.data(), n); });
  bench("sub tile16384", [&] { subtract<16384>(q, k, c.data(), w.data(), n); });
  bench("sub tile8192 v8", [&] { subtract<8192, 8>(q, k, c.data(), w.data(), n); });
  bench("sub tile16384 v8", [&] { subtract<16384, 8>(q, k, c.data(), w.data(), n); });
  bench("proj tile32768 v8", [&] { project<32768, 8>(q, k, w.data(), n, c.data()); });
  bench("sub tile32768 v8", [&] { subtract<32768, 8>(q, k, c.data(), w.data(), n); });
  json += "\n  ]\n}\n";
  if (FILE* f = fopen("bench/results/sweep-tiles.json", "w")) { fputs(json.c_str(), f); fclose(f); printf("wrote bench/results/sweep-tiles.json\n"); }
}
