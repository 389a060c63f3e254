// dtypes and devices as the native layer sees them. The integer values are part of the JS <-> C++
// contract (packages/tensor-cuda/src/dtype.ts uses the same numbers).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace olmo {

enum class DType : int { F32 = 0, BF16 = 1, I32 = 2, U16 = 3, U32 = 4 };

inline size_t dtype_size(DType d) {
  switch (d) {
    case DType::F32: return 4;
    case DType::BF16: return 2;
    case DType::I32: return 4;
    case DType::U16: return 2;
    case DType::U32: return 4;
  }
  return 0;
}

// Device index: -1 = CPU, >= 0 = cuda:N.
constexpr int kCpu = -1;

// bfloat16 <-> float32 with round-to-nearest-even (NaN stays NaN), as torch does.
inline float bf16_to_f32(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

}  // namespace olmo
