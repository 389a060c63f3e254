// lowplinear GEMM for q8_0 weights with int8 activations, M > 16 (prefill, batches): y = x · Wᵀ
// where x arrives already quantized per 32-block (the decode GEMV's quantizer, lowplinear.cc), so
// prefill and decode multiply the same int8 operands (see lowplinear_gemm.h).
//
// Why: the float32 panel GEMM (lowplinear_gemm.cc) widened every q8_0 weight to float32 and ran
// 16-lane FMAs: 4 instructions per 64 multiply-adds. llama.cpp runs q8_0 batches as int8 x int8
// dots. A per-block dot here is one int32, but its scale dw·dx differs per (x row, W row, block),
// so it must be applied before blocks are summed. Laid out as the GEMV does (two blocks per
// 512-bit vpdpbusd, a lane = 4 products) each lane needs its own convert + multiply + FMA — no
// fewer instructions than float32. So both operands are stored "dword-transposed", a lane = one
// block: in a wide group of 16 blocks (512 values) byte [64·k + 4·b + c] = value 4·k + c of block b
// (k < 8, b < 16), so the 512-bit vector k holds dword k of all 16 blocks and a group's 8 vpdpbusd
// leave each lane with one whole block's exact int32 dot: per x row x W row x 512 values,
// 8 vpdpbusd + 1 convert + 1 multiply (dw·dx) + 1 FMA, all lane-wise (no horizontal sums until the
// end of K). A row's last nb % 16 blocks, when there are at most 8 of them, form a narrow group
// (256 values, zero-padded to 8 blocks): byte [32·i + 4·b + c] = value 4·i + c of block b, vector k
// = dwords 2k (lanes 0-7) and 2k + 1 (lanes 8-15), 4 vpdpbusd, the 8 scales twice; 9-15 left-over
// blocks take a zero-padded wide group. (Tiny's K = 256 is one narrow group: a wide one would be
// half zeros.) A wide group's two 256-bit halves (offsets 64·k and 64·k + 32) are exactly two
// narrow-style 8-block sets, which is how the AVX2 tile walks it.
//
// W rows are packed per panel (Kern::PR rows x all of K) into a thread-local 64-byte-aligned
// buffer — quants and scales split, the scales widened to float32 once — and then used by every x
// row; x is packed once per call. Each thread multiplies a register tile of MR x rows by NR W rows,
// K in passes of kPassGroups groups with the lane accumulators parked in a small buffer between
// passes (so the per-lane summation order is that of one pass). The int32 block dots are exact
// (|lane| ≤ 32·255·127 < 2^31 and < 2^24, so the convert is exact too); only the float32 summation
// order differs from the GEMV (per lane over groups, then a fixed tree), see the bound in
// packages/tensor-cuda/test/ops/lowplinear.test.ts.
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
#include "panel_queue.h"

#ifdef _OPENMP
#include <omp.h>
#else
inline int omp_get_max_threads() { return 1; }
#endif

#if defined(__x86_64__) || defined(__i386__)
#define OLMO_X86 1
#include <immintrin.h>
#endif

namespace olmo::cpu {

#ifdef OLMO_X86

namespace {

#define OLMO_AVX2 __attribute__((target("avx2,fma,f16c")))
#define OLMO_AVX512VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))
#define OLMO_INLINE inline __attribute__((always_inline))

constexpr int64_t kWideBlocks = 16, kWideBytes = 512;   // a wide group: 16 blocks, 8 x 64 bytes
constexpr int64_t kNarrowBlocks = 8, kNarrowBytes = 256;  // a narrow group: 8 blocks, 4 x 64 bytes
constexpr int64_t kLanes = 16;  // per group: 16 float scales / int32 corrections
// Packing W reads it from memory once per call: prefetch this far ahead of the group being packed
// (~2 rows at K = 2048; 1 KiB or none measured ~10% slower on 1B shapes, 4 KiB the same).
constexpr int64_t kPackAheadBytes = 2048;
// K is walked in passes of this many groups (2048 values: the x rows of a tile, 4 x 2.5 KiB, stay
// in L1 across the panel's W rows). The lane accumulators carry over between passes in memory, so
// the per-lane summation order — and the result — is that of one pass over all of K. At
// K = 8192 in one pass a tile's rows (4 x 10 + 3 x 9 KiB) overflowed L1: 237 vs 340 GOP/s
// compute-only, one thread.
constexpr int64_t kPassGroups = 4;
// Up to this many consecutive panels per claim from the panel queue (see gemm_q8).
constexpr int64_t kRunPanels = 4;
// Below ~2^20 multiply-adds one thread finishes before a team would have started (as lowplinear_gemm.cc).
constexpr int64_t kParallelMacs = int64_t(1) << 20;

// How a row of nb blocks is packed: `wide` 16-block groups (the last may be zero-padded), then at
// most one narrow 8-block group. Every group has kLanes scales (and corrections).
struct RowLayout {
  int64_t nb = 0, wide = 0;
  bool narrow = false;
  int64_t bytes = 0, groups = 0;  // int8 bytes / scale vectors per row
  explicit RowLayout(int64_t blocks) : nb(blocks) {
    const int64_t rest = nb % kWideBlocks;
    wide = nb / kWideBlocks + (rest > kNarrowBlocks ? 1 : 0);
    narrow = rest > 0 && rest <= kNarrowBlocks;
    bytes = wide * kWideBytes + (narrow ? kNarrowBytes : 0);
    groups = wide + (narrow ? 1 : 0);
  }
};

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

// Blocks [0, n) (n <= 8) of blk dword-transposed: the 32-byte vector i (i < 8, at dst + stride·i)
// holds dword i of blocks 0-7, missing blocks zeros. flip = 0x80 stores w ^ 0x80 = w + 128 as u8
// (vpdpbusd's unsigned operand), 0 as is. scale[0..8) = the block scales as float32, missing 0.
OLMO_AVX2 void transpose8(const BlockQ8_0* blk, int64_t n, uint8_t flip, uint8_t* dst, int64_t stride, float* scale) {
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
    _mm256_store_si256(reinterpret_cast<__m256i*>(dst + stride * i), _mm256_xor_si256(_mm256_castps_si256(o[i]), fl));
  _mm256_store_ps(scale, _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(d))));
}

// A full wide group (16 blocks) in one pass of 512-bit shuffles, the same bytes as two transpose8
// calls at stride 64: zmm j = [block j | block j + 8], then transpose8's unpack / shuffle steps
// (they act per 128-bit lane, so on both 256-bit halves at once) and one two-source permute per
// output for its 128-bit-lane step. Half the shuffles and full-line stores: packing W is done once
// per call and row, but at M = 32 it was ~40% of the GEMM's time with two transpose8 calls.
OLMO_AVX512VNNI void transpose16(const BlockQ8_0* blk, uint8_t flip, uint8_t* dst, float* scale) {
  __m512 r[8];
  alignas(32) uint16_t d[16];
  for (int j = 0; j < 8; ++j) {
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk[j].qs));
    const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk[j + 8].qs));
    r[j] = _mm512_castsi512_ps(_mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1));
  }
  for (int b = 0; b < 16; ++b) d[b] = blk[b].d;
  const __m512 t0 = _mm512_unpacklo_ps(r[0], r[1]), t1 = _mm512_unpackhi_ps(r[0], r[1]);
  const __m512 t2 = _mm512_unpacklo_ps(r[2], r[3]), t3 = _mm512_unpackhi_ps(r[2], r[3]);
  const __m512 t4 = _mm512_unpacklo_ps(r[4], r[5]), t5 = _mm512_unpackhi_ps(r[4], r[5]);
  const __m512 t6 = _mm512_unpacklo_ps(r[6], r[7]), t7 = _mm512_unpackhi_ps(r[6], r[7]);
  const __m512 s[8] = {
      _mm512_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2)),
      _mm512_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2)),
      _mm512_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2)),
      _mm512_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2))};
  // transpose8's permute2f128(a, b, 0x20 / 0x31) on each 256-bit half: [a.L0, b.L0, a.L2, b.L2] /
  // [a.L1, b.L1, a.L3, b.L3] (Lx = 128-bit lane x).
  const __m512i lo_idx = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
  const __m512i hi_idx = _mm512_setr_epi32(4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
  const __m512i fl = _mm512_set1_epi8(char(flip));
  for (int i = 0; i < 4; ++i) {
    const __m512 a = _mm512_permutex2var_ps(s[i], lo_idx, s[i + 4]), b = _mm512_permutex2var_ps(s[i], hi_idx, s[i + 4]);
    _mm512_store_si512(dst + 64 * i, _mm512_xor_si512(_mm512_castps_si512(a), fl));
    _mm512_store_si512(dst + 64 * (i + 4), _mm512_xor_si512(_mm512_castps_si512(b), fl));
  }
  _mm512_store_ps(scale, _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(d))));
}

// One row (L.nb blocks) into its packed form: q[L.bytes], sc[L.groups · 16]. wide512: full wide
// groups through transpose16 (AVX512 kernels only).
template <bool wide512>
OLMO_AVX2 void pack_row(const BlockQ8_0* blk, const RowLayout& L, uint8_t flip, uint8_t* q, float* sc) {
  for (int64_t g = 0; g < L.wide; ++g) {
    const int64_t b0 = g * kWideBlocks, n = std::min(kWideBlocks, L.nb - b0);
    uint8_t* dq = q + g * kWideBytes;
    float* ds = sc + g * kLanes;
    const char* ahead = reinterpret_cast<const char*>(blk + b0) + kPackAheadBytes;
    for (int i = 0; i < 9; ++i) _mm_prefetch(ahead + 64 * i, _MM_HINT_T0);  // 544 bytes, <= 9 lines
    if (wide512 && n == kWideBlocks) {
      transpose16(blk + b0, flip, dq, ds);
      continue;
    }
    transpose8(blk + b0, std::min<int64_t>(n, 8), flip, dq, 64, ds);
    transpose8(blk + b0 + 8, std::max<int64_t>(n - 8, 0), flip, dq + 32, 64, ds + 8);
  }
  if (L.narrow) {
    const int64_t b0 = L.wide * kWideBlocks;
    float* ds = sc + L.wide * kLanes;
    transpose8(blk + b0, L.nb - b0, flip, q + L.wide * kWideBytes, 32, ds);
    std::memcpy(ds + 8, ds, 8 * sizeof(float));
  }
}

// Σ lanes of each of 4 vectors, as [Σa, Σb, Σc, Σd] (3 hadds + 1 add for all four, instead of 4
// separate reductions: at K = 256 a tile's whole k loop is one group, and 12 one-by-one 16-lane
// reductions would cost as much as its dot products).
OLMO_AVX2 inline __m128 reduce4(__m256 a, __m256 b, __m256 c, __m256 d) {
  const __m256 u = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
  return _mm_add_ps(_mm256_castps256_ps128(u), _mm256_extractf128_ps(u, 1));
}

// x in the kernels' form: per row, the packed int8 values, per group 16 lane scales and (for
// vpdpbusd) 16 lane corrections −128 · Σ of the lane's x values, the accumulator's start value
// that turns Σ (w + 128)·x into Σ w·x.
struct XForm {
  Aligned<uint8_t> qs;   // [M][L.bytes]
  Aligned<float> sc;     // [M][L.groups][16]
  Aligned<int32_t> corr; // [M][L.groups][16]
};

OLMO_AVX2 void prepare_x(XForm& f, const BlockQ8_0* xq, int64_t M, const RowLayout& L, bool corr) {
  f.qs = aligned_zeros<uint8_t>(M * L.bytes);
  f.sc = aligned_zeros<float>(M * L.groups * kLanes);
  f.corr = aligned_zeros<int32_t>(corr ? M * L.groups * kLanes : 1);
  for (int64_t m = 0; m < M; ++m) {
    uint8_t* q = f.qs.get() + m * L.bytes;
    pack_row<false>(xq + m * L.nb, L, 0, q, f.sc.get() + m * L.groups * kLanes);
    if (!corr) continue;
    // Lane l < 8 sums bytes [4l, 4l + 4) of the 32-byte chunks at 64·k, lane 8 + l those of the
    // chunks at 64·k + 32 (k < 8 wide, k < 4 narrow): exactly the values vpdpbusd puts in the lane.
    // 4-byte sums by maddubs(1, x) + madd(1), exact in int16 / int32.
    const __m256i one8 = _mm256_set1_epi8(1), one16 = _mm256_set1_epi16(1);
    for (int64_t g = 0; g < L.groups; ++g) {
      const bool wide = g < L.wide;
      const uint8_t* gq = q + g * kWideBytes;  // the narrow group follows the wide ones
      __m256i lo = _mm256_setzero_si256(), hi = lo;
      for (int k = 0; k < (wide ? 8 : 4); ++k) {
        const __m256i c0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(gq + 64 * k));
        const __m256i c1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(gq + 64 * k + 32));
        lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_maddubs_epi16(one8, c0), one16));
        hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_maddubs_epi16(one8, c1), one16));
      }
      int32_t* cr = f.corr.get() + (m * L.groups + g) * kLanes;
      _mm256_store_si256(reinterpret_cast<__m256i*>(cr), _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(lo, 7)));
      _mm256_store_si256(reinterpret_cast<__m256i*>(cr + 8), _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(hi, 7)));
    }
  }
}

// Pointers of one register tile: MR x rows, NR W rows (packed rows, group 0).
template <int MR, int NR>
struct TileRefs {
  const uint8_t* xq[MR];
  const float* xs[MR];
  const int32_t* xc[MR];
  const uint8_t* wq[NR];
  const float* ws[NR];
};

// ------------------------------------------------------------------ AVX512-VNNI tile

struct Vnni512 {
  // 12 int32 dots + 12 float accumulators + 3 W vectors + 1 x vector of the 32 zmm registers.
  static constexpr int MR = 4, NR = 3;
  static constexpr int64_t PR = 24;  // W rows per panel (one OpenMP work item)
  static constexpr uint8_t kFlip = 0x80;
  static constexpr bool kCorr = true;
  static constexpr bool kPack512 = true;

  // One group (KV = 8 wide / 4 narrow 64-byte vectors at byte offset qo, scales at so) into acc.
  template <int KV>
  OLMO_AVX512VNNI static OLMO_INLINE void group(__m512 (&acc)[MR][NR], const TileRefs<MR, NR>& t, int64_t qo, int64_t so) {
    __m512i dot[MR][NR];
    for (int m = 0; m < MR; ++m) {
      const __m512i c = _mm512_load_si512(t.xc[m] + so);
      for (int n = 0; n < NR; ++n) dot[m][n] = c;
    }
    for (int k = 0; k < KV; ++k) {
      __m512i wv[NR];
      for (int n = 0; n < NR; ++n) {
        wv[n] = _mm512_load_si512(t.wq[n] + qo + 64 * k);
        asm("" : "+v"(wv[n]));  // keep W in registers (GCC otherwise folds the load into every dot)
      }
      for (int m = 0; m < MR; ++m) {
        const __m512i xv = _mm512_load_si512(t.xq[m] + qo + 64 * k);
        for (int n = 0; n < NR; ++n) dot[m][n] = _mm512_dpbusd_epi32(dot[m][n], wv[n], xv);
      }
    }
    for (int n = 0; n < NR; ++n) {
      const __m512 sw = _mm512_load_ps(t.ws[n] + so);
      for (int m = 0; m < MR; ++m) {
        // dw·dx: both f16 values (11-bit significands), so the float32 product is exact.
        const __m512 s = _mm512_mul_ps(sw, _mm512_load_ps(t.xs[m] + so));
        acc[m][n] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[m][n]), s, acc[m][n]);
      }
    }
  }

  static constexpr int64_t kAccFloats = MR * NR * 16;  // lane accumulators of one tile

  // Groups [g0, g1) of x rows · W rows into the tile's lane accumulators acc (zero when g0 = 0,
  // else the previous pass's); on the last pass (g1 = L.groups) out[m * NR + n] = Σ lanes.
  OLMO_AVX512VNNI static void tile(const TileRefs<MR, NR>& t, const RowLayout& L, int64_t g0, int64_t g1, float* accmem, float* out) {
    __m512 acc[MR][NR];
    for (int m = 0; m < MR; ++m)
      for (int n = 0; n < NR; ++n) acc[m][n] = g0 == 0 ? _mm512_setzero_ps() : _mm512_load_ps(accmem + 16 * (m * NR + n));
    for (int64_t g = g0; g < std::min(g1, L.wide); ++g) group<8>(acc, t, g * kWideBytes, g * kLanes);
    if (L.narrow && g1 == L.groups) group<4>(acc, t, L.wide * kWideBytes, L.wide * kLanes);
    if (g1 < L.groups) {
      for (int m = 0; m < MR; ++m)
        for (int n = 0; n < NR; ++n) _mm512_store_ps(accmem + 16 * (m * NR + n), acc[m][n]);
      return;
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
  static constexpr bool kPack512 = false;

  // 8 blocks: the 8 32-byte vectors at qo + STRIDE·i (i < 8), scales at so (8 lanes) into acc.
  // maddubs is u8 x s8 with int16 saturation: llama.cpp's form |x| · (sign(x)·w) stays exact
  // (|pair sum| ≤ 2·127·127 < 2^15; like every q8_0 path here it assumes no −128 weights, which
  // quantize / llama.cpp never write).
  template <int STRIDE>
  OLMO_AVX2 static OLMO_INLINE void eight(__m256 (&acc)[MR][NR], const TileRefs<MR, NR>& t, int64_t qo, int64_t so) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i dot[MR][NR];
    for (int m = 0; m < MR; ++m)
      for (int n = 0; n < NR; ++n) dot[m][n] = _mm256_setzero_si256();
    for (int i = 0; i < 8; ++i) {
      __m256i wv[NR];
      for (int n = 0; n < NR; ++n) wv[n] = _mm256_load_si256(reinterpret_cast<const __m256i*>(t.wq[n] + qo + STRIDE * i));
      for (int m = 0; m < MR; ++m) {
        const __m256i xv = _mm256_load_si256(reinterpret_cast<const __m256i*>(t.xq[m] + qo + STRIDE * i));
        const __m256i ax = _mm256_sign_epi8(xv, xv);
        for (int n = 0; n < NR; ++n) {
          const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(wv[n], xv)), ones);
          dot[m][n] = _mm256_add_epi32(dot[m][n], p);
        }
      }
    }
    for (int n = 0; n < NR; ++n) {
      const __m256 sw = _mm256_load_ps(t.ws[n] + so);
      for (int m = 0; m < MR; ++m) {
        const __m256 s = _mm256_mul_ps(sw, _mm256_load_ps(t.xs[m] + so));
        acc[m][n] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot[m][n]), s, acc[m][n]);
      }
    }
  }

  static constexpr int64_t kAccFloats = MR * NR * 8;

  // As Vnni512::tile: groups [g0, g1), lane accumulators carried in accmem, out on the last pass.
  OLMO_AVX2 static void tile(const TileRefs<MR, NR>& t, const RowLayout& L, int64_t g0, int64_t g1, float* accmem, float* out) {
    __m256 acc[MR][NR];
    for (int m = 0; m < MR; ++m)
      for (int n = 0; n < NR; ++n) acc[m][n] = g0 == 0 ? _mm256_setzero_ps() : _mm256_load_ps(accmem + 8 * (m * NR + n));
    for (int64_t g = g0; g < std::min(g1, L.wide); ++g) {  // a wide group = two 8-block halves 32 bytes apart
      eight<64>(acc, t, g * kWideBytes, g * kLanes);
      eight<64>(acc, t, g * kWideBytes + 32, g * kLanes + 8);
    }
    if (L.narrow && g1 == L.groups) eight<32>(acc, t, L.wide * kWideBytes, L.wide * kLanes);
    if (g1 < L.groups) {
      for (int m = 0; m < MR; ++m)
        for (int n = 0; n < NR; ++n) _mm256_store_ps(accmem + 8 * (m * NR + n), acc[m][n]);
      return;
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

// W rows [r0, r0 + rows) of w as bytes (contiguous), for prefetching.
inline const char* panel_bytes(const WeightRef& w, int64_t r0, int64_t nb) {
  return reinterpret_cast<const char*>(static_cast<const BlockQ8_0*>(w.data) + r0 * nb);
}

// Work items are panels of every weight of a fused call (one team, one x form), claimed one ahead
// from a shared counter (panel_queue.h). Per panel: pack its W rows, then for each MR-row block of
// x, K in passes of kPassGroups groups over all the panel's NR-row tiles (the x block's pass stays
// in L1, the panel in L2), while the thread's next panel is prefetched into L2 a slice per x
// block. Rows past M or past the panel are clamped to the last valid one (computed from real data,
// then dropped), so the tiles have no row edge cases.
template <class Kern>
void gemm_q8(const BlockQ8_0* xq, int64_t M, int64_t K, const WeightRef* ws, int nw) {
  constexpr int MR = Kern::MR, NR = Kern::NR;
  constexpr int64_t tiles_per_panel = (Kern::PR + NR - 1) / NR;
  const RowLayout L(K / 32);
  XForm xf;
  prepare_x(xf, xq, M, L, Kern::kCorr);
  std::vector<PanelRef> panels;
  int64_t rows_total = 0;
  for (int i = 0; i < nw; ++i) {
    for (int64_t r0 = 0; r0 < ws[i].n; r0 += Kern::PR) panels.push_back({i, r0});
    rows_total += ws[i].n;
  }
  const int64_t np = int64_t(panels.size());
  const int64_t row_sc = L.groups * kLanes;
  const int64_t x_blocks = (M + MR - 1) / MR;
  // Panels are claimed in runs of up to kRunPanels consecutive ones, the next run claimed ahead
  // (panel_queue.h): a thread knows its next panel and prefetches it. Runs, not single panels:
  // consecutive panels are contiguous weight bytes, so pack_row's read-ahead runs on into the
  // thread's own next panel; fewer than 8 runs per thread are avoided (tiny's N = 256 is 11 panels).
  PanelQueue queue(np, std::clamp<int64_t>(np / (8 * omp_get_max_threads()), 1, kRunPanels));
  const bool claim_ahead = gemm_claim_ahead_on();
#pragma omp parallel if (M * rows_total * K >= kParallelMacs)
  {
    Aligned<uint8_t> pq = aligned_zeros<uint8_t>(Kern::PR * L.bytes);
    Aligned<float> ps = aligned_zeros<float>(Kern::PR * row_sc);
    Aligned<float> accmem = aligned_zeros<float>(tiles_per_panel * Kern::kAccFloats);
    for (PanelCursor cur(queue, claim_ahead); cur.current() >= 0; cur.advance()) {
      const int64_t p = cur.current();
      const WeightRef& w = ws[panels[size_t(p)].w];
      const int64_t r0 = panels[size_t(p)].r0, rows = std::min(Kern::PR, w.n - r0);
      const BlockQ8_0* wb = static_cast<const BlockQ8_0*>(w.data) + r0 * L.nb;
      for (int64_t r = 0; r < rows; ++r) pack_row<Kern::kPack512>(wb + r * L.nb, L, Kern::kFlip, pq.get() + r * L.bytes, ps.get() + r * row_sc);
      // The thread's next panel, a slice per x block.
      const char* next = nullptr;
      int64_t next_bytes = 0;
      if (cur.ahead() >= 0) {
        const WeightRef& wn = ws[panels[size_t(cur.ahead())].w];
        const int64_t rn = panels[size_t(cur.ahead())].r0;
        next = panel_bytes(wn, rn, L.nb);
        next_bytes = std::min(Kern::PR, wn.n - rn) * L.nb * int64_t(sizeof(BlockQ8_0));
      }
      TileRefs<MR, NR> t;
      for (int64_t xb = 0; xb < x_blocks; ++xb) {
        const int64_t m0 = xb * MR;
        prefetch_slice(next, next_bytes, xb, x_blocks);
        for (int m = 0; m < MR; ++m) {
          const int64_t mm = std::min<int64_t>(m0 + m, M - 1);
          t.xq[m] = xf.qs.get() + mm * L.bytes;
          t.xs[m] = xf.sc.get() + mm * row_sc;
          t.xc[m] = Kern::kCorr ? xf.corr.get() + mm * row_sc : nullptr;
        }
        for (int64_t g0 = 0; g0 < L.groups; g0 += kPassGroups) {
          const int64_t g1 = std::min(L.groups, g0 + kPassGroups);
          for (int64_t n0 = 0; n0 < rows; n0 += NR) {
            for (int n = 0; n < NR; ++n) {
              const int64_t nn = std::min<int64_t>(n0 + n, rows - 1);
              t.wq[n] = pq.get() + nn * L.bytes;
              t.ws[n] = ps.get() + nn * row_sc;
            }
            float out[MR * NR];
            Kern::tile(t, L, g0, g1, accmem.get() + (n0 / NR) * Kern::kAccFloats, out);
            if (g1 < L.groups) continue;
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
