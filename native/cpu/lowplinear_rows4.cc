// lowplinear's 4-row float32 / bf16 batch-1 GEMV kernels (see lowplinear_rows4.h for the contract:
// per row, bit for bit lowplinear.cc's dot_{f32,bf16}_{avx512,avx2}).
#include "lowplinear_rows4.h"

#include "lowplinear_tune.h"  // kGemvPrefetchBytes

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own _mm*_undefined_* helpers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#define OLMO_AVX2 __attribute__((target("avx2,fma,f16c")))
#define OLMO_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl")))
#define OLMO_INLINE inline __attribute__((always_inline))

namespace olmo::cpu {

namespace {

// Prefetches `lines` cache lines from pf and advances it: called once per k step with the bytes
// that step consumes, so the stream of the NEXT group of rows (contiguous after this one) is
// requested kGemvPrefetchBytes ahead at the rate this group consumes its own.
OLMO_AVX2 OLMO_INLINE void prefetch_lines(const char*& pf, int64_t bytes) {
  for (int64_t o = 0; o < bytes; o += 64) _mm_prefetch(pf + o, _MM_HINT_T0);
  pf += bytes;
}

// ------------------------------------------------------------------ AVX-512, 4 rows

template <bool kBf16>
OLMO_AVX512 OLMO_INLINE __m512 w16(const char* row, int64_t k) {
  if constexpr (kBf16) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(reinterpret_cast<const uint16_t*>(row) + k));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  } else {
    return _mm512_loadu_ps(reinterpret_cast<const float*>(row) + k);
  }
}

template <bool kBf16>
OLMO_AVX512 OLMO_INLINE void rows4_512(const char* w0, int64_t K, const float* x, float* y) {
  constexpr int64_t es = kBf16 ? 2 : 4;
  const int64_t rb = K * es;
  __m512 a[4][4];
  for (int r = 0; r < 4; ++r)
    for (int j = 0; j < 4; ++j) a[r][j] = _mm512_setzero_ps();
  const char* pf = w0 + 4 * rb + kGemvPrefetchBytes;
  // Long rows (OLMo-1B bf16: 4 / 16 KiB): one prefetch stream per row, kGemvPrefetchBytes ahead
  // of where this group reads it and on into the same row of the next group (as the q8_0 kernel,
  // lowplinear_gemv512.cc): the linear prefetch of the next group front to back fetched its first
  // rows long before use and its last ones not at all.
  const bool per_row = rb >= kStreamPrefetchMinRowBytes && rows4_stream_prefetch();
  int64_t k = 0;
  // dot_*_avx512: accumulator j takes columns [k + 16j, k + 16j + 16) of each 64-column step ...
  for (; k + 64 <= K; k += 64) {
    if (per_row) {
      const int64_t off = k * es + kGemvPrefetchBytes;
      const int64_t at = off < rb ? off : off - rb + 4 * rb;
      for (int r = 0; r < 4; ++r)
        for (int64_t o = 0; o < 64 * es; o += 64) _mm_prefetch(w0 + r * rb + at + o, _MM_HINT_T0);
    } else {
      prefetch_lines(pf, 4 * 64 * es);
    }
    const __m512 x0 = _mm512_loadu_ps(x + k), x1 = _mm512_loadu_ps(x + k + 16);
    const __m512 x2 = _mm512_loadu_ps(x + k + 32), x3 = _mm512_loadu_ps(x + k + 48);
    for (int r = 0; r < 4; ++r) {
      const char* row = w0 + r * rb;
      a[r][0] = _mm512_fmadd_ps(w16<kBf16>(row, k), x0, a[r][0]);
      a[r][1] = _mm512_fmadd_ps(w16<kBf16>(row, k + 16), x1, a[r][1]);
      a[r][2] = _mm512_fmadd_ps(w16<kBf16>(row, k + 32), x2, a[r][2]);
      a[r][3] = _mm512_fmadd_ps(w16<kBf16>(row, k + 48), x3, a[r][3]);
    }
  }
  // ... and 16-column steps after that go to accumulator 0.
  for (; k + 16 <= K; k += 16) {
    const __m512 x0 = _mm512_loadu_ps(x + k);
    for (int r = 0; r < 4; ++r) a[r][0] = _mm512_fmadd_ps(w16<kBf16>(w0 + r * rb, k), x0, a[r][0]);
  }
  // _mm512_reduce_add_ps(add(add(a0, a1), add(a2, a3))) per row, as GCC computes it: 512 -> 256 ->
  // 128 lanes by halves, then (l0 + l2) + (l1 + l3) — for four rows at once through a transpose.
  __m128 s[4];
  for (int r = 0; r < 4; ++r) {
    const __m512 t = _mm512_add_ps(_mm512_add_ps(a[r][0], a[r][1]), _mm512_add_ps(a[r][2], a[r][3]));
    const __m256 h = _mm256_add_ps(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(t), 1)),
                                   _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(t), 0)));
    s[r] = _mm_add_ps(_mm256_extractf128_ps(h, 1), _mm256_castps256_ps128(h));
  }
  _MM_TRANSPOSE4_PS(s[0], s[1], s[2], s[3]);  // s[j] = lane j of the four rows
  _mm_storeu_ps(y, _mm_add_ps(_mm_add_ps(s[0], s[2]), _mm_add_ps(s[1], s[3])));
}

// ------------------------------------------------------------------ AVX2, 2 rows at a time

template <bool kBf16>
OLMO_AVX2 OLMO_INLINE __m256 w8(const char* row, int64_t k) {
  if constexpr (kBf16) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(reinterpret_cast<const uint16_t*>(row) + k));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  } else {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + k);
  }
}

// Two rows per pass (AVX2 has 16 vector registers: 2 rows x 4 accumulators + x + weights fit, 4
// rows would spill), so a group of 4 is two passes; the second pass's rows are already prefetched.
template <bool kBf16>
OLMO_AVX2 OLMO_INLINE void rows2_256(const char* w0, int64_t rb, int64_t K, const float* x, const char*& pf, __m128* s) {
  constexpr int64_t es = kBf16 ? 2 : 4;
  __m256 a[2][4];
  for (int r = 0; r < 2; ++r)
    for (int j = 0; j < 4; ++j) a[r][j] = _mm256_setzero_ps();
  int64_t k = 0;
  // dot_*_avx2: accumulator j takes columns [k + 8j, k + 8j + 8) of each 32-column step, then
  // 8-column steps go to accumulator 0.
  for (; k + 32 <= K; k += 32) {
    prefetch_lines(pf, 2 * 32 * es);
    const __m256 x0 = _mm256_loadu_ps(x + k), x1 = _mm256_loadu_ps(x + k + 8);
    const __m256 x2 = _mm256_loadu_ps(x + k + 16), x3 = _mm256_loadu_ps(x + k + 24);
    for (int r = 0; r < 2; ++r) {
      const char* row = w0 + r * rb;
      a[r][0] = _mm256_fmadd_ps(w8<kBf16>(row, k), x0, a[r][0]);
      a[r][1] = _mm256_fmadd_ps(w8<kBf16>(row, k + 8), x1, a[r][1]);
      a[r][2] = _mm256_fmadd_ps(w8<kBf16>(row, k + 16), x2, a[r][2]);
      a[r][3] = _mm256_fmadd_ps(w8<kBf16>(row, k + 24), x3, a[r][3]);
    }
  }
  for (; k + 8 <= K; k += 8) {
    const __m256 x0 = _mm256_loadu_ps(x + k);
    for (int r = 0; r < 2; ++r) a[r][0] = _mm256_fmadd_ps(w8<kBf16>(w0 + r * rb, k), x0, a[r][0]);
  }
  // hsum256's first step (low + high 128-bit halves) per row; the rest after the transpose.
  for (int r = 0; r < 2; ++r) {
    const __m256 t = _mm256_add_ps(_mm256_add_ps(a[r][0], a[r][1]), _mm256_add_ps(a[r][2], a[r][3]));
    s[r] = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
  }
}

template <bool kBf16>
OLMO_AVX2 OLMO_INLINE void rows4_256(const char* w0, int64_t K, const float* x, float* y) {
  constexpr int64_t es = kBf16 ? 2 : 4;
  const int64_t rb = K * es;
  const char* pf = w0 + 4 * rb + kGemvPrefetchBytes;
  __m128 s[4];
  rows2_256<kBf16>(w0, rb, K, x, pf, s);
  rows2_256<kBf16>(w0 + 2 * rb, rb, K, x, pf, s + 2);
  // hsum256: (l0 + l2) + (l1 + l3) of the 128-bit sum.
  _MM_TRANSPOSE4_PS(s[0], s[1], s[2], s[3]);
  _mm_storeu_ps(y, _mm_add_ps(_mm_add_ps(s[0], s[2]), _mm_add_ps(s[1], s[3])));
}

}  // namespace

OLMO_AVX512 bool rows4_f32_avx512(const float* w0, int64_t K, const float* x, float* y) {
  if (K % 16 != 0) return false;
  rows4_512<false>(reinterpret_cast<const char*>(w0), K, x, y);
  return true;
}

OLMO_AVX512 bool rows4_bf16_avx512(const uint16_t* w0, int64_t K, const float* x, float* y) {
  if (K % 16 != 0) return false;
  rows4_512<true>(reinterpret_cast<const char*>(w0), K, x, y);
  return true;
}

OLMO_AVX2 bool rows4_f32_avx2(const float* w0, int64_t K, const float* x, float* y) {
  if (K % 8 != 0) return false;
  rows4_256<false>(reinterpret_cast<const char*>(w0), K, x, y);
  return true;
}

OLMO_AVX2 bool rows4_bf16_avx2(const uint16_t* w0, int64_t K, const float* x, float* y) {
  if (K % 8 != 0) return false;
  rows4_256<true>(reinterpret_cast<const char*>(w0), K, x, y);
  return true;
}

}  // namespace olmo::cpu

#else  // not x86: no kernels here; lowplinear.cc never calls these

namespace olmo::cpu {
bool rows4_f32_avx512(const float*, int64_t, const float*, float*) { return false; }
bool rows4_bf16_avx512(const uint16_t*, int64_t, const float*, float*) { return false; }
bool rows4_f32_avx2(const float*, int64_t, const float*, float*) { return false; }
bool rows4_bf16_avx2(const uint16_t*, int64_t, const float*, float*) { return false; }
}  // namespace olmo::cpu

#endif
