// Batch-1 GEMV (decode) shapes of the bench models through cpu::lowp_linear, without node: the
// kernel itself, per thread, at the granularity a decode step calls it. Alternate two builds
// (e.g. `git stash` the change, build to another -o) to compare kernels on a shared machine.
//
//   g++ -O3 -march=native -fno-math-errno -fopenmp -Inative/include -Inative/cpu \
//     bench/ops/lowplinear-gemv.cc native/cpu/lowplinear.cc native/cpu/lowplinear_gemv512.cc \
//     native/cpu/lowplinear_gemm.cc -lopenblas -o /tmp/gemv && OLMO_GEMV_PAR_BYTES=1e15 /tmp/gemv qbf
//
// Argument: formats (q = q8_0, b = bf16, f = float32). Env: GEMV_ONLY=<substring of a shape name>;
// OLMO_GEMV_PAR_BYTES as in lowplinear.cc (a huge value: one thread, the per-thread rate);
// OLMO_CPU_ISA / OLMO_Q8_ACT pick kernels as in the addon. Shapes: tiny / small (d 256 / 512) qkv,
// MLP, out and the 50304-row LM head; weights up to 1 MB are L2-resident here (in a real decode
// step nothing is: every weight is touched once per token), the heads are not.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "olmo/ops/lowplinear.h"

using namespace olmo;

static double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

int main(int argc, char** argv) {
  struct Shape { const char* name; int64_t N, K; int nw; };
  const Shape shapes[] = {
    {"tiny qkv 3x256x256", 256, 256, 3}, {"tiny up 2x1024x256", 1024, 256, 2}, {"tiny down 256x1024", 256, 1024, 1},
    {"tiny head 50304x256", 50304, 256, 1}, {"small qkv 3x512x512", 512, 512, 3}, {"small o 512x512", 512, 512, 1},
    {"small up 2x2048x512", 2048, 512, 2}, {"small down 512x2048", 512, 2048, 1}, {"small head 50304x512", 50304, 512, 1},
  };
  const char* fmts = argc > 1 ? argv[1] : "q";
  const char* only = std::getenv("GEMV_ONLY");
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0, 1);
  printf("| shape | format | median µs | weight GB/s |\n|---|---|---|---|\n");
  for (const Shape& s : shapes) {
    if (only && !std::strstr(s.name, only)) continue;
    for (const char* f = fmts; *f; ++f) {
      const WeightFormat fmt = *f == 'q' ? WeightFormat::Q8_0 : *f == 'b' ? WeightFormat::BF16 : WeightFormat::F32;
      const int64_t bytes = weight_bytes(fmt, s.N, s.K);
      std::vector<std::vector<uint8_t>> data(size_t(s.nw));
      std::vector<std::vector<float>> ys(size_t(s.nw));
      std::vector<WeightRef> refs;
      for (int i = 0; i < s.nw; ++i) {
        data[size_t(i)].resize(size_t(bytes) + 64);
        uint8_t* base = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(data[size_t(i)].data()) + 63) & ~uintptr_t(63));
        if (fmt == WeightFormat::Q8_0) {
          auto* b = reinterpret_cast<BlockQ8_0*>(base);
          for (int64_t j = 0; j < s.N * s.K / 32; ++j) {
            b[j].d = uint16_t(0x2000 + (rng() & 0x3ff));  // small positive f16 scales
            for (int t = 0; t < 32; ++t) b[j].qs[t] = int8_t(rng());
          }
        } else if (fmt == WeightFormat::BF16) {
          auto* u = reinterpret_cast<uint16_t*>(base);
          for (int64_t j = 0; j < s.N * s.K; ++j) u[j] = uint16_t(0x3c00 + (rng() & 0x3ff));
        } else {
          auto* u = reinterpret_cast<float*>(base);
          for (int64_t j = 0; j < s.N * s.K; ++j) u[j] = nd(rng);
        }
        ys[size_t(i)].resize(size_t(s.N));
        refs.push_back(WeightRef{fmt, base, s.N, ys[size_t(i)].data(), s.N});
      }
      std::vector<float> x(size_t(s.K));
      for (float& v : x) v = nd(rng);
      const int64_t reps = std::max<int64_t>(20, int64_t(200e6) / (bytes * s.nw));
      std::vector<double> ts;
      for (int64_t r = 0; r < reps; ++r) {
        const double t0 = now();
        cpu::lowp_linear(x.data(), 1, s.K, refs.data(), s.nw);
        ts.push_back(now() - t0);
      }
      std::sort(ts.begin(), ts.end());
      const double t = ts[ts.size() / 2];
      printf("| %s | %s | %.1f | %.1f |\n", s.name, *f == 'q' ? "q8_0" : *f == 'b' ? "bf16" : "f32", t * 1e6, double(bytes * s.nw) / t / 1e9);
    }
  }
  printf("kernels: %s\n", cpu::lowp_isa());
}
