// Batch-1 GEMV (decode) shapes of the bench models through cpu::lowp_linear, without node: the
// kernel itself, per thread, at the granularity a decode step calls it. Alternate two builds
// (e.g. `git stash` the change, build to another -o) to compare kernels on a shared machine.
//
//   g++ -O3 -march=native -fno-math-errno -fopenmp -Inative/include -Inative/cpu \
//     bench/ops/lowplinear-gemv.cc native/cpu/lowplinear.cc native/cpu/lowplinear_gemv512.cc \
//     native/cpu/lowplinear_gemm.cc native/cpu/lowplinear_rows4.cc native/cpu/work_pool.cc -lopenblas -o /tmp/gemv && OLMO_GEMV_PAR_BYTES=1e15 /tmp/gemv qbf
//
// GEMV_STEP=tiny|small: instead, every GEMV of one decode step of that bench model in order (per
// layer q/k/v fused, o, gate/up fused, down; then the LM head), each layer with its own weights, so
// nothing is reused from cache between steps (as in real decoding); prints µs per step and the
// weight GB/s of the whole step (the bandwidth floor of bench/model's GGUF table counts the same
// bytes). OMP_NUM_THREADS=1 for one thread.
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
#include <memory>
#include <random>
#include <sys/mman.h>
#include <vector>

#include "olmo/ops/lowplinear.h"

using namespace olmo;

static double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// GEMV_HUGE=1: weights in 2 MiB-aligned blocks with MADV_HUGEPAGE (transparent huge pages, when
// the kernel allows them for madvised memory) instead of malloc's 4 KiB pages.
struct FreeDeleter { void operator()(uint8_t* p) const { std::free(p); } };
struct Weight {
  std::unique_ptr<uint8_t, FreeDeleter> mem;
  uint8_t* data() const { return mem.get(); }
};

static Weight random_weight(WeightFormat fmt, int64_t N, int64_t K, std::mt19937& rng) {
  const size_t bytes = size_t(weight_bytes(fmt, N, K));
  const bool huge = std::getenv("GEMV_HUGE") && std::strcmp(std::getenv("GEMV_HUGE"), "1") == 0;
  const size_t align = huge ? size_t(2) << 20 : 64;
  Weight data{std::unique_ptr<uint8_t, FreeDeleter>(static_cast<uint8_t*>(std::aligned_alloc(align, (bytes + align - 1) / align * align)))};
  if (huge) madvise(data.data(), (bytes + align - 1) / align * align, MADV_HUGEPAGE);
  std::normal_distribution<float> nd(0, 1);
  if (fmt == WeightFormat::Q8_0) {
    auto* b = reinterpret_cast<BlockQ8_0*>(data.data());
    for (int64_t j = 0; j < N * K / 32; ++j) {
      b[j].d = uint16_t(0x2000 + (rng() & 0x3ff));
      for (int t = 0; t < 32; ++t) b[j].qs[t] = int8_t(rng());
    }
  } else if (fmt == WeightFormat::BF16) {
    auto* u = reinterpret_cast<uint16_t*>(data.data());
    for (int64_t j = 0; j < N * K; ++j) u[j] = uint16_t(0x3c00 + (rng() & 0x3ff));
  } else {
    auto* u = reinterpret_cast<float*>(data.data());
    for (int64_t j = 0; j < N * K; ++j) u[j] = nd(rng);
  }
  return data;
}

// One decode step's GEMVs of a bench model (d = C, SwiGLU I, L layers, 50304-row head).
static void decode_step(const char* model, const char* fmts) {
  const bool tiny = std::strcmp(model, "tiny") == 0;
  const int64_t C = tiny ? 256 : 512, I = tiny ? 1024 : 2048, L = tiny ? 4 : 8, V = 50304;
  std::mt19937 rng(1);
  printf("| model | format | median µs / step | weight MB / step | GB/s | min µs |\n|---|---|---|---|---|---|\n");
  for (const char* f = fmts; *f; ++f) {
    const WeightFormat fmt = *f == 'q' ? WeightFormat::Q8_0 : *f == 'b' ? WeightFormat::BF16 : WeightFormat::F32;
    struct Call { std::vector<WeightRef> refs; int64_t K; };
    std::vector<Weight> store;
    std::vector<std::vector<float>> outs;
    std::vector<Call> calls;
    int64_t total = 0;
    auto add = [&](std::initializer_list<int64_t> ns, int64_t K) {
      Call c{{}, K};
      for (int64_t N : ns) {
        store.push_back(random_weight(fmt, N, K, rng));
        outs.emplace_back(size_t(N));
        c.refs.push_back(WeightRef{fmt, store.back().data(), N, outs.back().data(), N});
        total += weight_bytes(fmt, N, K);
      }
      calls.push_back(std::move(c));
    };
    store.reserve(size_t(8 * L + 1));
    outs.reserve(size_t(8 * L + 1));
    for (int64_t l = 0; l < L; ++l) {
      add({C, C, C}, C);
      add({C}, C);
      add({I, I}, C);
      add({C}, I);
    }
    add({V}, C);
    std::vector<float> x(static_cast<size_t>(I));
    std::normal_distribution<float> nd(0, 1);
    for (float& v : x) v = nd(rng);
    std::vector<double> ts;
    for (int r = 0; r < 200; ++r) {
      const double t0 = now();
      for (const Call& c : calls) cpu::lowp_linear(x.data(), 1, c.K, c.refs.data(), int(c.refs.size()));
      ts.push_back(now() - t0);
    }
    std::sort(ts.begin(), ts.end());
    const double t = ts[ts.size() / 2];
    printf("| %s | %s | %.1f | %.1f | %.1f | %.1f |\n", model, *f == 'q' ? "q8_0" : *f == 'b' ? "bf16" : "f32", t * 1e6, double(total) / 1e6, double(total) / t / 1e9, ts[0] * 1e6);
  }
  printf("kernels: %s\n", cpu::lowp_isa());
}

int main(int argc, char** argv) {
  if (const char* step = std::getenv("GEMV_STEP")) {
    decode_step(step, argc > 1 ? argv[1] : "fbq");
    return 0;
  }
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
  printf("| shape | format | median µs | weight GB/s | min µs |\n|---|---|---|---|---|\n");
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
      printf("| %s | %s | %.1f | %.1f | %.1f |\n", s.name, *f == 'q' ? "q8_0" : *f == 'b' ? "bf16" : "f32", t * 1e6, double(bytes * s.nw) / t / 1e9, ts[0] * 1e6);
    }
  }
  printf("kernels: %s\n", cpu::lowp_isa());
}
