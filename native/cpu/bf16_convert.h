// Vectorized float32 <-> bfloat16 conversion runs for the CPU kernels of amp_bf16: the cast op's
// F32 <-> BF16 fast paths (bf16 activation storage, the weights' compute copies) and the avx2 path
// of gemm_bf16 (rounded operand copies). Every function is bit-identical to the scalar helpers in
// olmo/tensor.h (round to nearest even, NaN quietened); the AVX2 bodies are compiled with a target
// attribute and chosen at run time (cpu_has_avx2), the scalar loops are the fallback.
#pragma once
#include <immintrin.h>

#include <cstdint>

#include "olmo/tensor.h"

namespace olmo::cpu::bf16conv {

inline bool cpu_has_avx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}

// 8 float32 bit patterns -> their bf16 rounding, kept in the high half of each 32-bit lane (low half zero).
__attribute__((target("avx2"))) inline __m256i round8(__m256i u) {
  const __m256i absMask = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000), bias = _mm256_set1_epi32(0x7fff),
                one = _mm256_set1_epi32(1), quiet = _mm256_set1_epi32(0x00400000), hi = _mm256_set1_epi32(int(0xffff0000u));
  __m256i r = _mm256_add_epi32(_mm256_add_epi32(u, bias), _mm256_and_si256(_mm256_srli_epi32(u, 16), one));
  const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, absMask), inf);  // signed compare is right: both < 2^31
  r = _mm256_blendv_epi8(r, _mm256_or_si256(u, quiet), nan);
  return _mm256_and_si256(r, hi);
}

// dst[i] = bf16_to_f32(f32_to_bf16(src[i])): bf16 values held in float32 (in place allowed).
__attribute__((target("avx2"))) inline void round_f32_avx2(const float* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), round8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i))));
  for (; i < n; ++i) dst[i] = bf16_to_f32(f32_to_bf16(src[i]));
}

// dst[i] = f32_to_bf16(src[i]).
__attribute__((target("avx2"))) inline void f32_to_bf16_avx2(const float* src, uint16_t* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i a = _mm256_srli_epi32(round8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i))), 16);
    const __m256i b = _mm256_srli_epi32(round8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i + 8))), 16);
    // packus interleaves the 128-bit lanes (a0 b0 a1 b1): put them back in order
    const __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xD8);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), p);
  }
  for (; i < n; ++i) dst[i] = f32_to_bf16(src[i]);
}

// dst[i] = bf16_to_f32(src[i]).
__attribute__((target("avx2"))) inline void bf16_to_f32_avx2(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm256_slli_epi32(w, 16));
  }
  for (; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
}

inline void round_f32(const float* src, float* dst, int64_t n) {
  if (cpu_has_avx2()) return round_f32_avx2(src, dst, n);
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(f32_to_bf16(src[i]));
}
inline void f32_to_bf16_run(const float* src, uint16_t* dst, int64_t n) {
  if (cpu_has_avx2()) return f32_to_bf16_avx2(src, dst, n);
  for (int64_t i = 0; i < n; ++i) dst[i] = f32_to_bf16(src[i]);
}
inline void bf16_to_f32_run(const uint16_t* src, float* dst, int64_t n) {
  if (cpu_has_avx2()) return bf16_to_f32_avx2(src, dst, n);
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
}

}  // namespace olmo::cpu::bf16conv
