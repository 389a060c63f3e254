// lowplinear GEMM for q8_0 weights with int8 activations, M > 16 (prefill, batches): y = x · Wᵀ
// where x arrives already quantized per 32-block (the decode GEMV's quantizer, lowplinear.cc), so
// prefill and decode multiply the same int8 operands (see lowplinear_gemm.h).
//
// Why: the float32 panel GEMM (lowplinear_gemm.cc) widened every q8_0 weight to float32 and ran
// 16-lane FMAs: 4 instructions per 64 multiply-adds. llama.cpp runs q8_0 batches as int8 x int8
// dots. A per-block dot here is one int32, but its scale dw·dx differs per (x row, W row, block),
// so it must be applied before blocks are summed. Laid out as the GEMV does (two blocks per
// 512-bit vpdpbusd, a lane = 4 products) each lane needs its own convert + multiply + FMA — no
// fewer instructions than float32. So both operands are stored "dword-transposed" in groups of 8
// blocks: byte [32·i + 4·b + c] of a group = value 4·i + c of block b (i, b < 8). A 256-bit vector
// i then holds dword i of all 8 blocks (lane b = block b), and a 512-bit vector k holds dwords 2k
// (lanes 0-7) and 2k+1 (lanes 8-15) — every lane stays inside one block across a group's 4
// vpdpbusd (8 maddubs on AVX2), so one convert + FMA per lane covers 16 (32) products:
// per x row x W row x 256 values, 4 vpdpbusd + convert + multiply + FMA.
//
// W rows are transposed per panel (kPanelRows rows x all of K, ~5 KiB per row at K = 4096) into a
// thread-local buffer and then used by every x row; x is transposed once per call. Each thread
// multiplies a register tile of MR x rows by NR W rows over all of K, so no partial sums leave
// registers. The int32 block dots are exact (|lane| ≤ 16·255·127 < 2^31); only the float32
// summation order differs from the GEMV (per lane over groups, then a fixed tree), see the bound
// in packages/tensor-cuda/test/ops/lowplinear.test.ts.
#include "lowplinear_gemm.h"

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own _mm*_undefined_* helpers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

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

#define OLMO_AVX2 __attribute__((target("avx2,fma,f16c")))
#define OLMO_AVX512VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

constexpr int64_t kGroupBlocks = 8;   // blocks per group (256 values)
constexpr int64_t kGroupBytes = 256;  // a group's int8 values, dword-transposed
constexpr int64_t kLanes = 16;        // per group: 16 float scales / int32 corrections (8 blocks, twice)
// Below ~2^20 multiply-adds one thread finishes before a team would have started (as lowplinear_gemm.cc).
constexpr int64_t kParallelMacs = int64_t(1) << 20;

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
template <class T>
using Aligned = std::unique_ptr<T[], FreeDeleter>;
// 64-byte aligned (every vector load stays inside one cache line), zero-filled.
template <class T>
Aligned<T> aligned_zeros(int64_t n) {
  const size_t bytes = std::max<size_t>((size_t(n) * sizeof(T) + 63) / 64 * 64, 64);
  void* p = std::aligned_alloc(64, bytes);
  std::memset(p, 0, bytes);
  return Aligned<T>(static_cast<T*>(p));
}

// Blocks [b0, b0 + n) (n <= 8) of one row as a dword-transposed group in dst[256]; missing blocks
// are zeros. flip = 0x80 stores w ^ 0x80 = w + 128 as u8 (vpdpbusd's unsigned operand), 0 as is.
// scale[16] = the block scales (twice: lanes 0-7 and 8-15), missing blocks 0.
OLMO_AVX2 void transpose_group(const BlockQ8_0* blk, int64_t n, uint8_t flip, uint8_t* dst, float* scale) {
  __m256 r[8];
  alignas(16) uint16_t d[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int b = 0; b < 8; ++b) {
    r[b] = b < n ? _mm256_castsi256_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk[b].qs))) : _mm256_setzero_ps();
    if (b < n) d[b] = blk[b].d;
  }
  // 8 x 8 dword transpose (bit moves only: unpack / shuffle / permute never touch the values).
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0)), s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0)), s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 o[8] = {
      _mm256_permute2f128_ps(s0, s4, 0x20), _mm256_permute2f128_ps(s1, s5, 0x20),
      _mm256_permute2f128_ps(s2, s6, 0x20), _mm256_permute2f128_ps(s3, s7, 0x20),
      _mm256_permute2f128_ps(s0, s4, 0x31), _mm256_permute2f128_ps(s1, s5, 0x31),
      _mm256_permute2f128_ps(s2, s6, 0x31), _mm256_permute2f128_ps(s3, s7, 0x31)};
  const __m256i fl = _mm256_set1_epi8(char(flip));
  for (int i = 0; i < 8; ++i)
    _mm256_store_si256(reinterpret_cast<__m256i*>(dst + 32 * i), _mm256_xor_si256(_mm256_castps_si256(o[i]), fl));
  const __m256 sc = _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(d)));
  _mm256_store_ps(scale, sc);
  _mm256_store_ps(scale + 8, sc);
}

// Σ lanes of each of 4 vectors, as [Σa, Σb, Σc, Σd] (3 hadds + 1 add for all four, instead of 4
// separate reductions: at K = 256 a tile's whole k loop is one group, and 12 one-by-one 16-lane
// reductions would cost as much as its dot products).
OLMO_AVX2 inline __m128 reduce4(__m256 a, __m256 b, __m256 c, __m256 d) {
  const __m256 u = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
  return _mm_add_ps(_mm256_castps256_ps128(u), _mm256_extractf128_ps(u, 1));
}

// x in the kernels' form: per row and group, the transposed int8 values, 16 lane scales and (for
// vpdpbusd) 16 lane corrections −128 · Σ of the lane's 16 x values, the accumulator's start value
// that turns Σ (w + 128)·x into Σ w·x.
struct XForm {
  int64_t G = 0;
  Aligned<uint8_t> qs;   // [M][G][256]
  Aligned<float> sc;     // [M][G][16]
  Aligned<int32_t> corr; // [M][G][16]
};

OLMO_AVX2 void prepare_x(XForm& f, const BlockQ8_0* xq, int64_t M, int64_t nb, bool corr) {
  const int64_t G = (nb + kGroupBlocks - 1) / kGroupBlocks;
  f.G = G;
  f.qs = aligned_zeros<uint8_t>(M * G * kGroupBytes);
  f.sc = aligned_zeros<float>(M * G * kLanes);
  f.corr = aligned_zeros<int32_t>(corr ? M * G * kLanes : 1);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t g = 0; g < G; ++g) {
      const int64_t i = m * G + g;
      uint8_t* q = f.qs.get() + i * kGroupBytes;
      transpose_group(xq + m * nb + g * kGroupBlocks, std::min(kGroupBlocks, nb - g * kGroupBlocks), 0, q, f.sc.get() + i * kLanes);
      if (!corr) continue;
      // 512-bit lane l = bytes [4l, 4l + 4) of each of the 4 vectors (64 bytes apart): lanes 0-7
      // sum the 32-byte chunks 0, 2, 4, 6, lanes 8-15 the chunks 1, 3, 5, 7 (4-byte sums by
      // maddubs(1, x) + madd(1), exact in int16 / int32).
      const __m256i one8 = _mm256_set1_epi8(1), one16 = _mm256_set1_epi16(1);
      __m256i lo = _mm256_setzero_si256(), hi = lo;
      for (int k = 0; k < 4; ++k) {
        const __m256i c0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(q + 64 * k));
        const __m256i c1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(q + 64 * k + 32));
        lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_maddubs_epi16(one8, c0), one16));
        hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_maddubs_epi16(one8, c1), one16));
      }
      int32_t* cr = f.corr.get() + i * kLanes;
      _mm256_store_si256(reinterpret_cast<__m256i*>(cr), _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(lo, 7)));
      _mm256_store_si256(reinterpret_cast<__m256i*>(cr + 8), _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(hi, 7)));
    }
}

// ------------------------------------------------------------------ AVX512-VNNI tile

struct Vnni512 {
  // 12 int32 dots + 12 float accumulators + 3 W vectors + 1 x vector of the 32 zmm registers.
  static constexpr int MR = 4, NR = 3;
  static constexpr int64_t PR = 24;  // W rows per panel (one OpenMP work item)
  static constexpr uint8_t kFlip = 0x80;
  static constexpr bool kCorr = true;

  // out[m * NR + n] = Σ over G groups of x row m · W row n.
  OLMO_AVX512VNNI static void tile(const uint8_t* const* xq, const float* const* xs, const int32_t* const* xc,
                                   const uint8_t* const* wq, const float* const* wsc, int64_t G, float* out) {
    __m512 acc[MR][NR];
    for (int m = 0; m < MR; ++m)
      for (int n = 0; n < NR; ++n) acc[m][n] = _mm512_setzero_ps();
    for (int64_t g = 0; g < G; ++g) {
      __m512i dot[MR][NR];
      for (int m = 0; m < MR; ++m) {
        const __m512i c = _mm512_load_si512(xc[m] + g * kLanes);
        for (int n = 0; n < NR; ++n) dot[m][n] = c;
      }
      for (int k = 0; k < 4; ++k) {
        __m512i wv[NR];
        for (int n = 0; n < NR; ++n) {
          wv[n] = _mm512_load_si512(wq[n] + g * kGroupBytes + 64 * k);
          asm("" : "+v"(wv[n]));  // keep W in registers (GCC otherwise folds the load into every dot)
        }
        for (int m = 0; m < MR; ++m) {
          const __m512i xv = _mm512_load_si512(xq[m] + g * kGroupBytes + 64 * k);
          for (int n = 0; n < NR; ++n) dot[m][n] = _mm512_dpbusd_epi32(dot[m][n], wv[n], xv);
        }
      }
      for (int n = 0; n < NR; ++n) {
        const __m512 sw = _mm512_load_ps(wsc[n] + g * kLanes);
        for (int m = 0; m < MR; ++m) {
          // dw·dx: both f16 values (11-bit significands), so the float32 product is exact.
          const __m512 s = _mm512_mul_ps(sw, _mm512_load_ps(xs[m] + g * kLanes));
          acc[m][n] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[m][n]), s, acc[m][n]);
        }
      }
    }
    static_assert(MR * NR % 4 == 0, "reduced 4 at a time");
    __m256 h[MR * NR];  // 16 -> 8 lanes
    for (int m = 0; m < MR; ++m)
      for (int n = 0; n < NR; ++n)
        h[m * NR + n] = _mm256_add_ps(_mm512_castps512_ps256(acc[m][n]),
                                      _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[m][n]), 1)));
    for (int i = 0; i < MR * NR; i += 4) _mm_storeu_ps(out + i, reduce4(h[i], h[i + 1], h[i + 2], h[i + 3]));
  }
};

// ------------------------------------------------------------------ AVX2 tile (maddubs)

struct Avx2 {
  // 4 dots + 4 accumulators + 2 W + x, |x| and temporaries of the 16 ymm registers.
  static constexpr int MR = 2, NR = 2;
  static constexpr int64_t PR = 16;
  static constexpr uint8_t kFlip = 0;
  static constexpr bool kCorr = false;

  // maddubs is u8 x s8 with int16 saturation: llama.cpp's form |x| · (sign(x)·w) stays exact
  // (|pair sum| ≤ 2·127·127 < 2^15; like every q8_0 path here it assumes no −128 weights, which
  // quantize / llama.cpp never write).
  OLMO_AVX2 static void tile(const uint8_t* const* xq, const float* const* xs, const int32_t* const*,
                             const uint8_t* const* wq, const float* const* wsc, int64_t G, float* out) {
    __m256 acc[MR][NR];
    for (int m = 0; m < MR; ++m)
      for (int n = 0; n < NR; ++n) acc[m][n] = _mm256_setzero_ps();
    const __m256i ones = _mm256_set1_epi16(1);
    for (int64_t g = 0; g < G; ++g) {
      __m256i dot[MR][NR];
      for (int m = 0; m < MR; ++m)
        for (int n = 0; n < NR; ++n) dot[m][n] = _mm256_setzero_si256();
      for (int i = 0; i < 8; ++i) {
        __m256i wv[NR];
        for (int n = 0; n < NR; ++n) wv[n] = _mm256_load_si256(reinterpret_cast<const __m256i*>(wq[n] + g * kGroupBytes + 32 * i));
        for (int m = 0; m < MR; ++m) {
          const __m256i xv = _mm256_load_si256(reinterpret_cast<const __m256i*>(xq[m] + g * kGroupBytes + 32 * i));
          const __m256i ax = _mm256_sign_epi8(xv, xv);
          for (int n = 0; n < NR; ++n) {
            const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(wv[n], xv)), ones);
            dot[m][n] = _mm256_add_epi32(dot[m][n], p);
          }
        }
      }
      for (int n = 0; n < NR; ++n) {
        const __m256 sw = _mm256_load_ps(wsc[n] + g * kLanes);
        for (int m = 0; m < MR; ++m) {
          const __m256 s = _mm256_mul_ps(sw, _mm256_load_ps(xs[m] + g * kLanes));
          acc[m][n] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot[m][n]), s, acc[m][n]);
        }
      }
    }
    static_assert(MR * NR == 4, "one reduce4");
    _mm_storeu_ps(out, reduce4(acc[0][0], acc[0][1], acc[1][0], acc[1][1]));
  }
};

// ------------------------------------------------------------------ driver

struct PanelRef {
  int w;       // index into ws
  int64_t r0;  // first row
};

// Work items are panels of every weight of a fused call (one team, one x form). Rows past M or
// past the panel are clamped to the last valid one (computed from real data, then dropped), so
// the tiles have no row edge cases.
template <class Kern>
void gemm_q8(const BlockQ8_0* xq, int64_t M, int64_t K, const WeightRef* ws, int nw) {
  constexpr int MR = Kern::MR, NR = Kern::NR;
  const int64_t nb = K / 32;
  XForm xf;
  prepare_x(xf, xq, M, nb, Kern::kCorr);
  const int64_t G = xf.G;
  std::vector<PanelRef> panels;
  int64_t rows_total = 0;
  for (int i = 0; i < nw; ++i) {
    for (int64_t r0 = 0; r0 < ws[i].n; r0 += Kern::PR) panels.push_back({i, r0});
    rows_total += ws[i].n;
  }
  const int64_t np = int64_t(panels.size());
#pragma omp parallel if (M * rows_total * K >= kParallelMacs)
  {
    Aligned<uint8_t> pq = aligned_zeros<uint8_t>(Kern::PR * G * kGroupBytes);
    Aligned<float> ps = aligned_zeros<float>(Kern::PR * G * kLanes);
#pragma omp for schedule(dynamic, 1)
    for (int64_t p = 0; p < np; ++p) {
      const WeightRef& w = ws[panels[size_t(p)].w];
      const int64_t r0 = panels[size_t(p)].r0, rows = std::min(Kern::PR, w.n - r0);
      const BlockQ8_0* wb = static_cast<const BlockQ8_0*>(w.data) + r0 * nb;
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t g = 0; g < G; ++g)
          transpose_group(wb + r * nb + g * kGroupBlocks, std::min(kGroupBlocks, nb - g * kGroupBlocks), Kern::kFlip,
                          pq.get() + (r * G + g) * kGroupBytes, ps.get() + (r * G + g) * kLanes);
      for (int64_t m0 = 0; m0 < M; m0 += MR) {
        const uint8_t* xr[MR];
        const float* xs[MR];
        const int32_t* xc[MR];
        for (int m = 0; m < MR; ++m) {
          const int64_t mm = std::min<int64_t>(m0 + m, M - 1);
          xr[m] = xf.qs.get() + mm * G * kGroupBytes;
          xs[m] = xf.sc.get() + mm * G * kLanes;
          xc[m] = Kern::kCorr ? xf.corr.get() + mm * G * kLanes : nullptr;
        }
        for (int64_t n0 = 0; n0 < rows; n0 += NR) {
          const uint8_t* wr[NR];
          const float* wsc[NR];
          for (int n = 0; n < NR; ++n) {
            const int64_t nn = std::min<int64_t>(n0 + n, rows - 1);
            wr[n] = pq.get() + nn * G * kGroupBytes;
            wsc[n] = ps.get() + nn * G * kLanes;
          }
          float out[MR * NR];
          Kern::tile(xr, xs, xc, wr, wsc, G, out);
          const int64_t mv = std::min<int64_t>(MR, M - m0), nv = std::min<int64_t>(NR, rows - n0);
          for (int64_t m = 0; m < mv; ++m) {
            float* y = w.y + (m0 + m) * w.ldy + r0 + n0;
            for (int64_t n = 0; n < nv; ++n) y[n] = out[m * NR + n];
          }
        }
      }
    }
  }
}

}  // namespace

bool lowp_gemm_q8_vnni512(const BlockQ8_0* xq, int64_t M, int64_t K, const WeightRef* ws, int nw) {
  gemm_q8<Vnni512>(xq, M, K, ws, nw);
  return true;
}

bool lowp_gemm_q8_avx2(const BlockQ8_0* xq, int64_t M, int64_t K, const WeightRef* ws, int nw) {
  gemm_q8<Avx2>(xq, M, K, ws, nw);
  return true;
}

#else  // not x86: the caller's portable path

bool lowp_gemm_q8_vnni512(const BlockQ8_0*, int64_t, int64_t, const WeightRef*, int) { return false; }
bool lowp_gemm_q8_avx2(const BlockQ8_0*, int64_t, int64_t, const WeightRef*, int) { return false; }

#endif

}  // namespace olmo::cpu
