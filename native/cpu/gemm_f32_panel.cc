// float32 panel GEMM for short prompts (see gemm_f32_panel.h): y_i = x · W_iᵀ, W_i read in place.
//
// Why a separate kernel from lowplinear_gemm.cc's (which also takes float32 weights): that one
// converts every 24-row x 256-column block of W into a packing buffer (for float32 a plain memcpy),
// allocates x^T, the packing buffer and a y buffer per call and per OpenMP thread, and starts an
// OpenMP team per call. In the tiny bench model's 32-token prefill (K = 256, N = 256..1024) each
// GEMM is ~40-160 µs, so those fixed costs and the separate q / k / v and gate / up calls were a
// visible share. Here one call serves all the linears that share x (q/k/v, gate/up: one x^T, one
// pool job), a register tile broadcasts W values straight from the weight's rows (a float32 weight
// IS already float32 rows; only a short last panel is copied, zero-padded, so the tiles need no
// row edge cases), and the scratch is per thread and kept between calls.
//
// The register tile and the k blocking are lowplinear_gemm.cc's (outer product over x rows: per k
// load the x^T vectors once and FMA one broadcast W value per W row into accumulators whose lanes
// are single outputs y[m][n]; k in 256-column blocks, each block's tile stored or added to the
// per-thread y buffer in order), so every output is summed in the same order there and here: the
// same bits, whichever path or fusion a product takes.
#include "gemm_f32_panel.h"

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own _mm*_undefined_* helpers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "env_switch.h"
#include "f32_outer_tiles.h"
#include "work_pool.h"

#if defined(__x86_64__) || defined(__i386__)
#define OLMO_X86 1
#include <immintrin.h>
#endif

namespace olmo::cpu {

#ifdef OLMO_X86

namespace {

constexpr int64_t kPanelRows = 24;  // W rows per work item (as lowplinear_gemm.cc)
constexpr int64_t kPanelK = 256;    // k block: the summation order lowplinear_gemm.cc uses (see top)
// Below ~2^20 multiply-adds one thread finishes before a helper would have joined.
constexpr int64_t kParallelMacs = int64_t(1) << 20;

#define OLMO_AVX2 __attribute__((target("avx2,fma")))
#define OLMO_AVX512 __attribute__((target("avx2,fma,avx512f")))

// The register tile (f32_outer_tiles.h) reads W in place: rows ldw (= K) floats apart.

struct Avx512 {
  static constexpr int VL = 16;
  // Of the 32 zmm: 32 x rows (2 vectors) x 12 W rows = 24 accumulators + 2 x + 1 broadcast; for a
  // last block of <= 16 x rows, 16 x 24.
  static constexpr int NN2 = 12, NN1 = 24;
  template <int MZ, int NN>
  OLMO_AVX512 static void tile(const float* xt, const float* w, int64_t ldw, int64_t kc, float* yb, bool add) {
    OLMO_F32_OUTER_TILE(__m512, 16, _mm512_load_ps, _mm512_store_ps, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps,
                        _mm512_setzero_ps, "v", ldw)
  }
};

struct Avx2 {
  static constexpr int VL = 8;
  // Of the 16 ymm: 16 x rows (2 vectors) x 6 W rows = 12 accumulators + 2 x + 1 broadcast; for a
  // last block of <= 8 x rows, 8 x 12.
  static constexpr int NN2 = 6, NN1 = 12;
  template <int MZ, int NN>
  OLMO_AVX2 static void tile(const float* xt, const float* w, int64_t ldw, int64_t kc, float* yb, bool add) {
    OLMO_F32_OUTER_TILE(__m256, 8, _mm256_load_ps, _mm256_store_ps, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps,
                        _mm256_setzero_ps, "x", ldw)
  }
};

// A 64-byte aligned float buffer that only grows: per-thread scratch kept between calls (its size
// is bounded by the largest call: M <= 128 rows of K floats for x^T, a few KiB for the rest).
struct Scratch {
  struct FreeDeleter {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float[], FreeDeleter> p;
  int64_t cap = 0;
  float* get(int64_t n) {
    if (n > cap) {
      const size_t bytes = (size_t(n) * sizeof(float) + 63) / 64 * 64;
      p.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
      cap = int64_t(bytes / sizeof(float));
    }
    return p.get();
  }
};

using outer_tiles::PanelRef;
using outer_tiles::RowBlock;

struct Job {
  const WeightRef* ws;
  int64_t K;
  int64_t M;
  const float* xt;
  const std::vector<RowBlock>* blocks;
  const std::vector<PanelRef>* panels;
  int64_t yb_floats;
};

// One panel: kPanelRows rows of one weight against every row block, then its y tile written out.
template <class Kern>
void run_panel(const Job& job, int64_t p) {
  constexpr int VL = Kern::VL;
  thread_local Scratch ybuf_s, tail_s;
  const PanelRef pr = (*job.panels)[size_t(p)];
  const WeightRef& w = job.ws[pr.w];
  const int64_t K = job.K, r0 = pr.r0, rows = std::min(kPanelRows, w.n - r0);
  float* ybuf = ybuf_s.get(job.yb_floats);
  const float* wp = static_cast<const float*>(w.data) + r0 * K;
  int64_t ldw = K;
  if (rows < kPanelRows) {
    // The tiles always run whole (NN rows): a short last panel is copied into zero-padded rows so
    // they never read past the weight (the padding rows' results are dropped).
    float* t = tail_s.get(kPanelRows * K);
    std::memcpy(t, wp, size_t(rows * K) * sizeof(float));
    std::memset(t + rows * K, 0, size_t((kPanelRows - rows) * K) * sizeof(float));
    wp = t;
  }
  for (int64_t k0 = 0; k0 < K; k0 += kPanelK) {
    const int64_t kc = std::min(kPanelK, K - k0);
    for (const RowBlock& b : *job.blocks) {
      const float* xb = job.xt + b.xoff + k0 * b.mz * VL;
      float* yb = ybuf + b.yoff;
      if (b.mz == 2) {
        for (int64_t n0 = 0; n0 < rows; n0 += Kern::NN2)
          Kern::template tile<2, Kern::NN2>(xb, wp + n0 * ldw + k0, ldw, kc, yb + n0 * 2 * VL, k0 > 0);
      } else {
        for (int64_t n0 = 0; n0 < rows; n0 += Kern::NN1)
          Kern::template tile<1, Kern::NN1>(xb, wp + n0 * ldw + k0, ldw, kc, yb + n0 * VL, k0 > 0);
      }
    }
  }
  outer_tiles::write_panel_y(*job.blocks, ybuf, VL, job.M, w, r0, rows);
}

// OLMO_PANEL_POOL=0 runs the panels on the OpenMP team (fork-join, static wake-up of the team)
// instead of the work pool, for A/B measurements.
bool panel_pool_enabled() {
  static const bool on = env_switch_on("OLMO_PANEL_POOL");
  return on;
}

template <class Kern>
void gemm(const float* x, int64_t M, int64_t K, const WeightRef* ws, int nw) {
  constexpr int VL = Kern::VL;
  int64_t xt_floats, yb_floats, rows_total;
  const std::vector<RowBlock> blocks = outer_tiles::row_blocks(M, K, VL, kPanelRows, xt_floats, yb_floats);
  const std::vector<PanelRef> panels = outer_tiles::weight_panels(ws, nw, kPanelRows, rows_total);
  // x^T, k-major per row block, gathered once by the caller for every weight (M * K floats: a few
  // µs next to the GEMM); rows >= M are zeros.
  thread_local Scratch xt_s;
  float* xt = xt_s.get(xt_floats);
  for (const RowBlock& b : blocks) {
    const int64_t mw = b.mz * VL;
    float* dst = xt + b.xoff;
    for (int64_t l = 0; l < mw; ++l) {
      if (b.m0 + l < M) {
        const float* src = x + (b.m0 + l) * K;
        for (int64_t k = 0; k < K; ++k) dst[k * mw + l] = src[k];
      } else {
        for (int64_t k = 0; k < K; ++k) dst[k * mw + l] = 0.f;
      }
    }
  }
  const Job job{ws, K, M, xt, &blocks, &panels, yb_floats};
  const int64_t np = int64_t(panels.size());
  const bool parallel = M * rows_total * K >= kParallelMacs;
  if (!parallel) {
    for (int64_t p = 0; p < np; ++p) run_panel<Kern>(job, p);
  } else if (panel_pool_enabled()) {
    pool_run(np, 1, /*wake=*/true,
             [](void* ctx, int64_t b, int64_t e) {
               for (int64_t p = b; p < e; ++p) run_panel<Kern>(*static_cast<const Job*>(ctx), p);
             },
             const_cast<Job*>(&job));
  } else {
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t p = 0; p < np; ++p) run_panel<Kern>(job, p);
  }
}

}  // namespace

bool f32_panel_gemm(const float* x, int64_t M, int64_t K, const WeightRef* ws, int nw) {
  if (M == 0 || nw == 0) return true;
  // The kernel set follows lowplinear's choice (CPU features, OLMO_CPU_ISA, setLowpIsa), so tests
  // force the AVX2 and portable paths on any CPU the way they do for lowplinear. Only the name's
  // prefix is read: lowp_isa() rewrites its name string on every call, with the same characters
  // unless setLowpIsa ran in between (which, like lowplinear's own kernels, is not meant to race
  // with running ops).
  const char* isa = lowp_isa();
  if (std::strncmp(isa, "avx512", 6) == 0 || std::strncmp(isa, "amx", 3) == 0) {
    gemm<Avx512>(x, M, K, ws, nw);
    return true;
  }
  if (std::strncmp(isa, "avx2", 4) == 0) {
    gemm<Avx2>(x, M, K, ws, nw);
    return true;
  }
  return false;
}

#else  // not x86: the caller's portable path

bool f32_panel_gemm(const float*, int64_t, int64_t, const WeightRef*, int) { return false; }

#endif

}  // namespace olmo::cpu
