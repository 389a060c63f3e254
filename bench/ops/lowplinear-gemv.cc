// Batch-1 GEMV (decode) shapes of the bench models through cpu::lowp_linear, without node: the
// kernel itself, per thread, at the granularity a decode step calls it. Alternate two builds
// (e.g. `git stash` the change, build to another -o) to compare kernels on a shared machine.
//
//   g++ -O3 -march=native -fno-math-errno -fopenmp -Inative/include -Inative/cpu \
//     bench/ops/lowplinear-gemv.cc native/cpu/lowplinear.cc native/cpu/lowplinear_gemv512.cc \
//     native/cpu/lowplinear_gemm.cc native/cpu/lowplinear_gemm_q8.cc native/cpu/lowplinear_gemm_amx.cc native/cpu/lowplinear_rows4.cc \
//     native/cpu/work_pool.cc native/cpu/lowplinear_tune.cc native/cpu/streamread.cc native/cpu/memory.cc \
//     -lopenblas -o /tmp/gemv && OLMO_GEMV_PAR_BYTES=1e15 /tmp/gemv qbf
//
// GEMV_STEP=tiny|small|1b: instead, every GEMV of one decode step of that bench model in order (per
// layer q/k/v fused, o, gate/up fused, down; then the LM head), each layer with its own weights, so
// nothing is reused from cache between steps (as in real decoding); prints µs per step and the
// weight GB/s of the whole step (the bandwidth floor of bench/model's GGUF table counts the same
// bytes), alternated round by round with cpu/streamread.cc's read bandwidth over as many bytes
// (<= 2 GiB) on the same threads, and the per-round ratio GEMV / stream (GEMV_STEP_ROUNDS, default 5). OMP_NUM_THREADS=1 for one thread. GEMV_STEP_HEAD=f: the LM head in float32, as OLMo-1B's
// tied head is read in a `quantize: 'q8_0'` model (the embedding, and so the tied head, stays float32).
//
// GEMV_COLD=1: OLMo-1B shapes (and the tiny / small LM heads) out of cache, as a decode step
// reads them: each call runs on the next of enough copies of the weights to exceed 256 MB, and
// every call is followed by a read-only stream (a 64-bit integer sum, AVX-512 vectorised, on the
// same number of threads: OMP_NUM_THREADS) over a different copy of the same bytes, so the kernel
// and the memory's streaming rate are measured alternately, in the same seconds of load. Prints
// both rates (median of all calls) and their ratio.
//
// Argument: formats (q = q8_0, b = bf16, f = float32). Env: GEMV_ONLY=<substring of a shape name>;
// OLMO_GEMV_PAR_BYTES as in lowplinear.cc (a huge value: one thread, the per-thread rate);
// OLMO_CPU_ISA / OLMO_Q8_ACT pick kernels as in the addon. Shapes: tiny / small (d 256 / 512) qkv,
// MLP, out and the 50304-row LM head; weights up to 1 MB are L2-resident here (in a real decode
// step nothing is: every weight is touched once per token), the heads are not; "1b-rows L2":
// OLMo-1B's K = 2048 / 8192 rows, few enough to stay in L2 (the kernel's compute rate per thread).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <random>
#include <sys/mman.h>
#include <time.h>
#include <vector>

#include <omp.h>

#include "olmo/ops/lowplinear.h"
#include "olmo/ops/streamread.h"

using namespace olmo;

// BENCH_CPU_TIME=1: the calling thread's CPU time instead of wall time (one thread, OMP_NUM_THREADS=1
// and OLMO_GEMV_PAR_BYTES=1e15: a kernel's rate on a loaded machine, where wall time counts the
// slices other processes got).
static double now() {
  static const bool cpu = std::getenv("BENCH_CPU_TIME") && std::strcmp(std::getenv("BENCH_CPU_TIME"), "1") == 0;
  if (cpu) {
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

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
  const bool tiny = std::strcmp(model, "tiny") == 0, b1 = std::strcmp(model, "1b") == 0;
  const int64_t C = b1 ? 2048 : tiny ? 256 : 512, I = b1 ? 8192 : tiny ? 1024 : 2048, L = b1 ? 16 : tiny ? 4 : 8, V = 50304;
  // OLMo-1B ties its head to the embedding, which a q8_0 / bf16 load keeps in the model dtype
  // (float32 by default): GEMV_STEP_HEAD=f reads the head as float32 like that.
  const char* head_fmt = std::getenv("GEMV_STEP_HEAD");
  std::mt19937 rng(1);
  printf("| model | format | median µs / step | weight MB / step | GB/s | min µs | stream GB/s: median (range) | GEMV / stream: median |\n|---|---|---|---|---|---|---|---|\n");
  for (const char* f = fmts; *f; ++f) {
    const WeightFormat fmt = *f == 'q' ? WeightFormat::Q8_0 : *f == 'b' ? WeightFormat::BF16 : WeightFormat::F32;
    struct Call { std::vector<WeightRef> refs; int64_t K; };
    std::vector<Weight> store;
    std::vector<std::vector<float>> outs;
    std::vector<Call> calls;
    int64_t total = 0;
    auto add = [&](std::initializer_list<int64_t> ns, int64_t K, WeightFormat wf) {
      Call c{{}, K};
      for (int64_t N : ns) {
        store.push_back(random_weight(wf, N, K, rng));
        outs.emplace_back(size_t(N));
        c.refs.push_back(WeightRef{wf, store.back().data(), N, outs.back().data(), N});
        total += weight_bytes(wf, N, K);
      }
      calls.push_back(std::move(c));
    };
    store.reserve(size_t(8 * L + 1));
    outs.reserve(size_t(8 * L + 1));
    for (int64_t l = 0; l < L; ++l) {
      add({C, C, C}, C, fmt);
      add({C}, C, fmt);
      add({I, I}, C, fmt);
      add({C}, I, fmt);
    }
    add({V}, C, head_fmt && *head_fmt == 'f' ? WeightFormat::F32 : fmt);
    std::vector<float> x(static_cast<size_t>(I));
    std::normal_distribution<float> nd(0, 1);
    for (float& v : x) v = nd(rng);
    // GEMV_STEP_ROUNDS rounds (default 5) alternating a batch of decode steps with the native
    // streamReadBandwidth (cpu/streamread.cc, the GGUF bench's floor) over the same number of bytes
    // (clamped to 2 GiB) on the same threads, so both rates come from the same seconds of load.
    const int rounds = std::getenv("GEMV_STEP_ROUNDS") ? std::atoi(std::getenv("GEMV_STEP_ROUNDS")) : 5;
    const int per_round = b1 ? 4 : 40;
    std::vector<double> ts, ratios, streams;
    for (int r = 0; r < rounds; ++r) {
      std::vector<double> rt;
      for (int i = 0; i < per_round; ++i) {
        const double t0 = now();
        for (const Call& c : calls) cpu::lowp_linear(x.data(), 1, c.K, c.refs.data(), int(c.refs.size()));
        rt.push_back(now() - t0);
      }
      const double bw = cpu::stream_read_bandwidth(std::min<int64_t>(total, int64_t(2) << 30) / 4096 * 4096, omp_get_max_threads());
      std::sort(rt.begin(), rt.end());
      ratios.push_back(double(total) / rt[rt.size() / 2] / 1e9 / bw);
      streams.push_back(bw);
      ts.insert(ts.end(), rt.begin(), rt.end());
    }
    std::sort(ts.begin(), ts.end());
    std::sort(streams.begin(), streams.end());
    const double t = ts[ts.size() / 2];
    std::string rs;
    for (double q : ratios) rs += (rs.empty() ? "" : " ") + std::to_string(q).substr(0, 4);
    std::sort(ratios.begin(), ratios.end());
    printf("| %s | %s | %.1f | %.1f | %.1f | %.1f | %.1f (%.1f-%.1f) | %.2f (per round: %s) |\n", model, *f == 'q' ? "q8_0" : *f == 'b' ? "bf16" : "f32",
           t * 1e6, double(total) / 1e6, double(total) / t / 1e9, ts[0] * 1e6, streams[streams.size() / 2], streams.front(), streams.back(),
           ratios[ratios.size() / 2], rs.c_str());
    fflush(stdout);
  }
  printf("kernels: %s\n", cpu::lowp_isa());
}

// Read-only streaming over [p, p + bytes) on omp_get_max_threads() threads: the rate the GEMV is
// compared with (what bench/model's bandwidth floor measures, but over the GEMV's own bytes).
static uint64_t stream_sum(const uint8_t* p, int64_t bytes) {
  const auto* u = reinterpret_cast<const uint64_t*>(p);
  const int64_t n = bytes / 8;
  uint64_t s = 0;
#pragma omp parallel for reduction(+ : s) schedule(static) if (omp_get_max_threads() > 1)
  for (int64_t i = 0; i < n; ++i) s += u[i];
  return s;
}

static void cold(const char* fmts) {
  struct Shape { const char* name; int64_t N, K; int nw; };
  const Shape shapes[] = {
    {"1b qkv 3x2048x2048", 2048, 2048, 3}, {"1b o 2048x2048", 2048, 2048, 1}, {"1b up 2x8192x2048", 8192, 2048, 2},
    {"1b down 2048x8192", 2048, 8192, 1}, {"1b head 50304x2048", 50304, 2048, 1},
    {"tiny head 50304x256", 50304, 256, 1}, {"small head 50304x512", 50304, 512, 1},
  };
  const char* only = std::getenv("GEMV_ONLY");
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0, 1);
  printf("| shape | format | threads | GEMV GB/s | stream GB/s | GEMV / stream | GEMV median µs |\n|---|---|---|---|---|---|---|\n");
  volatile uint64_t sink = 0;
  for (const Shape& s : shapes) {
    if (only && !std::strstr(s.name, only)) continue;
    for (const char* f = fmts; *f; ++f) {
      const WeightFormat fmt = *f == 'q' ? WeightFormat::Q8_0 : *f == 'b' ? WeightFormat::BF16 : WeightFormat::F32;
      const int64_t bytes = weight_bytes(fmt, s.N, s.K) * s.nw;  // one call's weights
      const int copies = int(std::max<int64_t>(4, ((int64_t(256) << 20) + bytes - 1) / bytes));
      std::vector<std::vector<Weight>> w(static_cast<size_t>(copies));
      std::vector<std::vector<WeightRef>> refs(static_cast<size_t>(copies));
      std::vector<std::vector<float>> ys(size_t(s.nw), std::vector<float>(size_t(s.N)));
      for (int c = 0; c < copies; ++c)
        for (int i = 0; i < s.nw; ++i) {
          w[size_t(c)].push_back(random_weight(fmt, s.N, s.K, rng));
          refs[size_t(c)].push_back(WeightRef{fmt, w[size_t(c)].back().data(), s.N, ys[size_t(i)].data(), s.N});
        }
      std::vector<float> x(size_t(s.K));
      for (float& v : x) v = nd(rng);
      const int reps = std::max(3 * copies, int(std::min<int64_t>(200, int64_t(4e9) / bytes)));
      std::vector<double> tg, ts;
      for (int r = 0; r < reps; ++r) {
        const int c = r % copies, c2 = (r + copies / 2) % copies;
        double t0 = now();
        cpu::lowp_linear(x.data(), 1, s.K, refs[size_t(c)].data(), s.nw);
        tg.push_back(now() - t0);
        // The stream reads weight 0 of another copy..., every weight of it (same byte count).
        t0 = now();
        uint64_t acc = 0;
        for (int i = 0; i < s.nw; ++i) acc += stream_sum(w[size_t(c2)][size_t(i)].data(), weight_bytes(fmt, s.N, s.K));
        ts.push_back(now() - t0);
        sink = sink + acc;
      }
      std::sort(tg.begin(), tg.end());
      std::sort(ts.begin(), ts.end());
      const double g = double(bytes) / tg[tg.size() / 2] / 1e9, st = double(bytes) / ts[ts.size() / 2] / 1e9;
      printf("| %s | %s | %d | %.1f | %.1f | %.2f | %.1f |\n", s.name, *f == 'q' ? "q8_0" : *f == 'b' ? "bf16" : "f32", omp_get_max_threads(), g, st, g / st, tg[tg.size() / 2] * 1e6);
      fflush(stdout);
    }
  }
  printf("kernels: %s\n", cpu::lowp_isa());
}

int main(int argc, char** argv) {
  if (const char* c = std::getenv("GEMV_COLD"); c && std::strcmp(c, "1") == 0) {
    cold(argc > 1 ? argv[1] : "q");
    return 0;
  }
  if (const char* step = std::getenv("GEMV_STEP")) {
    decode_step(step, argc > 1 ? argv[1] : "fbq");
    return 0;
  }
  struct Shape { const char* name; int64_t N, K; int nw; };
  const Shape shapes[] = {
    {"tiny qkv 3x256x256", 256, 256, 3}, {"tiny up 2x1024x256", 1024, 256, 2}, {"tiny down 256x1024", 256, 1024, 1},
    {"tiny head 50304x256", 50304, 256, 1}, {"small qkv 3x512x512", 512, 512, 3}, {"small o 512x512", 512, 512, 1},
    {"small up 2x2048x512", 2048, 512, 2}, {"small down 512x2048", 512, 2048, 1}, {"small head 50304x512", 50304, 512, 1},
    // OLMo-1B's K = 2048 / 8192 rows, few enough to stay in L2: the kernel's compute rate per thread
    {"1b-rows L2 256x2048", 256, 2048, 1}, {"1b-rows L2 64x8192", 64, 8192, 1},
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
