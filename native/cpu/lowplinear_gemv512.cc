// lowplinear's AVX-512 batch-1 GEMV kernels (see lowplinear_gemv512.h for the x forms).
//
// Why these shapes (profile of batch-1 decode, perf on the 2-vCPU Zen 5, 2026-12-05): the per-row
// kernels they replace ran at ~20-28 GB/s per thread on cache-resident weights, i.e. compute
// bound, well under the ~54 GB/s one core streams from memory:
//   q8_0: one block per 256-bit vpdpbusd, two scalar f16 -> f32 scale conversions, a broadcast and
//         an FMA per block on ONE accumulator (a 4-cycle FMA latency chain per 34 bytes), plus
//         two vpsignb (which has no 512-bit form). Here: two blocks per 512-bit vpdpbusd, the
//         sign trick replaced by w ^ 0x80 with a precomputed correction as the accumulator's start
//         (exact: the same int32 per lane), eight scales per vcvtph2ps, four accumulators.
//   bf16: two zero-extending shuffles (vpmovzxwd) + shifts per 32 weights; here one shift and one
//         AND on the 32 weights as 16 dwords, against x pre-split into even and odd columns.
// The int32 block dots are exactly those of the other q8_0 kernels; only the float32 summation
// order differs (per lane over blocks, then a fixed tree), as between any two of our ISA paths.
#include "lowplinear_gemv512.h"

#include "olmo/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own _mm*_undefined_* helpers.
// (and -Wuninitialized, through _mm512_extractf64x4_pd).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#define OLMO_AVX512VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

namespace olmo::cpu {

// ------------------------------------------------------------------ q8_0 x int8 activations

void q8_act_prepare_vnni(Q8Act512& a, const BlockQ8_0* xq, int64_t nb) {
  const int64_t nbp = (nb + 7) / 8 * 8;
  a.nb = nb;
  a.qs.assign(size_t(nbp * 32), 0);
  a.corr.assign(size_t(nbp * 8), 0);
  a.dx.assign(size_t(nbp), 0.f);
  for (int64_t b = 0; b < nb; ++b) {
    std::memcpy(&a.qs[size_t(b * 32)], xq[b].qs, 32);
    for (int i = 0; i < 8; ++i) {
      const int8_t* q = xq[b].qs + 4 * i;
      a.corr[size_t(b * 8 + i)] = -128 * (int32_t(q[0]) + q[1] + q[2] + q[3]);
    }
    a.dx[size_t(b)] = f16_to_f32(xq[b].d);
  }
}

// dw·dx of blocks [b, b + n) (n <= 8; missing blocks 0) in the low 8 lanes.
OLMO_AVX512VNNI static inline __attribute__((always_inline)) __m512 block_scales8(const BlockQ8_0* w, int64_t n, const float* dx) {
  __m128i h;
  if (n == 8) {
    h = _mm_setr_epi16(short(w[0].d), short(w[1].d), short(w[2].d), short(w[3].d), short(w[4].d), short(w[5].d), short(w[6].d), short(w[7].d));
  } else {
    alignas(16) uint16_t t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int64_t i = 0; i < n; ++i) t[i] = w[i].d;
    h = _mm_load_si128(reinterpret_cast<const __m128i*>(t));
  }
  return _mm512_zextps256_ps512(_mm256_mul_ps(_mm256_cvtph_ps(h), _mm256_loadu_ps(dx)));
}

// Two blocks' int8 weights (b, b+1) as u8 (w + 128) in one register; a missing block is zeros.
OLMO_AVX512VNNI static inline __attribute__((always_inline)) __m512i wpair(const BlockQ8_0* w, int64_t have) {
  const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[0].qs));
  const __m256i hi = have >= 2 ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[1].qs)) : _mm256_setzero_si256();
  return _mm512_xor_si512(_mm512_inserti64x4(_mm512_zextsi256_si512(lo), hi, 1), _mm512_set1_epi8(int8_t(0x80)));
}

// Lanes [8·i, 8·i + 8) of v (extractf32x8 would need AVX512DQ).
template <int I>
OLMO_AVX512VNNI static inline __attribute__((always_inline)) __m256 half256(__m512 v) {
  return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), I));
}

// Pair j's scale: lanes 0-7 = s[2j], lanes 8-15 = s[2j + 1].
template <int J>
OLMO_AVX512VNNI static inline __attribute__((always_inline)) __m512 pair_scale(__m512 s) {
  const __m512i idx = _mm512_set_epi32(2 * J + 1, 2 * J + 1, 2 * J + 1, 2 * J + 1, 2 * J + 1, 2 * J + 1, 2 * J + 1, 2 * J + 1,
                                       2 * J, 2 * J, 2 * J, 2 * J, 2 * J, 2 * J, 2 * J, 2 * J);
  return _mm512_permutexvar_ps(idx, s);
}

// Blocks [b, b + n) (n <= 8) of R rows into acc[r][j] (pair j of the group into accumulator j).
// Missing blocks of a last partial group contribute exact zeros (scale 0, x zero padded).
template <int R, int J>
OLMO_AVX512VNNI static inline __attribute__((always_inline)) void group_pair(
    const BlockQ8_0* w0, int64_t nb, int64_t b, int64_t n, const Q8Act512& a, const __m512* sc, __m512 (*acc)[4]) {
  const int64_t have = n - 2 * J;
  if (have <= 0) return;
  const __m512i xv = _mm512_loadu_si512(a.qs.data() + (b + 2 * J) * 32);
  const __m512i cv = _mm512_loadu_si512(a.corr.data() + (b + 2 * J) * 8);
  for (int r = 0; r < R; ++r) {
    const __m512i dot = _mm512_dpbusd_epi32(cv, wpair(w0 + r * nb + b + 2 * J, have), xv);
    acc[r][J] = _mm512_fmadd_ps(pair_scale<J>(sc[r]), _mm512_cvtepi32_ps(dot), acc[r][J]);
  }
}

template <int R>
OLMO_AVX512VNNI static inline __attribute__((always_inline)) void group(
    const BlockQ8_0* w0, int64_t nb, int64_t b, int64_t n, const Q8Act512& a, const char*& pf, __m512 (*acc)[4]) {
  if (R > 1) {
    const int64_t rb = nb * int64_t(sizeof(BlockQ8_0)), step = n * int64_t(sizeof(BlockQ8_0));
    if (rb >= kStreamPrefetchMinRowBytes) {
      // Long rows (OLMo-1B: K = 2048 / 8192): one prefetch stream per row, kGemvPrefetchBytes
      // ahead of where this group reads it, running on into the same row of the next R rows (the
      // thread's next group) — so each of the R streams is fetched in the order it is consumed.
      // The linear prefetch below covered the next group front to back instead: on these rows
      // half of its first two rows' bytes were never prefetched and row 3's arrived long before
      // use. Weights out of cache, GEMV / read-only stream over the same bytes, alternated
      // (bench/ops/lowplinear-gemv.cc GEMV_COLD=1, OLMo-1B shapes, 3 rounds, load ~6, 2026-12-05):
      // 1 thread 0.70-0.84 -> 0.82-0.95, 2 threads 0.71-0.85 -> 0.90-1.05 (bench/model/LOWPREC.md).
      const int64_t off = b * int64_t(sizeof(BlockQ8_0)) + kGemvPrefetchBytes;
      for (int r = 0; r < R; ++r) {
        const char* p = reinterpret_cast<const char*>(w0 + r * nb) + (off < rb ? off : off - rb + R * rb);
        for (int64_t o = 0; o < step; o += 64) _mm_prefetch(p + o, _MM_HINT_T0);  // never faults
      }
    } else {
      for (int64_t o = 0; o < R * step; o += 64) _mm_prefetch(pf + o, _MM_HINT_T0);
      pf += R * step;
    }
  }
  __m512 sc[R];
  for (int r = 0; r < R; ++r) sc[r] = block_scales8(w0 + r * nb + b, n, a.dx.data() + b);
  group_pair<R, 0>(w0, nb, b, n, a, sc, acc);
  group_pair<R, 1>(w0, nb, b, n, a, sc, acc);
  group_pair<R, 2>(w0, nb, b, n, a, sc, acc);
  group_pair<R, 3>(w0, nb, b, n, a, sc, acc);
}

// R rows (row r at w0 + r·nb) against x: per row four accumulators; the lanes of a pair are
// [block 2j: 8 lanes][block 2j+1: 8 lanes].
// Tail: nb % 8 != 0 (a separate instantiation: the partial group's code in the same function made
// GCC spill the accumulators, which cost ~20% on K = 256 rows).
template <int R, bool Tail>
OLMO_AVX512VNNI static inline __attribute__((always_inline)) void rows_q8q8(const BlockQ8_0* w0, const Q8Act512& a, float* y) {
  const int64_t nb = a.nb;
  __m512 acc[R][4];
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < 4; ++j) acc[r][j] = _mm512_setzero_ps();
  // R > 1, rows shorter than kStreamPrefetchMinRowBytes: software prefetch kGemvPrefetchBytes past
  // the R rows, advancing as fast as the kernel consumes them (so the next R rows, which the same
  // thread takes next, arrive in time); longer rows prefetch per row stream (group).
  const char* pf = reinterpret_cast<const char*>(w0 + R * nb) + kGemvPrefetchBytes;
  int64_t b = 0;
  for (; b + 8 <= nb; b += 8) group<R>(w0, nb, b, 8, a, pf, acc);
  if (Tail && b < nb) group<R>(w0, nb, b, nb - b, a, pf, acc);
  // Per row: the four accumulators, then 16 -> 8 lanes (i + i+8), then hsum256's order (i + i+4,
  // then (0+2) + (1+3)) — _mm512_reduce_add_ps's tree, so R = 1 and R = 4 agree bit for bit.
  __m256 h[R];
  for (int r = 0; r < R; ++r) {
    const __m512 t = _mm512_add_ps(_mm512_add_ps(acc[r][0], acc[r][1]), _mm512_add_ps(acc[r][2], acc[r][3]));
    h[r] = _mm256_add_ps(half256<0>(t), half256<1>(t));
  }
  if constexpr (R == 4) {
    __m128 s0 = _mm_add_ps(_mm256_castps256_ps128(h[0]), _mm256_extractf128_ps(h[0], 1));
    __m128 s1 = _mm_add_ps(_mm256_castps256_ps128(h[1]), _mm256_extractf128_ps(h[1], 1));
    __m128 s2 = _mm_add_ps(_mm256_castps256_ps128(h[2]), _mm256_extractf128_ps(h[2], 1));
    __m128 s3 = _mm_add_ps(_mm256_castps256_ps128(h[3]), _mm256_extractf128_ps(h[3], 1));
    _MM_TRANSPOSE4_PS(s0, s1, s2, s3);  // s_j = lane j of the four rows
    _mm_storeu_ps(y, _mm_add_ps(_mm_add_ps(s0, s2), _mm_add_ps(s1, s3)));
  } else {
    for (int r = 0; r < R; ++r) {
      __m128 s = _mm_add_ps(_mm256_castps256_ps128(h[r]), _mm256_extractf128_ps(h[r], 1));
      s = _mm_add_ps(s, _mm_movehl_ps(s, s));
      s = _mm_add_ss(s, _mm_movehdup_ps(s));
      y[r] = _mm_cvtss_f32(s);
    }
  }
}

OLMO_AVX512VNNI float dot_q8q8_vnni512(const BlockQ8_0* w, const Q8Act512& a) {
  float y;
  if (a.nb % 8 == 0) rows_q8q8<1, false>(w, a, &y);
  else rows_q8q8<1, true>(w, a, &y);
  return y;
}

OLMO_AVX512VNNI void dot4_q8q8_vnni512(const BlockQ8_0* w0, const Q8Act512& a, float* y) {
  if (a.nb % 8 == 0) rows_q8q8<4, false>(w0, a, y);
  else rows_q8q8<4, true>(w0, a, y);
}

}  // namespace olmo::cpu

#endif  // x86
