// lowplinear GEMM for M > 1 (prefill, batches): y = x · Wᵀ with W in bf16 / q8_0 / f32, float32 x
// and float32 accumulation (see lowplinear_gemm.h, olmo/ops/lowplinear.h).
//
// Why not "convert a tile of W to float32 and call OpenBLAS": that was the first path and it left
// bf16/q8_0 prefill at 0.6-0.9x llama.cpp (bench/model/GGUF_RESULTS.md). OpenBLAS 0.3.21 runs its
// Haswell (AVX2) sgemm on Zen 5, repacks the converted tile a second time, and spins its own thread
// pool next to OpenMP's.
//
// The form here is an outer product over x rows: x is transposed once per call into k-major
// blocks of 16 / 32 rows (x^T[k][m]: one or two vectors per k), and each OpenMP thread takes a
// panel of kPanelRows weight rows, converts kPanelK columns of it to float32 (that buffer IS the
// packing buffer: no float32 copy of a whole weight ever exists), then, per k, loads the x vectors
// once and broadcasts one converted weight per W row of a register tile:
//   acc[n][m..m+16) += W[n][k] * x^T[k][m..m+16)
// so every accumulator lane is one output y[m][n]: no horizontal reductions, no k tail (any K
// works, one k per step), and the y tile is written once per panel block into a small per-thread
// buffer (transposed into y once per panel). The previous form (dot products of x rows and W rows,
// 4x4 tile, a horizontal reduction and a y read-modify-write per tile and 512-column block)
// measured ~118 GFLOP/s in the OLMo-1B bf16 prefill; see bench/model/LOWPREC.md for this one.
#include "lowplinear_gemm.h"

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own _mm*_undefined_* helpers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "f32_outer_tiles.h"
#include "olmo/tensor.h"

#if defined(__x86_64__) || defined(__i386__)
#define OLMO_X86 1
#include <immintrin.h>
#endif

namespace olmo::cpu {

#ifdef OLMO_X86

namespace {

#ifndef OLMO_GEMM_PANEL_K  // overridable for the kernel harness's sweeps only
#define OLMO_GEMM_PANEL_K 256
#endif
constexpr int64_t kPanelRows = 24;                 // W rows per panel (one OpenMP work item)
constexpr int64_t kPanelK = OLMO_GEMM_PANEL_K;     // columns per panel block (a multiple of 32 for q8_0)
constexpr int64_t kLdp = kPanelK;                  // panel row stride in floats
// Below ~2^20 multiply-adds one thread finishes before a team would have started.
constexpr int64_t kParallelMacs = int64_t(1) << 20;

#define OLMO_AVX2 __attribute__((target("avx2,fma,f16c")))
#define OLMO_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl")))

// Rows [r0, r0 + rows) x columns [k0, k0 + kc) of w as float32 into panel[r * kPanelK + k]. A macro,
// not a template, so each ISA's copy is compiled with that ISA's target attribute and inlines its
// BF16X16(dst, src) and Q8BLOCK(dst, block) converters.
#define OLMO_CONVERT_ROWS(BF16X16, Q8BLOCK)                                                           \
  for (int64_t r = 0; r < rows; ++r) {                                                               \
    float* dst = panel + r * kLdp;                                                                \
    if (w.fmt == WeightFormat::F32) {                                                                \
      std::memcpy(dst, static_cast<const float*>(w.data) + (r0 + r) * K + k0, size_t(kc) * sizeof(float)); \
    } else if (w.fmt == WeightFormat::BF16) {                                                        \
      const uint16_t* src = static_cast<const uint16_t*>(w.data) + (r0 + r) * K + k0;                \
      int64_t k = 0;                                                                                 \
      for (; k + 16 <= kc; k += 16) BF16X16(dst + k, src + k);                                       \
      for (; k < kc; ++k) dst[k] = bf16_to_f32(src[k]);                                              \
    } else { /* Q8_0: k0 and kc are multiples of 32 (K % 32 == 0, kPanelK % 32 == 0) */             \
      const BlockQ8_0* src = static_cast<const BlockQ8_0*>(w.data) + (r0 + r) * (K / 32) + k0 / 32;  \
      for (int64_t b = 0; b < kc / 32; ++b) Q8BLOCK(dst + b * 32, src[b]);                           \
    }                                                                                                \
  }

// The register tile (f32_outer_tiles.h) reads W from the converted panel: rows kLdp floats apart.

// ------------------------------------------------------------------ AVX-512

struct Avx512 {
  static constexpr int VL = 16;
  // Register tiles (of the 32 zmm): 32 x rows (2 vectors) x 12 W rows = 24 accumulators + 2 x + 1
  // broadcast; for a last block of <= 16 x rows, 16 x 24.
  static constexpr int NN2 = 12, NN1 = 24;

  OLMO_AVX512 static void bf16x16(float* dst, const uint16_t* src) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src));
    _mm512_store_ps(dst, _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)));
  }
  OLMO_AVX512 static void q8block(float* dst, const BlockQ8_0& b) {
    const __m512 d = _mm512_set1_ps(_cvtsh_ss(b.d));
    const __m128i q0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs));
    const __m128i q1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs + 16));
    _mm512_store_ps(dst, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q0))));
    _mm512_store_ps(dst + 16, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q1))));
  }
  OLMO_AVX512 static void convert(float* panel, const WeightRef& w, int64_t K, int64_t r0, int64_t rows, int64_t k0,
                                  int64_t kc) {
    OLMO_CONVERT_ROWS(bf16x16, q8block)
  }
  template <int MZ, int NN>
  OLMO_AVX512 static void tile(const float* xt, const float* w, int64_t kc, float* yb, bool add) {
    OLMO_F32_OUTER_TILE(__m512, 16, _mm512_load_ps, _mm512_store_ps, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps,
                        _mm512_setzero_ps, "v", kLdp)
  }
};

// ------------------------------------------------------------------ AVX2

struct Avx2 {
  static constexpr int VL = 8;
  // Of the 16 ymm: 16 x rows (2 vectors) x 6 W rows = 12 accumulators + 2 x + 1 broadcast; for a
  // last block of <= 8 x rows, 8 x 12.
  static constexpr int NN2 = 6, NN1 = 12;

  OLMO_AVX2 static void bf16x16(float* dst, const uint16_t* src) {
    const __m128i h0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
    const __m128i h1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 8));
    _mm256_store_ps(dst, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h0), 16)));
    _mm256_store_ps(dst + 8, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h1), 16)));
  }
  OLMO_AVX2 static void q8block(float* dst, const BlockQ8_0& b) {
    const __m256 d = _mm256_set1_ps(_cvtsh_ss(b.d));
    for (int j = 0; j < 32; j += 8) {
      const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b.qs + j));
      _mm256_store_ps(dst + j, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q))));
    }
  }
  OLMO_AVX2 static void convert(float* panel, const WeightRef& w, int64_t K, int64_t r0, int64_t rows, int64_t k0,
                                int64_t kc) {
    OLMO_CONVERT_ROWS(bf16x16, q8block)
  }
  template <int MZ, int NN>
  OLMO_AVX2 static void tile(const float* xt, const float* w, int64_t kc, float* yb, bool add) {
    OLMO_F32_OUTER_TILE(__m256, 8, _mm256_load_ps, _mm256_store_ps, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps,
                        _mm256_setzero_ps, "x", kLdp)
  }
};

// ------------------------------------------------------------------ driver

// 64-byte aligned float buffer (every vector load from it stays inside one cache line).
struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};
using AlignedFloats = std::unique_ptr<float[], FreeDeleter>;
inline AlignedFloats aligned_floats(int64_t n) {
  const size_t bytes = (size_t(n) * sizeof(float) + 63) / 64 * 64;
  return AlignedFloats(static_cast<float*>(std::aligned_alloc(64, std::max<size_t>(bytes, 64))));
}

using outer_tiles::RowBlock;

// Work items are panels of every weight of a fused call (q/k/v or gate/up share one team and one
// pass over x). Per panel and column block: convert once, then every row block against the
// panel's register tiles (W rows past the panel's end hold stale finite values or zeros and their
// results are never written out, so the tiles have no row edge cases).
template <class Kern>
void gemm_panels(const float* x, int64_t M, int64_t K, const WeightRef* ws, int nw) {
  constexpr int VL = Kern::VL;
  int64_t xt_floats, yb_floats, rows_total;
  const std::vector<RowBlock> blocks = outer_tiles::row_blocks(M, K, VL, kPanelRows, xt_floats, yb_floats);
  const std::vector<outer_tiles::PanelRef> panels = outer_tiles::weight_panels(ws, nw, kPanelRows, rows_total);
  const int64_t np = int64_t(panels.size());
  AlignedFloats xt = aligned_floats(xt_floats);
  // x^T in chunks of columns (all row blocks), shared by the team; rows >= M are zeros.
  constexpr int64_t kXtChunk = 64;
  const int64_t nchunks = (K + kXtChunk - 1) / kXtChunk;
#pragma omp parallel if (M * rows_total * K >= kParallelMacs)
  {
#pragma omp for schedule(static)
    for (int64_t c = 0; c < nchunks; ++c) {
      const int64_t k0 = c * kXtChunk, k1 = std::min(K, k0 + kXtChunk);
      for (const RowBlock& b : blocks) {
        const int64_t mw = b.mz * VL;
        float* dst = xt.get() + b.xoff;
        for (int64_t l = 0; l < mw; ++l) {
          const float* src = x + (b.m0 + l) * K;
          if (b.m0 + l < M)
            for (int64_t k = k0; k < k1; ++k) dst[k * mw + l] = src[k];
          else
            for (int64_t k = k0; k < k1; ++k) dst[k * mw + l] = 0.f;
        }
      }
    }  // implicit barrier: x^T complete before any panel starts
    AlignedFloats panel = aligned_floats(kPanelRows * kLdp);
    // Zeroed once: rows past a short last panel are never converted, and must not hold NaN
    // patterns or denormals from uninitialised memory (they are multiplied, then dropped).
    std::memset(panel.get(), 0, size_t(kPanelRows * kLdp) * sizeof(float));
    AlignedFloats ybuf = aligned_floats(yb_floats);
#pragma omp for schedule(dynamic, 1)
    for (int64_t p = 0; p < np; ++p) {
      const WeightRef& w = ws[panels[size_t(p)].w];
      const int64_t r0 = panels[size_t(p)].r0, rows = std::min(kPanelRows, w.n - r0);
      for (int64_t k0 = 0; k0 < K; k0 += kPanelK) {
        const int64_t kc = std::min(kPanelK, K - k0);
        Kern::convert(panel.get(), w, K, r0, rows, k0, kc);
        for (const RowBlock& b : blocks) {
          const float* xb = xt.get() + b.xoff + k0 * b.mz * VL;
          float* yb = ybuf.get() + b.yoff;
          if (b.mz == 2) {
            for (int64_t n0 = 0; n0 < rows; n0 += Kern::NN2)
              Kern::template tile<2, Kern::NN2>(xb, panel.get() + n0 * kLdp, kc, yb + n0 * 2 * VL, k0 > 0);
          } else {
            for (int64_t n0 = 0; n0 < rows; n0 += Kern::NN1)
              Kern::template tile<1, Kern::NN1>(xb, panel.get() + n0 * kLdp, kc, yb + n0 * VL, k0 > 0);
          }
        }
      }
      outer_tiles::write_panel_y(blocks, ybuf.get(), VL, M, w, r0, rows);
    }
  }
}

}  // namespace

bool lowp_gemm_f32_avx512(const float* x, int64_t M, int64_t K, const WeightRef* ws, int nw) {
  gemm_panels<Avx512>(x, M, K, ws, nw);
  return true;
}

bool lowp_gemm_f32_avx2(const float* x, int64_t M, int64_t K, const WeightRef* ws, int nw) {
  gemm_panels<Avx2>(x, M, K, ws, nw);
  return true;
}

#else  // not x86: the caller's portable path

bool lowp_gemm_f32_avx512(const float*, int64_t, int64_t, const WeightRef*, int) { return false; }
bool lowp_gemm_f32_avx2(const float*, int64_t, int64_t, const WeightRef*, int) { return false; }

#endif

}  // namespace olmo::cpu
