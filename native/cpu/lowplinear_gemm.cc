// lowplinear GEMM for M > 1 (prefill, batches): y = x · Wᵀ with W in bf16 / q8_0 / f32, float32 x
// and float32 accumulation (see lowplinear_gemm.h, olmo/ops/lowplinear.h).
//
// Why not "convert a tile of W to float32 and call OpenBLAS": that was the previous path and it
// left bf16/q8_0 prefill at 0.6-0.9x llama.cpp (bench/model/GGUF_RESULTS.md). OpenBLAS 0.3.21 runs
// its Haswell (AVX2) sgemm on Zen 5, repacks the converted tile a second time, and spins its own
// thread pool next to OpenMP's (perf on the small-model bf16 prefill: ~30% of the time in
// sched_yield and the kernel's irq path, 10% in OpenBLAS's copy routines).
//
// Here each OpenMP thread takes a panel of kPanelRows weight rows, converts up to kPanelK columns
// of it to float32 in a thread-local buffer (that buffer IS the packing buffer: 32 KiB, L1/L2
// resident; no float32 copy of a whole weight ever exists), then multiplies every x row against it
// with an MR x NR register tile of dot-product accumulators (x rows and W rows both contiguous in k;
// no transposition), reduced horizontally once per panel column block. Each weight element is
// converted once per call and then used M times, so the conversion is ~1/M of the work.
#include "lowplinear_gemm.h"

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own _mm*_undefined_* helpers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "olmo/tensor.h"

#if defined(__x86_64__) || defined(__i386__)
#define OLMO_X86 1
#include <immintrin.h>
#endif

namespace olmo::cpu {

#ifdef OLMO_X86

namespace {

constexpr int64_t kPanelRows = 16;  // W rows per panel (one OpenMP work item)
constexpr int64_t kPanelK = 512;    // columns per panel block: 16 x 512 floats = 32 KiB (a multiple of 32 for q8_0)
// Below ~2^20 multiply-adds one thread finishes before a team would have started.
constexpr int64_t kParallelMacs = int64_t(1) << 20;

#define OLMO_AVX2 __attribute__((target("avx2,fma,f16c")))
#define OLMO_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl")))

// ------------------------------------------------------------------ shared pieces

// r[i] = Σ lanes of a[i], for 8 vectors (hadd tree: 7 ops instead of 8 separate reductions).
OLMO_AVX2 inline __m256 reduce8(const __m256* a) {
  const __m256 t0 = _mm256_hadd_ps(a[0], a[1]), t1 = _mm256_hadd_ps(a[2], a[3]);
  const __m256 t2 = _mm256_hadd_ps(a[4], a[5]), t3 = _mm256_hadd_ps(a[6], a[7]);
  const __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
  return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

// Rows [r0, r0 + rows) x columns [k0, k0 + kc) of w as float32 into panel[r * ldp + k]. A macro, not
// a template, so each ISA's copy is compiled with that ISA's target attribute and inlines its
// BF16X16(dst, src) and Q8BLOCK(dst, block) converters.
#define OLMO_CONVERT_ROWS(BF16X16, Q8BLOCK)                                                           \
  for (int64_t r = 0; r < rows; ++r) {                                                               \
    float* dst = panel + r * ldp;                                                                    \
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

// ------------------------------------------------------------------ AVX-512: 4 x rows x 4 W rows

struct Avx512 {
  // 16 accumulators + 4 x + 1 W of the 32 zmm registers. Measured single-threaded on Zen 5 at
  // M = 32 (tools: a C harness around this file): 4x4 ~165 GFLOP/s (~75% of the FMA peak); 4x6,
  // 6x4 and 8x3 tiles 110-140, panels of 32 rows or 256 / 1024 columns slower too.
  static constexpr int MR = 4, NR = 4;
  static constexpr int64_t PR = kPanelRows;

  OLMO_AVX512 static void bf16x16(float* dst, const uint16_t* src) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src));
    _mm512_storeu_ps(dst, _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)));
  }
  OLMO_AVX512 static void q8block(float* dst, const BlockQ8_0& b) {
    const __m512 d = _mm512_set1_ps(_cvtsh_ss(b.d));
    const __m128i q0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs));
    const __m128i q1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs + 16));
    _mm512_storeu_ps(dst, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q0))));
    _mm512_storeu_ps(dst + 16, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q1))));
  }
  OLMO_AVX512 static void convert(float* panel, int64_t ldp, const WeightRef& w, int64_t K, int64_t r0, int64_t rows,
                                  int64_t k0, int64_t kc) {
    OLMO_CONVERT_ROWS(bf16x16, q8block)
  }

  // out[m * NR + n] = Σ_k xr[m][k] · wr[n][k], k < kc.
  OLMO_AVX512 static void tile(const float* const* xr, const float* const* wr, int64_t kc, float* out) {
    __m512 acc[MR * NR];
    for (auto& a : acc) a = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 16 <= kc; k += 16) {
      __m512 xv[MR];
      for (int m = 0; m < MR; ++m) {
        xv[m] = _mm512_load_ps(xr[m] + k);
        // Pin x in a register: without this GCC folds the x load into every FMA (4 reloads per
        // vector), making the loop load-bound (20 loads per 16 FMAs instead of 8).
        asm("" : "+v"(xv[m]));
      }
      for (int n = 0; n < NR; ++n) {
        __m512 wv = _mm512_load_ps(wr[n] + k);
        asm("" : "+v"(wv));  // the same for W
        for (int m = 0; m < MR; ++m) acc[m * NR + n] = _mm512_fmadd_ps(xv[m], wv, acc[m * NR + n]);
      }
    }
    if (k < kc) {  // bf16 / f32 weights with K % 16 != 0: masked loads read nothing past the row
      const __mmask16 mask = __mmask16((1u << (kc - k)) - 1u);
      __m512 xv[MR];
      for (int m = 0; m < MR; ++m) xv[m] = _mm512_maskz_loadu_ps(mask, xr[m] + k);
      for (int n = 0; n < NR; ++n) {
        const __m512 wv = _mm512_maskz_loadu_ps(mask, wr[n] + k);
        for (int m = 0; m < MR; ++m) acc[m * NR + n] = _mm512_fmadd_ps(xv[m], wv, acc[m * NR + n]);
      }
    }
    __m256 half[MR * NR];
    for (int i = 0; i < MR * NR; ++i)
      half[i] = _mm256_add_ps(_mm512_castps512_ps256(acc[i]),
                              _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[i]), 1)));
    for (int i = 0; i < MR * NR; i += 8) _mm256_storeu_ps(out + i, reduce8(half + i));
  }
};

// ------------------------------------------------------------------ AVX2: 2 x rows x 4 W rows

struct Avx2 {
  static constexpr int MR = 2, NR = 4;
  static constexpr int64_t PR = 16;  // 8 accumulators + 2 x + 1 W vector of the 16 ymm registers

  OLMO_AVX2 static void bf16x16(float* dst, const uint16_t* src) {
    const __m128i h0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
    const __m128i h1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 8));
    _mm256_storeu_ps(dst, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h0), 16)));
    _mm256_storeu_ps(dst + 8, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h1), 16)));
  }
  OLMO_AVX2 static void q8block(float* dst, const BlockQ8_0& b) {
    const __m256 d = _mm256_set1_ps(_cvtsh_ss(b.d));
    for (int j = 0; j < 32; j += 8) {
      const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b.qs + j));
      _mm256_storeu_ps(dst + j, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q))));
    }
  }
  OLMO_AVX2 static void convert(float* panel, int64_t ldp, const WeightRef& w, int64_t K, int64_t r0, int64_t rows,
                                int64_t k0, int64_t kc) {
    OLMO_CONVERT_ROWS(bf16x16, q8block)
  }

  OLMO_AVX2 static void tile(const float* const* xr, const float* const* wr, int64_t kc, float* out) {
    __m256 acc[MR * NR];
    for (auto& a : acc) a = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 8 <= kc; k += 8) {
      __m256 x0 = _mm256_load_ps(xr[0] + k), x1 = _mm256_load_ps(xr[1] + k);
      asm("" : "+x"(x0), "+x"(x1));  // keep x and W in registers (see Avx512::tile)
      for (int n = 0; n < NR; ++n) {
        __m256 wv = _mm256_load_ps(wr[n] + k);
        asm("" : "+x"(wv));
        acc[n] = _mm256_fmadd_ps(x0, wv, acc[n]);
        acc[NR + n] = _mm256_fmadd_ps(x1, wv, acc[NR + n]);
      }
    }
    if (k < kc) {  // K % 8 != 0: maskload reads nothing past the row
      const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(int(kc - k)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
      const __m256 x0 = _mm256_maskload_ps(xr[0] + k, mask), x1 = _mm256_maskload_ps(xr[1] + k, mask);
      for (int n = 0; n < NR; ++n) {
        const __m256 wv = _mm256_maskload_ps(wr[n] + k, mask);
        acc[n] = _mm256_fmadd_ps(x0, wv, acc[n]);
        acc[NR + n] = _mm256_fmadd_ps(x1, wv, acc[NR + n]);
      }
    }
    _mm256_storeu_ps(out, reduce8(acc));
  }
};

// ------------------------------------------------------------------ driver

// 64-byte aligned float buffer: every full-vector load from it stays inside one cache line (with
// malloc's 16-byte alignment each 64-byte load straddled two lines, which halved the tile's speed).
struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};
using AlignedFloats = std::unique_ptr<float[], FreeDeleter>;
inline AlignedFloats aligned_floats(int64_t n) {
  const size_t bytes = (size_t(n) * sizeof(float) + 63) / 64 * 64;
  return AlignedFloats(static_cast<float*>(std::aligned_alloc(64, std::max<size_t>(bytes, 64))));
}
inline int64_t round16(int64_t n) { return (n + 15) / 16 * 16; }

struct PanelRef {
  int w;       // index into ws
  int64_t r0;  // first row
};

// Work items are panels of every weight of a fused call (q/k/v or gate/up share one team and one
// pass over x). Per panel and column block: convert once, then all x rows in MR-row blocks against
// NR-row tiles. Rows past M or past the panel are clamped to the last valid one (their results are
// computed from real data and dropped), so the tile kernels have no row edge cases.
template <class Kern>
void gemm_panels(const float* x, int64_t M, int64_t K, const WeightRef* ws, int nw) {
  constexpr int MR = Kern::MR, NR = Kern::NR;
  std::vector<PanelRef> panels;
  int64_t rows_total = 0;
  for (int i = 0; i < nw; ++i) {
    for (int64_t r0 = 0; r0 < ws[i].n; r0 += Kern::PR) panels.push_back({i, r0});
    rows_total += ws[i].n;
  }
  const int64_t np = int64_t(panels.size());
  const int64_t ldp = round16(std::min(K, kPanelK));
  // x copied once into an aligned buffer with rows padded to whole 64-byte lines (M x K floats:
  // small next to the M x N x K multiply-adds).
  const int64_t ldx = round16(K);
  AlignedFloats xa = aligned_floats(M * ldx);
  for (int64_t m = 0; m < M; ++m) std::memcpy(xa.get() + m * ldx, x + m * K, size_t(K) * sizeof(float));
#pragma omp parallel if (M * rows_total * K >= kParallelMacs)
  {
    AlignedFloats panel = aligned_floats(Kern::PR * ldp);
#pragma omp for schedule(dynamic, 1)
    for (int64_t p = 0; p < np; ++p) {
      const WeightRef& w = ws[panels[size_t(p)].w];
      const int64_t r0 = panels[size_t(p)].r0, rows = std::min(Kern::PR, w.n - r0);
      for (int64_t k0 = 0; k0 < K; k0 += kPanelK) {
        const int64_t kc = std::min(kPanelK, K - k0);
        Kern::convert(panel.get(), ldp, w, K, r0, rows, k0, kc);
        for (int64_t m0 = 0; m0 < M; m0 += MR) {
          const float* xr[MR];
          for (int m = 0; m < MR; ++m) xr[m] = xa.get() + std::min<int64_t>(m0 + m, M - 1) * ldx + k0;
          for (int64_t n0 = 0; n0 < rows; n0 += NR) {
            const float* wr[NR];
            for (int n = 0; n < NR; ++n) wr[n] = panel.get() + std::min<int64_t>(n0 + n, rows - 1) * ldp;
            float out[MR * NR];
            Kern::tile(xr, wr, kc, out);
            const int64_t mv = std::min<int64_t>(MR, M - m0), nv = std::min<int64_t>(NR, rows - n0);
            for (int64_t m = 0; m < mv; ++m) {
              float* y = w.y + (m0 + m) * w.ldy + r0 + n0;
              for (int64_t n = 0; n < nv; ++n) y[n] = (k0 == 0 ? 0.f : y[n]) + out[m * NR + n];
            }
          }
        }
      }
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
