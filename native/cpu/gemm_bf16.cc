// gemm_bf16 on CPU: C = alpha * bf16(op(A)) @ bf16(op(B)) + beta * C with float32 accumulation —
// the GEMM numerics of mixed-precision (amp_bf16) training. A and B may be float32 (rounded to
// bf16, nearest-even, while packing) or bf16 already.
//
// Two paths, chosen per call (so a test can cover both in one process):
//   avx512bf16: GotoBLAS-style blocking (NC x KC panels of B packed as bf16 k-pair words, MC x KC
//     blocks of A packed per thread, MC shrunk so the blocks split evenly over the threads) and a
//     6x32 register tile of `vdpbf16ps` (16 lanes x 2 products per instruction: twice the
//     multiply-adds of an fp32 FMA of the same width) that writes its tile straight into C. Packing
//     builds the k-pair words 16 lanes at a time (masked loads for edges) and rounds float32 operands
//     on the way, bit-identical to f32_to_bf16, so each operand is read and rounded once per block.
//     The products of two bf16 values are exact in fp32; vdpbf16ps flushes denormals (inputs and
//     result) to zero, which gradients this small never reach in practice.
//   avx2: the same rounding (vectorized) into dense blocks of at most kCopyElems elements, kept in
//     the operand's own orientation (sgemm does the transposing) and reused across calls, then
//     OpenBLAS sgemm on them. Without bf16 dot-product instructions there is no arithmetic to gain
//     from bf16, only the rounding that defines the numerics — and sgemm is the fastest fp32 kernel
//     at hand (the products of two bf16 values are exact in fp32, so sgemm computes the recipe's
//     products; only its summation order differs from the vdpbf16ps kernel's). Operands flagged
//     `rounded` (float32 already holding bf16 values: the weights' compute copies and the rounded
//     output gradient on this path, see tensor-cuda ops/matmul.ts) are read in place, and with both
//     flagged the call is one plain sgemm — an amp step then costs what a float32 step does.
// OLMO_CPU_GEMM_BF16=avx2, or OLMO_CPU_ISA below avx512bf16, forces the avx2 path (tests cover both
// paths on AVX512-BF16 machines).
#include <cblas.h>
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <omp.h>

// GCC 12 reports the undefined pass-through operand inside the masked-load intrinsics (zero-masked,
// so never read) as maybe-uninitialized.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "olmo/check.h"
#include "olmo/ops/gemm.h"
#include "olmo/tensor.h"
#include "bf16_convert.h"

namespace olmo::cpu {

namespace {

constexpr int64_t MR = 6, NR = 32, KC = 512, MC = 96, NC = 2048;  // MC % MR == 0, NC % NR == 0, KC even

bool cpu_has_avx512bf16() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512bf16");
  return has;
}

// Read per call (getenv is a short scan) so a test can switch paths between calls. OLMO_CPU_ISA (the
// cap lowplinear.cc obeys) below avx512bf16 forces it too.
bool forced_avx2() {
  const char* v = std::getenv("OLMO_CPU_GEMM_BF16");
  if (v && std::strcmp(v, "avx2") == 0) return true;
  const char* cap = std::getenv("OLMO_CPU_ISA");
  return cap && (std::strcmp(cap, "avx2") == 0 || std::strcmp(cap, "avx512") == 0 || std::strcmp(cap, "scalar") == 0);
}

// One operand: op(X) is rows x cols; element (r, c) lives at p + (trans ? c*ld + r : r*ld + c) elements.
struct Operand {
  const void* p;
  DType dt;
  bool trans;
  int64_t ld;
  bool rounded;  // F32 that holds bf16 values already (the avx2 path reads it in place)
  // Address of element (r, c) of op(X), and the memory stride between (r, c) and (r, c+1) / (r+1, c).
  const char* addr(int64_t r, int64_t c) const {
    return static_cast<const char*>(p) + (trans ? c * ld + r : r * ld + c) * int64_t(dtype_size(dt));
  }
  Operand at(int64_t elems) const {
    Operand o = *this;
    o.p = static_cast<const char*>(p) + elems * int64_t(dtype_size(dt));
    return o;
  }
};

// Scratch buffers reused across calls (one per thread): a GEMM of the training step would otherwise
// allocate (and for std::vector, zero) its packing buffers on every call.
template <typename T>
T* scratch(std::unique_ptr<T[]>& buf, size_t& cap, size_t n) {
  if (cap < n) { buf.reset(new T[n]); cap = n; }
  return buf.get();
}

// No products (K = 0): C = beta * C; beta 0 writes zeros and never reads C.
void scale_c(int64_t M, int64_t N, float beta, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.f ? 0.f : beta * C[i * ldc + j];
}

// ---- avx2 path: round to bf16 (kept as fp32 values, same layout as the operand), then sgemm ----

// Block [r0, r0+rows) x [c0, c0+cols) of op(X), rounded into a dense copy with the operand's own
// orientation (so sgemm reads it with the same trans flag); *ld gets the copy's leading dimension.
// An operand that already holds bf16 values in float32 (X.rounded) is read in place: no copy.
const float* rounded_block(const Operand& X, int64_t r0, int64_t rows, int64_t c0, int64_t cols, std::unique_ptr<float[]>& buf,
                           size_t& cap, int64_t* ld) {
  if (X.rounded) {
    *ld = X.ld;
    return reinterpret_cast<const float*>(X.addr(r0, c0));
  }
  const int64_t runs = X.trans ? cols : rows, len = X.trans ? rows : cols;  // memory rows x contiguous run length
  float* d = scratch(buf, cap, size_t(runs * len));
#pragma omp parallel for schedule(static) if (runs * len > (1 << 15))
  for (int64_t i = 0; i < runs; ++i) {
    const char* src = X.trans ? X.addr(r0, c0 + i) : X.addr(r0 + i, c0);
    if (X.dt == DType::F32) bf16conv::round_f32(reinterpret_cast<const float*>(src), d + i * len, len);
    else bf16conv::bf16_to_f32_run(reinterpret_cast<const uint16_t*>(src), d + i * len, len);
  }
  *ld = len;
  return d;
}

// The rounded copies are made per block of at most kCopyElems elements, reused across calls: a copy
// of a whole LM-head operand (rows x vocab) would cost page faults on every call and hundreds of MB.
// Splitting M and N leaves every sum as it was; K is split only when even 256 rows or columns of the
// operand exceed the block (the LM head's dX, K = vocab), and then C accumulates the slabs (beta 1).
constexpr int64_t kCopyElems = int64_t(1) << 22;

void gemm_rounded_sgemm(const Operand& A, const Operand& B, int64_t M, int64_t N, int64_t K, float alpha, float beta,
                        float* C, int64_t ldc) {
  thread_local std::unique_ptr<float[]> abuf, bbuf;
  thread_local size_t acap = 0, bcap = 0;
  if (A.rounded && B.rounded) {  // both hold bf16 values already: sgemm on them as they are
    cblas_sgemm(CblasRowMajor, A.trans ? CblasTrans : CblasNoTrans, B.trans ? CblasTrans : CblasNoTrans, int(M), int(N), int(K),
                alpha, static_cast<const float*>(A.p), int(A.ld), static_cast<const float*>(B.p), int(B.ld), beta, C, int(ldc));
    return;
  }
  // Only an operand that is copied bounds the blocks: one read in place (rounded) keeps its whole
  // extent, so e.g. the LM head's forward (weight copy rounded) and dW (gradient rounded) are one sgemm
  // each instead of a call per 4 M-element block (each call re-packs the other operand and re-forks
  // OpenBLAS's threads).
  const int64_t edge = std::min<int64_t>(std::max(A.rounded ? 1 : M, B.rounded ? 1 : N), 256);
  const int64_t kc = K * edge > kCopyElems ? std::max<int64_t>(256, kCopyElems / edge) : K;
  const int64_t mc = A.rounded ? M : std::max<int64_t>(1, std::min(M, kCopyElems / kc));
  const int64_t nc = B.rounded ? N : std::max<int64_t>(1, std::min(N, kCopyElems / kc));
  for (int64_t k0 = 0; k0 < K; k0 += kc) {
    const int64_t kb = std::min(kc, K - k0);
    for (int64_t n0 = 0; n0 < N; n0 += nc) {
      const int64_t nb = std::min(nc, N - n0);
      int64_t ldb, lda;
      const float* b = rounded_block(B, k0, kb, n0, nb, bbuf, bcap, &ldb);
      for (int64_t m0 = 0; m0 < M; m0 += mc) {
        const int64_t mb = std::min(mc, M - m0);
        const float* a = rounded_block(A, m0, mb, k0, kb, abuf, acap, &lda);
        cblas_sgemm(CblasRowMajor, A.trans ? CblasTrans : CblasNoTrans, B.trans ? CblasTrans : CblasNoTrans, int(mb),
                    int(nb), int(kb), alpha, a, int(lda), b, int(ldb), k0 == 0 ? beta : 1.f, C + m0 * ldc + n0, int(ldc));
      }
    }
  }
}

// ---- avx512bf16 path ----
#define OLMO_AVX512BF16 __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl,avx512bf16")))

// Up to 16 values (mask `valid`, the rest zero) as 32-bit lanes holding their bf16 bits in the high half
// (low half zero): f32 rounded nearest-even exactly like f32_to_bf16 (NaN quietened), bf16 shifted up.
OLMO_AVX512BF16 inline __m512i load_bf16_hi(const char* src, DType dt, __mmask16 valid) {
  if (dt == DType::BF16) return _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(valid, src)), 16);
  const __m512i u = _mm512_maskz_loadu_epi32(valid, src);
  __m512i r = _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)),
                               _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1)));
  const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
  r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(u, _mm512_set1_epi32(0x00400000)));
  return _mm512_and_si512(r, _mm512_set1_epi32(int(0xffff0000u)));
}
inline __mmask16 first_lanes(int64_t n) { return n >= 16 ? __mmask16(0xffff) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1); }

// k-pair words across: out[q] = bf16(lo[q]) | bf16(hi[q]) << 16 for q < n (n <= 16), lanes n..15 zero;
// hi == nullptr means the pair's second row is past K (zero). Stores all 16 lanes.
OLMO_AVX512BF16 inline void pair_words_across(const char* lo, const char* hi, DType dt, int64_t n, uint32_t* out) {
  const __mmask16 m = first_lanes(n);
  __m512i w = _mm512_srli_epi32(load_bf16_hi(lo, dt, m), 16);
  if (hi) w = _mm512_or_si512(w, load_bf16_hi(hi, dt, m));
  _mm512_storeu_si512(out, w);
}

// k-pair words along a contiguous run of n elements: out[q] = bf16(s[2q]) | bf16(s[2q+1]) << 16,
// q < ceil(n/2) (an odd n leaves the last word's high half zero).
OLMO_AVX512BF16 void pair_words_along(const char* s, DType dt, int64_t n, uint32_t* out) {
  const size_t es = dtype_size(dt);
  for (int64_t k = 0; k < n; k += 32, out += 16, s += 32 * es) {
    const __m512i lo = _mm512_srli_epi32(load_bf16_hi(s, dt, first_lanes(n - k)), 16);             // elements k..k+15
    const __m512i hi = _mm512_srli_epi32(load_bf16_hi(s + 16 * es, dt, first_lanes(n - k - 16)), 16);  // k+16..k+31
    // 32 bf16 values in order = 16 words in order.
    const __m512i w = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi32_epi16(lo)), _mm512_cvtepi32_epi16(hi), 1);
    const int64_t words = std::min<int64_t>(16, (n - k + 1) / 2);
    _mm512_mask_storeu_epi32(out, first_lanes(words), w);
  }
}

// B block [kc x nc] at (k0, j0) -> panels of NR columns; each panel is kc/2 k-pairs of NR
// (lo = row 2p, hi = row 2p+1) bf16 pairs = one 32-bit word per column. Zero-padded.
OLMO_AVX512BF16 void pack_b(const Operand& B, int64_t k0, int64_t kc, int64_t j0, int64_t nc, uint32_t* dst) {
  const int64_t kp = (kc + 1) / 2, panels = (nc + NR - 1) / NR;
#pragma omp for schedule(static)
  for (int64_t pn = 0; pn < panels; ++pn) {
    uint32_t* d = dst + pn * kp * NR;
    const int64_t c0 = j0 + pn * NR, ncol = std::min(NR, j0 + nc - c0);
    if (!B.trans) {  // rows of op(B) contiguous: two rows -> NR words per k-pair
      for (int64_t p = 0; p < kp; ++p) {
        const int64_t k = k0 + 2 * p;
        const bool hasHi = 2 * p + 1 < kc;
        for (int64_t h = 0; h < NR; h += 16)
          pair_words_across(B.addr(k, c0 + h), hasHi ? B.addr(k + 1, c0 + h) : nullptr, B.dt, ncol - h, d + p * NR + h);
      }
    } else {  // columns of op(B) contiguous along k: one column -> kp words, stored NR apart
      alignas(64) uint32_t col[KC / 2 + 16];
      for (int64_t j = 0; j < NR; ++j) {
        if (j < ncol) pair_words_along(B.addr(k0, c0 + j), B.dt, kc, col);
        for (int64_t p = 0; p < kp; ++p) d[p * NR + j] = j < ncol ? col[p] : 0u;
      }
    }
  }
}

// pack_a's row-major case: out[f] = rows[f % MR][p + f / MR] for f < 16 * MR — six row vectors of 16
// words become six vectors of the p-major layout. Output vector j, lane l holds f = 16j + l; it comes
// from one of the three row pairs (permutex2var picks it) and the pairs are merged by lane masks.
struct TransposeTables {
  alignas(64) int32_t idx[MR][3][16];  // [output vector][row pair][lane]
  __mmask16 pair1[MR], pair2[MR];      // lanes taken from row pair 1 (rows 2, 3) / pair 2 (rows 4, 5)
  TransposeTables() {
    for (int64_t j = 0; j < MR; ++j) {
      pair1[j] = pair2[j] = 0;
      for (int l = 0; l < 16; ++l) {
        const int64_t f = 16 * j + l, r = f % MR, p = f / MR;
        for (int a = 0; a < 3; ++a) idx[j][a][l] = r == 2 * a ? int32_t(p) : r == 2 * a + 1 ? int32_t(16 + p) : 0;
        if (r / 2 == 1) pair1[j] = __mmask16(pair1[j] | (1u << l));
        if (r / 2 == 2) pair2[j] = __mmask16(pair2[j] | (1u << l));
      }
    }
  }
};
static_assert(MR == 6, "transpose_6x16 is written for 6-row micro-panels");
OLMO_AVX512BF16 inline void transpose_6x16(uint32_t (*rows)[KC / 2 + 16], int64_t p, uint32_t* out) {
  static const TransposeTables t;
  __m512i r[MR];
  for (int64_t i = 0; i < MR; ++i) r[i] = _mm512_loadu_si512(rows[i] + p);
  for (int64_t j = 0; j < MR; ++j) {
    __m512i o = _mm512_permutex2var_epi32(r[0], _mm512_load_si512(t.idx[j][0]), r[1]);
    o = _mm512_mask_mov_epi32(o, t.pair1[j], _mm512_permutex2var_epi32(r[2], _mm512_load_si512(t.idx[j][1]), r[3]));
    o = _mm512_mask_mov_epi32(o, t.pair2[j], _mm512_permutex2var_epi32(r[4], _mm512_load_si512(t.idx[j][2]), r[5]));
    _mm512_storeu_si512(out + 16 * j, o);
  }
}

// A block [mc x kc] at (i0, k0) -> micro-panels of MR rows; each is kc/2 steps of MR k-pair words.
OLMO_AVX512BF16 void pack_a(const Operand& A, int64_t i0, int64_t mc, int64_t k0, int64_t kc, uint32_t* dst) {
  const int64_t kp = (kc + 1) / 2, panels = (mc + MR - 1) / MR;
  int64_t pm = 0;
  if (A.trans) {
    // Columns of op(A) contiguous along i (the LM head's dW = dYᵀ X reads dY so): 8 micro-panels
    // (48 rows of op(A)) per k-pair from three full 16-lane loads per memory row instead of eight
    // 6-lane ones — the same words as the per-panel loop below, a third of the loads and roundings.
    constexpr int64_t kGroup = 8 * MR;  // 48 = 3 x 16 lanes
    for (; (pm + 8) * MR <= mc; pm += 8) {
      const int64_t r0 = i0 + pm * MR;
      uint32_t* d = dst + pm * kp * MR;
      alignas(64) uint32_t w[kGroup];
      for (int64_t p = 0; p < kp; ++p) {
        const int64_t k = k0 + 2 * p;
        const bool hasHi = 2 * p + 1 < kc;
        for (int64_t h = 0; h < kGroup; h += 16)
          pair_words_across(A.addr(r0 + h, k), hasHi ? A.addr(r0 + h, k + 1) : nullptr, A.dt, 16, w + h);
        for (int64_t q = 0; q < 8; ++q) std::memcpy(d + q * kp * MR + p * MR, w + q * MR, MR * sizeof(uint32_t));
      }
    }
  }
  for (; pm < panels; ++pm) {
    uint32_t* d = dst + pm * kp * MR;
    const int64_t r0 = i0 + pm * MR, nrow = std::min(MR, i0 + mc - r0);
    if (A.trans) {  // columns of op(A) contiguous along i: two memory rows -> MR words per k-pair
      alignas(64) uint32_t w[16];
      for (int64_t p = 0; p < kp; ++p) {
        const int64_t k = k0 + 2 * p;
        pair_words_across(A.addr(r0, k), 2 * p + 1 < kc ? A.addr(r0, k + 1) : nullptr, A.dt, nrow, w);
        std::memcpy(d + p * MR, w, MR * sizeof(uint32_t));
      }
    } else {  // rows of op(A) contiguous along k: one row -> kp words, stored MR apart
      alignas(64) uint32_t rows[MR][KC / 2 + 16];
      for (int64_t r = 0; r < MR; ++r) {
        if (r < nrow) pair_words_along(A.addr(r0 + r, k0), A.dt, kc, rows[r]);
        else std::memset(rows[r], 0, sizeof(rows[r]));
      }
      // 16 k-pairs at a time: the 6 x 16 words -> 96 words in p-major order, in registers
      const int64_t full = kp / 16 * 16;
      for (int64_t p = 0; p < full; p += 16) transpose_6x16(rows, p, d + p * MR);
      for (int64_t p = full; p < kp; ++p)
        for (int64_t r = 0; r < MR; ++r) d[p * MR + r] = rows[r][p];
    }
  }
}

// C tile (mr x nr at c, ldc) from the MR x NR accumulators: first k-block C = alpha*acc (+ beta*C),
// later ones C += alpha*acc — the order of operations of the scalar epilogue this replaced.
enum class Epilogue { kAssign, kAssignBeta, kAccumulate };
OLMO_AVX512BF16 inline void store_row(float* c, __m512 a0, __m512 a1, int64_t nr, Epilogue e, __m512 alpha, __m512 beta) {
  const __mmask16 m0 = first_lanes(nr), m1 = first_lanes(nr - 16);
  a0 = _mm512_mul_ps(alpha, a0);
  a1 = _mm512_mul_ps(alpha, a1);
  if (e == Epilogue::kAccumulate) {
    a0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, c), a0);
    a1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, c + 16), a1);
  } else if (e == Epilogue::kAssignBeta) {
    a0 = _mm512_add_ps(a0, _mm512_mul_ps(beta, _mm512_maskz_loadu_ps(m0, c)));
    a1 = _mm512_add_ps(a1, _mm512_mul_ps(beta, _mm512_maskz_loadu_ps(m1, c + 16)));
  }
  _mm512_mask_storeu_ps(c, m0, a0);
  _mm512_mask_storeu_ps(c + 16, m1, a1);
}

// C tile += sum over kp k-pairs of a-pairs (broadcast) . b-pairs, 6 x 32 accumulators in registers.
OLMO_AVX512BF16 void micro_kernel(int64_t kp, const uint32_t* a, const uint32_t* b, float* c, int64_t ldc, int64_t mr,
                                  int64_t nr, Epilogue e, float alphaS, float betaS) {
  __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
         c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (int64_t p = 0; p < kp; ++p, a += MR, b += NR) {
    __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 16);
#define OLMO_ROW(r)                                                        \
  {                                                                        \
    __m512bh ar = (__m512bh)_mm512_set1_epi32(int(a[r]));                  \
    c##r##0 = _mm512_dpbf16_ps(c##r##0, ar, b0);                           \
    c##r##1 = _mm512_dpbf16_ps(c##r##1, ar, b1);                           \
  }
    OLMO_ROW(0) OLMO_ROW(1) OLMO_ROW(2) OLMO_ROW(3) OLMO_ROW(4) OLMO_ROW(5)
#undef OLMO_ROW
  }
  const __m512 alpha = _mm512_set1_ps(alphaS), beta = _mm512_set1_ps(betaS);
  store_row(c, c00, c01, nr, e, alpha, beta);
  if (mr > 1) store_row(c + 1 * ldc, c10, c11, nr, e, alpha, beta);
  if (mr > 2) store_row(c + 2 * ldc, c20, c21, nr, e, alpha, beta);
  if (mr > 3) store_row(c + 3 * ldc, c30, c31, nr, e, alpha, beta);
  if (mr > 4) store_row(c + 4 * ldc, c40, c41, nr, e, alpha, beta);
  if (mr > 5) store_row(c + 5 * ldc, c50, c51, nr, e, alpha, beta);
}

// Rows per A block: MC, or fewer so that the blocks split evenly over the threads (a 256-row weight
// gradient is 3 blocks of 96, which two threads would run 2 + 1).
int64_t rows_per_block(int64_t M, int nthreads) {
  int64_t blocks = (M + MC - 1) / MC;
  if (nthreads > 1) blocks = std::max<int64_t>(blocks, nthreads), blocks = (blocks + nthreads - 1) / nthreads * nthreads;
  const int64_t mc = (M + blocks - 1) / blocks;
  return std::min(MC, (mc + MR - 1) / MR * MR);
}

OLMO_AVX512BF16 void gemm_avx512bf16(const Operand& A, const Operand& B, int64_t M, int64_t N, int64_t K, float alpha,
                                     float beta, float* C, int64_t ldc) {
  const int64_t kpMax = KC / 2;
  thread_local std::unique_ptr<uint32_t[]> bbuf;
  thread_local size_t bcap = 0;
  uint32_t* bpack = scratch(bbuf, bcap, size_t(((NC + NR - 1) / NR) * kpMax * NR));
  for (int64_t j0 = 0; j0 < N; j0 += NC) {
    const int64_t nc = std::min(NC, N - j0);
    for (int64_t k0 = 0; k0 < K; k0 += KC) {
      const int64_t kc = std::min(KC, K - k0), kp = (kc + 1) / 2;
      const Epilogue e = k0 > 0 ? Epilogue::kAccumulate : beta == 0.f ? Epilogue::kAssign : Epilogue::kAssignBeta;
#pragma omp parallel if (M * nc * kc > (1 << 18))
      {
        pack_b(B, k0, kc, j0, nc, bpack);  // omp for inside: the team packs B together (implicit barrier)
        thread_local std::unique_ptr<uint32_t[]> abuf;
        thread_local size_t acap = 0;
        uint32_t* apack = scratch(abuf, acap, size_t(((MC + MR - 1) / MR) * kpMax * MR));
        const int64_t mcBlock = rows_per_block(M, omp_get_num_threads());
        const int64_t mBlocks = (M + mcBlock - 1) / mcBlock;
#pragma omp for schedule(dynamic, 1)
        for (int64_t mb = 0; mb < mBlocks; ++mb) {
          const int64_t i0 = mb * mcBlock, mc = std::min(mcBlock, M - i0);
          pack_a(A, i0, mc, k0, kc, apack);
          for (int64_t jr = 0; jr < nc; jr += NR) {
            const uint32_t* bp = bpack + (jr / NR) * kp * NR;
            const int64_t nr = std::min(NR, nc - jr);
            for (int64_t ir = 0; ir < mc; ir += MR)
              micro_kernel(kp, apack + (ir / MR) * kp * MR, bp, C + (i0 + ir) * ldc + j0 + jr, ldc,
                           std::min(MR, mc - ir), nr, e, alpha, beta);
          }
        }
      }
    }
  }
}

}  // namespace

const char* gemm_bf16_isa() { return cpu_has_avx512bf16() && !forced_avx2() ? "avx512bf16" : "avx2"; }

void gemm_bf16(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const void* A, DType adt,
               int64_t lda, int64_t strideA, const void* B, DType bdt, int64_t ldb, int64_t strideB, float beta, float* C,
               int64_t ldc, int64_t strideC, int64_t batch, bool a_rounded, bool b_rounded) {
  OLMO_CHECK((adt == DType::F32 || adt == DType::BF16) && (bdt == DType::F32 || bdt == DType::BF16), "DTYPE_UNSUPPORTED",
             "gemm_bf16: operands must be float32 or bfloat16", "cast the operands first");
  if (M == 0 || N == 0) return;
  const bool bf16 = std::strcmp(gemm_bf16_isa(), "avx512bf16") == 0;
  for (int64_t b = 0; b < batch; ++b) {
    Operand a{A, adt, transA, lda, a_rounded && adt == DType::F32}, bb{B, bdt, transB, ldb, b_rounded && bdt == DType::F32};
    a = a.at(b * strideA);
    bb = bb.at(b * strideB);
    if (K == 0) scale_c(M, N, beta, C + b * strideC, ldc);
    else if (bf16) gemm_avx512bf16(a, bb, M, N, K, alpha, beta, C + b * strideC, ldc);
    else gemm_rounded_sgemm(a, bb, M, N, K, alpha, beta, C + b * strideC, ldc);
  }
}

}  // namespace olmo::cpu
