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

// One register tile: NN W rows (ldw floats apart) x MZ vectors of x rows over kc columns.
// xt: this row block's x^T from column k0 on (MZ * VL floats per k, 64-byte aligned); yb: NN rows of
// MZ * VL floats, stored (first k block) or added to (later blocks).
#define OLMO_F32_TILE_BODY(VEC, VL, LOAD, STORE, SET1, FMA, ADD, ZERO, CONSTRAINT)                     \
  VEC acc[NN * MZ];                                                                                  \
  _Pragma("GCC unroll 32") for (int i = 0; i < NN * MZ; ++i) acc[i] = ZERO();                        \
  _Pragma("GCC unroll 2") for (int64_t k = 0; k < kc; ++k) {                                         \
    VEC xv[MZ];                                                                                      \
    for (int z = 0; z < MZ; ++z) xv[z] = LOAD(xt + k * (MZ * VL) + z * VL);                          \
    for (int n = 0; n < NN; ++n) {                                                                   \
      /* one broadcast per W row and k, kept in a register for its MZ FMAs (without the asm GCC  */  \
      /* folds it into each FMA as a memory operand: MZ loads instead of one) */                    \
      VEC b = SET1(w[n * ldw + k]);                                                                  \
      asm("" : "+" CONSTRAINT(b));                                                                   \
      for (int z = 0; z < MZ; ++z) acc[n * MZ + z] = FMA(xv[z], b, acc[n * MZ + z]);                 \
    }                                                                                                \
  }                                                                                                  \
  if (add) {                                                                                         \
    _Pragma("GCC unroll 32") for (int i = 0; i < NN * MZ; ++i)                                       \
      STORE(yb + i * VL, ADD(LOAD(yb + i * VL), acc[i]));                                            \
  } else {                                                                                           \
    _Pragma("GCC unroll 32") for (int i = 0; i < NN * MZ; ++i) STORE(yb + i * VL, acc[i]);           \
  }

struct Avx512 {
  static constexpr int VL = 16;
  // Of the 32 zmm: 32 x rows (2 vectors) x 12 W rows = 24 accumulators + 2 x + 1 broadcast; for a
  // last block of <= 16 x rows, 16 x 24.
  static constexpr int NN2 = 12, NN1 = 24;
  template <int MZ, int NN>
  OLMO_AVX512 static void tile(const float* xt, const float* w, int64_t ldw, int64_t kc, float* yb, bool add) {
    OLMO_F32_TILE_BODY(__m512, 16, _mm512_load_ps, _mm512_store_ps, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps,
                       _mm512_setzero_ps, "v")
  }
};

struct Avx2 {
  static constexpr int VL = 8;
  // Of the 16 ymm: 16 x rows (2 vectors) x 6 W rows = 12 accumulators + 2 x + 1 broadcast; for a
  // last block of <= 8 x rows, 8 x 12.
  static constexpr int NN2 = 6, NN1 = 12;
  template <int MZ, int NN>
  OLMO_AVX2 static void tile(const float* xt, const float* w, int64_t ldw, int64_t kc, float* yb, bool add) {
    OLMO_F32_TILE_BODY(__m256, 8, _mm256_load_ps, _mm256_store_ps, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps,
                       _mm256_setzero_ps, "x")
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

// A block of x rows: [m0, m0 + mz * VL) (rows past M are zeros in x^T, their outputs dropped).
struct RowBlock {
  int64_t m0;
  int mz;        // vectors per k: 2, or 1 for a last block of <= VL rows
  int64_t xoff;  // first float of its x^T (K * mz * VL floats, k-major)
  int64_t yoff;  // first float of its kPanelRows x (mz * VL) tile in a thread's y buffer
};

struct PanelRef {
  int w;       // index into ws
  int64_t r0;  // first W row
};

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
  // y[m][r0 + n] = ybuf[n][m - m0] for the valid rows of both.
  for (const RowBlock& b : *job.blocks) {
    const int64_t mw = b.mz * VL, mv = std::min<int64_t>(mw, job.M - b.m0);
    const float* yb = ybuf + b.yoff;
    for (int64_t m = 0; m < mv; ++m) {
      float* y = w.y + (b.m0 + m) * w.ldy + r0;
      for (int64_t n = 0; n < rows; ++n) y[n] = yb[n * mw + m];
    }
  }
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
  std::vector<RowBlock> blocks;
  int64_t xt_floats = 0, yb_floats = 0;
  for (int64_t m0 = 0; m0 < M;) {
    const int mz = M - m0 <= VL ? 1 : 2;
    blocks.push_back({m0, mz, xt_floats, yb_floats});
    xt_floats += K * mz * VL;
    yb_floats += kPanelRows * mz * VL;
    m0 += mz * VL;
  }
  std::vector<PanelRef> panels;
  int64_t rows_total = 0;
  for (int i = 0; i < nw; ++i) {
    for (int64_t r0 = 0; r0 < ws[i].n; r0 += kPanelRows) panels.push_back({i, r0});
    rows_total += ws[i].n;
  }
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
