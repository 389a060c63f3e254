// Vectorisable float math for CPU kernels (header-only, internal to native/cpu).
// glibc's expf only vectorises under -ffast-math; this branchless Cephes-style expf inlines into
// `#pragma omp simd` loops (AVX2: 8 lanes). Accuracy: <= 2 ulp on [-87.3, 88.3]; inputs are
// clamped to that range (exp(-inf) -> ~1e-38 instead of 0, harmless next to a softmax sum >= 1).
// Including this header also turns off -ftrapping-math for the including file (GCC): with trapping
// math on, GCC refuses to if-convert the float compares of the clamp and the loops stay scalar.
#pragma once
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include <cmath>
#include <cstdint>
#include <cstring>

namespace olmo::cpu {

static inline float fast_expf(float x) {
  x = x < -87.3f ? -87.3f : x;
  x = x > 88.3f ? 88.3f : x;
  const float fx = std::floor(x * 1.44269504088896341f + 0.5f);
  float r = x - fx * 0.693359375f;
  r = r - fx * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (int32_t(fx) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

}  // namespace olmo::cpu
