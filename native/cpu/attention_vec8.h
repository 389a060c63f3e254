// 8-lane float helpers shared by the attention kernels (attention.cc's tiled flash kernel and
// attention_decode.cc's one-query path), written with GCC/Clang vector extensions so they compile
// to AVX2/FMA under -march=native and to SSE pairs in a portable build. Both kernels must use the
// same exp polynomial: the fused decode and the op-by-op block agree only if they do.
#pragma once

#include <algorithm>
#include <cstdint>

namespace olmo::cpu::vec8 {

typedef float v8 __attribute__((vector_size(32), aligned(4), may_alias));
typedef int32_t v8i __attribute__((vector_size(32)));

inline v8 ld8(const float* p) { return *reinterpret_cast<const v8*>(p); }
inline void st8(float* p, v8 x) { *reinterpret_cast<v8*>(p) = x; }
inline v8 splat(float x) { return v8{x, x, x, x, x, x, x, x}; }
// Lane-wise mask ? a : b (mask lanes all-ones or zero).
inline v8 select(v8i mask, v8 a, v8 b) { return (v8)(((v8i)a & mask) | ((v8i)b & ~mask)); }
inline v8 vmax(v8 a, v8 b) { return select(a > b, a, b); }
inline float hmax(v8 a) {
  float m = a[0];
  for (int i = 1; i < 8; ++i) m = std::max(m, a[i]);
  return m;
}
inline float hsum(v8 a) {
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

// exp on 8 lanes, x <= ~88: the Cephes expf polynomial (~1 ulp), rounding via the 1.5 * 2^23
// trick, whose low mantissa bits also hold the integer exponent.
inline v8 vexp8(v8 x) {
  x = vmax(x, splat(-87.0f));
  x = select(x > splat(88.0f), splat(88.0f), x);
  const v8 magic = splat(12582912.0f);
  v8 t = x * 1.44269504088896341f + magic;
  v8 n = t - magic;
  v8 r = x - n * 0.693359375f + n * 2.12194440e-4f;
  v8 p = splat(1.9875691500E-4f);
  p = p * r + 1.3981999507E-3f;
  p = p * r + 8.3334519073E-3f;
  p = p * r + 4.1665795894E-2f;
  p = p * r + 1.6666665459E-1f;
  p = p * r + 5.0000001201E-1f;
  v8 y = p * r * r + r + 1.0f;
  v8i e = ((v8i)t - 0x4B400000 + 127) << 23;
  return y * (v8)e;
}

}  // namespace olmo::cpu::vec8
