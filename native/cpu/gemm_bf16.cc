// gemm_bf16 on CPU: C = alpha * bf16(op(A)) @ bf16(op(B)) + beta * C with float32 accumulation —
// the GEMM numerics of mixed-precision (amp_bf16) training. A and B may be float32 (rounded to
// bf16, nearest-even, while packing) or bf16 already.
//
// Two paths, chosen per call (so a test can cover both in one process):
//   avx512bf16: GotoBLAS-style blocking (NC x KC panels of B packed as bf16 k-pairs, MC x KC blocks
//     of A packed per thread) and a 6x32 register tile of `vdpbf16ps` (16 lanes x 2 products per
//     instruction: twice the multiply-adds of an fp32 FMA of the same width). The products of two
//     bf16 values are exact in fp32; vdpbf16ps flushes denormals (inputs and result) to zero, which
//     gradients this small never reach in practice.
//   avx2: the same rounding, then OpenBLAS sgemm on the rounded copies. Without bf16 dot-product
//     instructions there is no arithmetic to gain from bf16, only the rounding that defines the
//     numerics — and sgemm is the fastest fp32 kernel at hand.
// OLMO_CPU_GEMM_BF16=avx2 forces the avx2 path (tests cover both paths on AVX512-BF16 machines).
#include <cblas.h>
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "olmo/check.h"
#include "olmo/ops/gemm.h"
#include "olmo/tensor.h"

namespace olmo::cpu {

namespace {

constexpr int64_t MR = 6, NR = 32, KC = 512, MC = 96, NC = 2048;  // MC % MR == 0, NC % NR == 0, KC even

bool cpu_has_avx512bf16() {
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512bf16");
  return has;
}

// Read per call (getenv is a short scan) so a test can switch paths between calls.
bool forced_avx2() {
  const char* v = std::getenv("OLMO_CPU_GEMM_BF16");
  return v && std::strcmp(v, "avx2") == 0;
}

// One operand: element (r, c) of op(X), where op(X) is rows x cols.
struct Operand {
  const void* p;
  DType dt;
  bool trans;
  int64_t ld;
  inline float get(int64_t r, int64_t c) const {
    int64_t i = trans ? c * ld + r : r * ld + c;
    return dt == DType::F32 ? static_cast<const float*>(p)[i] : bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
  }
  inline uint16_t bits(int64_t r, int64_t c) const {
    int64_t i = trans ? c * ld + r : r * ld + c;
    return dt == DType::F32 ? f32_to_bf16(static_cast<const float*>(p)[i]) : static_cast<const uint16_t*>(p)[i];
  }
  Operand at(int64_t elems) const {
    Operand o = *this;
    o.p = static_cast<const char*>(p) + elems * int64_t(dtype_size(dt));
    return o;
  }
};

// ---- avx2 path: round to bf16 (kept as fp32 values), then sgemm ----
void gemm_rounded_sgemm(const Operand& A, const Operand& B, int64_t M, int64_t N, int64_t K, float alpha, float beta,
                        float* C, int64_t ldc) {
  std::vector<float> a(size_t(M * K)), b(size_t(K * N));
#pragma omp parallel for schedule(static) if (M * K > (1 << 16))
  for (int64_t i = 0; i < M; ++i)
    for (int64_t k = 0; k < K; ++k) a[size_t(i * K + k)] = bf16_to_f32(A.bits(i, k));
#pragma omp parallel for schedule(static) if (K * N > (1 << 16))
  for (int64_t k = 0; k < K; ++k)
    for (int64_t j = 0; j < N; ++j) b[size_t(k * N + j)] = bf16_to_f32(B.bits(k, j));
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(M), int(N), int(K), alpha, a.data(), int(K), b.data(),
              int(N), beta, C, int(ldc));
}

// ---- avx512bf16 path ----
#define OLMO_AVX512BF16 __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl,avx512bf16")))

// B block [kc x nc] at (k0, j0) -> panels of NR columns; each panel is kc/2 k-pairs of NR
// (lo = row 2p, hi = row 2p+1) bf16 pairs = one 32-bit lane per column. Zero-padded.
void pack_b(const Operand& B, int64_t k0, int64_t kc, int64_t j0, int64_t nc, int64_t N, uint16_t* dst) {
  const int64_t kp = (kc + 1) / 2, panels = (nc + NR - 1) / NR;
#pragma omp for schedule(static)
  for (int64_t pn = 0; pn < panels; ++pn) {
    uint16_t* d = dst + pn * kp * NR * 2;
    for (int64_t p = 0; p < kp; ++p)
      for (int64_t j = 0; j < NR; ++j) {
        int64_t col = j0 + pn * NR + j, k = k0 + 2 * p;
        bool okc = col < N && col < j0 + nc;
        d[(p * NR + j) * 2] = okc ? B.bits(k, col) : 0;
        d[(p * NR + j) * 2 + 1] = okc && 2 * p + 1 < kc ? B.bits(k + 1, col) : 0;
      }
  }
}

// A block [mc x kc] at (i0, k0) -> micro-panels of MR rows; each is kc/2 steps of MR k-pairs.
void pack_a(const Operand& A, int64_t i0, int64_t mc, int64_t k0, int64_t kc, uint32_t* dst) {
  const int64_t kp = (kc + 1) / 2, panels = (mc + MR - 1) / MR;
  for (int64_t pm = 0; pm < panels; ++pm) {
    uint32_t* d = dst + pm * kp * MR;
    for (int64_t p = 0; p < kp; ++p)
      for (int64_t r = 0; r < MR; ++r) {
        int64_t row = pm * MR + r;
        uint32_t lo = 0, hi = 0;
        if (row < mc) {
          lo = A.bits(i0 + row, k0 + 2 * p);
          if (2 * p + 1 < kc) hi = A.bits(i0 + row, k0 + 2 * p + 1);
        }
        d[p * MR + r] = lo | (hi << 16);
      }
  }
}

// acc[MR][NR] = sum over kp k-pairs of a-pairs (broadcast) . b-pairs.
OLMO_AVX512BF16 void micro_kernel(int64_t kp, const uint32_t* a, const uint16_t* b, float* acc) {
  __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
         c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (int64_t p = 0; p < kp; ++p, a += MR, b += 2 * NR) {
    __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + NR);
#define OLMO_ROW(r)                                                        \
  {                                                                        \
    __m512bh ar = (__m512bh)_mm512_set1_epi32(int(a[r]));                  \
    c##r##0 = _mm512_dpbf16_ps(c##r##0, ar, b0);                           \
    c##r##1 = _mm512_dpbf16_ps(c##r##1, ar, b1);                           \
  }
    OLMO_ROW(0) OLMO_ROW(1) OLMO_ROW(2) OLMO_ROW(3) OLMO_ROW(4) OLMO_ROW(5)
#undef OLMO_ROW
  }
  _mm512_storeu_ps(acc + 0 * NR, c00); _mm512_storeu_ps(acc + 0 * NR + 16, c01);
  _mm512_storeu_ps(acc + 1 * NR, c10); _mm512_storeu_ps(acc + 1 * NR + 16, c11);
  _mm512_storeu_ps(acc + 2 * NR, c20); _mm512_storeu_ps(acc + 2 * NR + 16, c21);
  _mm512_storeu_ps(acc + 3 * NR, c30); _mm512_storeu_ps(acc + 3 * NR + 16, c31);
  _mm512_storeu_ps(acc + 4 * NR, c40); _mm512_storeu_ps(acc + 4 * NR + 16, c41);
  _mm512_storeu_ps(acc + 5 * NR, c50); _mm512_storeu_ps(acc + 5 * NR + 16, c51);
}

void gemm_avx512bf16(const Operand& A, const Operand& B, int64_t M, int64_t N, int64_t K, float alpha, float beta,
                     float* C, int64_t ldc) {
  if (K == 0) {  // no products: C = beta * C (beta 0 writes zeros, never reads C)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.f ? 0.f : beta * C[i * ldc + j];
    return;
  }
  const int64_t kpMax = KC / 2;
  std::vector<uint16_t> bpack(size_t(((NC + NR - 1) / NR) * kpMax * NR * 2));
  for (int64_t j0 = 0; j0 < N; j0 += NC) {
    const int64_t nc = std::min(NC, N - j0);
    for (int64_t k0 = 0; k0 < K; k0 += KC) {
      const int64_t kc = std::min(KC, K - k0), kp = (kc + 1) / 2;
      const bool first = k0 == 0;
      const int64_t mBlocks = (M + MC - 1) / MC;
#pragma omp parallel if (M * nc * kc > (1 << 18))
      {
        pack_b(B, k0, kc, j0, nc, N, bpack.data());  // omp for inside: the team packs B together (implicit barrier)
        std::vector<uint32_t> apack(size_t(((MC + MR - 1) / MR) * kpMax * MR));
        alignas(64) float acc[MR * NR];
#pragma omp for schedule(dynamic, 1)
        for (int64_t mb = 0; mb < mBlocks; ++mb) {
          const int64_t i0 = mb * MC, mc = std::min(MC, M - i0);
          pack_a(A, i0, mc, k0, kc, apack.data());
          for (int64_t jr = 0; jr < nc; jr += NR) {
            const uint16_t* bp = bpack.data() + (jr / NR) * kp * NR * 2;
            const int64_t nr = std::min(NR, nc - jr);
            for (int64_t ir = 0; ir < mc; ir += MR) {
              micro_kernel(kp, apack.data() + (ir / MR) * kp * MR, bp, acc);
              const int64_t mr = std::min(MR, mc - ir);
              for (int64_t r = 0; r < mr; ++r) {
                float* c = C + (i0 + ir + r) * ldc + j0 + jr;
                const float* s = acc + r * NR;
                if (!first) for (int64_t j = 0; j < nr; ++j) c[j] += alpha * s[j];
                else if (beta == 0.f) for (int64_t j = 0; j < nr; ++j) c[j] = alpha * s[j];
                else for (int64_t j = 0; j < nr; ++j) c[j] = alpha * s[j] + beta * c[j];
              }
            }
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
               int64_t ldc, int64_t strideC, int64_t batch) {
  OLMO_CHECK((adt == DType::F32 || adt == DType::BF16) && (bdt == DType::F32 || bdt == DType::BF16), "DTYPE_UNSUPPORTED",
             "gemm_bf16: operands must be float32 or bfloat16", "cast the operands first");
  if (M == 0 || N == 0) return;
  const bool bf16 = std::strcmp(gemm_bf16_isa(), "avx512bf16") == 0;
  for (int64_t b = 0; b < batch; ++b) {
    Operand a{A, adt, transA, lda}, bb{B, bdt, transB, ldb};
    a = a.at(b * strideA);
    bb = bb.at(b * strideB);
    if (bf16) gemm_avx512bf16(a, bb, M, N, K, alpha, beta, C + b * strideC, ldc);
    else gemm_rounded_sgemm(a, bb, M, N, K, alpha, beta, C + b * strideC, ldc);
  }
}

}  // namespace olmo::cpu
