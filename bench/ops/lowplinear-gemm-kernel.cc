// The float32-activation panel GEMM (native/cpu/lowplinear_gemm.cc) without node: the FMA peak of
// this machine per thread at 1 and 2 threads, and GFLOP/s of the kernel vs OpenBLAS sgemm at the
// OLMo-1B prefill shapes (M = 32 x rows; each shape's weight in 4 copies, used in turn, so W comes
// from memory as in a real prefill), alternated, wall time and CPU time (GFLOP per CPU-second per
// thread: the per-core rate, much less sensitive to a loaded machine than wall time).
//
//   g++ -O3 -march=native -fno-math-errno -fopenmp -Inative/include -Inative/cpu \
//     -I/usr/include/x86_64-linux-gnu/openblas-pthread bench/ops/lowplinear-gemm-kernel.cc \
//     native/cpu/lowplinear_gemm.cc -lopenblas -o /tmp/gemmk && /tmp/gemmk peak && /tmp/gemmk gemm
//
// Against an older kernel: compile its file (e.g. `git show 77044b4:native/cpu/lowplinear_gemm.cc`)
// with -Dlowp_gemm_f32_avx512=old_lowp_gemm_f32_avx512 -Dlowp_gemm_f32_avx2=old_lowp_gemm_f32_avx2
// -c, link it too and add -DWITH_OLD. Env: M (32), REPS (5), THREADS (both 2 and 1 by default),
// FMT=bf16|f32, ONLY=<substring of a shape name>, KERNELS=<digits>: 0 old avx512, 1 avx512,
// 2 OpenBLAS sgemm, 3 avx2, 4 old avx2 (default 123). OMP_WAIT_POLICY=passive as the addon sets it.
#include <immintrin.h>
#include <omp.h>
#include <cblas.h>
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>
#include "olmo/ops/lowplinear.h"

namespace olmo::cpu {
bool lowp_gemm_f32_avx512(const float* x, int64_t M, int64_t K, const WeightRef* ws, int nw);
bool lowp_gemm_f32_avx2(const float* x, int64_t M, int64_t K, const WeightRef* ws, int nw);
#ifdef WITH_OLD
bool old_lowp_gemm_f32_avx512(const float* x, int64_t M, int64_t K, const WeightRef* ws, int nw);
bool old_lowp_gemm_f32_avx2(const float* x, int64_t M, int64_t K, const WeightRef* ws, int nw);
#endif
}
extern "C" void openblas_set_num_threads(int);
using namespace olmo;
static double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

static double g_cpu_rate = 0;
static double peak_once(long iters) {
  double t0 = now();
  double cpu_sum = 0;
#pragma omp parallel reduction(+:cpu_sum)
  {
    timespec a, b;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    for (long it = 0; it < iters; ++it) {
      asm volatile("vfmadd231ps %%zmm30, %%zmm31, %%zmm0\n\t""vfmadd231ps %%zmm30, %%zmm31, %%zmm1\n\t""vfmadd231ps %%zmm30, %%zmm31, %%zmm2\n\t""vfmadd231ps %%zmm30, %%zmm31, %%zmm3\n\t""vfmadd231ps %%zmm30, %%zmm31, %%zmm4\n\t""vfmadd231ps %%zmm30, %%zmm31, %%zmm5\n\t""vfmadd231ps %%zmm30, %%zmm31, %%zmm6\n\t""vfmadd231ps %%zmm30, %%zmm31, %%zmm7\n\t""vfmadd231ps %%zmm30, %%zmm31, %%zmm8\n\t""vfmadd231ps %%zmm30, %%zmm31, %%zmm9\n\t""vfmadd231ps %%zmm30, %%zmm31, %%zmm10\n\t""vfmadd231ps %%zmm30, %%zmm31, %%zmm11\n\t""vfmadd231ps %%zmm30, %%zmm31, %%zmm12\n\t""vfmadd231ps %%zmm30, %%zmm31, %%zmm13\n\t""vfmadd231ps %%zmm30, %%zmm31, %%zmm14\n\t""vfmadd231ps %%zmm30, %%zmm31, %%zmm15\n\t""vfmadd231ps %%zmm30, %%zmm31, %%zmm16\n\t""vfmadd231ps %%zmm30, %%zmm31, %%zmm17\n\t""vfmadd231ps %%zmm30, %%zmm31, %%zmm18\n\t""vfmadd231ps %%zmm30, %%zmm31, %%zmm19\n\t""vfmadd231ps %%zmm30, %%zmm31, %%zmm20\n\t""vfmadd231ps %%zmm30, %%zmm31, %%zmm21\n\t""vfmadd231ps %%zmm30, %%zmm31, %%zmm22\n\t""vfmadd231ps %%zmm30, %%zmm31, %%zmm23\n\t" ::: "xmm0","xmm1","xmm2","xmm3","xmm4","xmm5","xmm6","xmm7","xmm8","xmm9","xmm10","xmm11","xmm12","xmm13","xmm14","xmm15","xmm16","xmm17","xmm18","xmm19","xmm20","xmm21","xmm22","xmm23");
    }
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    cpu_sum += (b.tv_sec - a.tv_sec) + 1e-9 * (b.tv_nsec - a.tv_nsec);
  }
  double t = now() - t0;
  g_cpu_rate = 24.0 * 32 * iters * omp_get_max_threads() / cpu_sum / 1e9;
  return 24.0 * 32 * iters * omp_get_max_threads() / t / 1e9;
}

static uint16_t f2bf(float f) { uint32_t u; memcpy(&u, &f, 4); return uint16_t((u + 0x7fff + ((u >> 16) & 1)) >> 16); }

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "gemm";
  int reps = getenv("REPS") ? atoi(getenv("REPS")) : 5;
  if (mode == "peak") {
    for (int th : {1, 2, 1, 2}) {
      omp_set_num_threads(th);
      peak_once(1000000);
      double best = 0;
      double bc = 0;
      for (int r = 0; r < reps; ++r) { best = std::max(best, peak_once(20000000)); bc = std::max(bc, g_cpu_rate); }
      printf("FMA peak %d thread(s): %.1f GFLOP/s wall total (best of %d), %.1f GFLOP per CPU-second per thread\n", th, best, reps, bc);
    }
    return 0;
  }
  const int64_t M = getenv("M") ? atoi(getenv("M")) : 32;
  const std::string fmt = getenv("FMT") ? getenv("FMT") : "bf16";
  const char* only = getenv("ONLY");
  const int copies = 4;
  struct Shape { const char* name; int64_t N, K; };
  std::vector<Shape> shapes = {{"cached 240x2048 (W in L3)", 240, 2048}, {"o 2048x2048", 2048, 2048}, {"qkv 6144x2048", 6144, 2048}, {"gate/up 16384x2048", 16384, 2048}, {"down 2048x8192", 2048, 8192}};
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0, 1);
  std::vector<int> ths = {2, 1};
  if (getenv("THREADS")) ths = {atoi(getenv("THREADS"))};
  for (auto& s : shapes) {
    if (only && !strstr(s.name, only)) continue;
    const int64_t N = s.N, K = s.K;
    std::vector<float> x(M * K);
    for (auto& v : x) v = nd(rng);
    std::vector<std::vector<float>> w32(copies, std::vector<float>(N * K));
    std::vector<std::vector<uint16_t>> w16(copies, std::vector<uint16_t>(N * K));
    for (int c = 0; c < copies; ++c)
      for (int64_t i = 0; i < N * K; ++i) { w16[c][i] = f2bf(nd(rng) * 0.02f); uint32_t u = uint32_t(w16[c][i]) << 16; memcpy(&w32[c][i], &u, 4); }
    std::vector<float> y0(M * N), y1(M * N), y2(M * N);
    auto run = [&](int which, int c, float* y) {
      WeightRef wr{fmt == "f32" ? WeightFormat::F32 : WeightFormat::BF16, fmt == "f32" ? (const void*)w32[c].data() : (const void*)w16[c].data(), N, y, N};
      if (which == 0 || which == 4) {
#ifdef WITH_OLD
        (which == 0 ? cpu::old_lowp_gemm_f32_avx512 : cpu::old_lowp_gemm_f32_avx2)(x.data(), M, K, &wr, 1);
#endif
      }
      else if (which == 1) cpu::lowp_gemm_f32_avx512(x.data(), M, K, &wr, 1);
      else if (which == 3) cpu::lowp_gemm_f32_avx2(x.data(), M, K, &wr, 1);
      else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(M), int(N), int(K), 1.f, x.data(), int(K), w32[c].data(), int(K), 0.f, y, int(N));
    };
    // correctness: new vs double
    run(1, 0, y1.data());
    run(3, 0, y2.data());
    double maxe = 0, maxe2 = 0;
    for (int64_t m = 0; m < M; m += 7) for (int64_t n = 0; n < N; n += 13) {
      double r = 0, a = 0;
      for (int64_t k = 0; k < K; ++k) { double p = double(x[m * K + k]) * w32[0][n * K + k]; r += p; a += std::fabs(p); }
      maxe = std::max(maxe, std::fabs(y1[m * N + n] - r) / a);
      maxe2 = std::max(maxe2, std::fabs(y2[m * N + n] - r) / a);
    }
    printf("%s %s M=%ld: max |err|/sum|xw| new avx512 %.2e avx2 %.2e\n", s.name, fmt.c_str(), (long)M, maxe, maxe2);
    const char* names[] = {"old 4x4 dot", "new outer", "sgemm f32", "new avx2", "old avx2"};
    for (int th : ths) {
      omp_set_num_threads(th);
      openblas_set_num_threads(th);
      std::vector<std::vector<double>> ts(5), cs(5);
      for (int r = 0; r < reps; ++r)
        for (int which : {0, 1, 2, 3, 4}) {
          if (getenv("KERNELS") ? !strchr(getenv("KERNELS"), '0' + which) : (which == 0 || which == 4)) continue;
          timespec a, b;
          clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
          double t0 = now();
          for (int c = 0; c < copies; ++c) run(which, c, y0.data());
          ts[which].push_back((now() - t0) / copies);
          clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
          cs[which].push_back(((b.tv_sec - a.tv_sec) + 1e-9 * (b.tv_nsec - a.tv_nsec)) / copies);
        }
      for (int which : {0, 1, 2, 3, 4}) {
        if (ts[which].empty()) continue;
        std::sort(ts[which].begin(), ts[which].end());
        std::sort(cs[which].begin(), cs[which].end());
        double t = ts[which][ts[which].size() / 2], c = cs[which][cs[which].size() / 2];
        printf("  %-12s %d thr: %8.3f ms wall %6.1f GFLOP/s | cpu %8.3f ms: %6.1f GFLOP per CPU-s per thread\n", names[which], th, t * 1e3, 2.0 * M * N * K / t / 1e9, c * 1e3, 2.0 * M * N * K / c / 1e9);
      }
    }
  }
}
