// quantize on CPU: float32 / bfloat16 -> Q8_0 blocks and back (see olmo/ops/quantize.h).
// Scalar on purpose: it runs once per weight at load time and must match llama.cpp's reference
// rounding bit for bit; OpenMP over blocks keeps a 7B load from taking minutes.
#include "olmo/ops/quantize.h"

#include <algorithm>
#include <cmath>

#include "olmo/tensor.h"

namespace olmo::cpu {

constexpr int64_t kParallelMin = 1 << 16;

template <class Load>
static void quantize_block(BlockQ8_0& dst, Load load) {
  float amax = 0.f;
  for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(load(j)));
  const float d = amax / 127.f, id = d != 0.f ? 1.f / d : 0.f;
  dst.d = f32_to_f16(d);
  for (int j = 0; j < 32; ++j) dst.qs[j] = int8_t(std::lround(load(j) * id));  // half away from zero
}

void quantize_q8_0_f32(BlockQ8_0* dst, const float* src, int64_t n) {
#pragma omp parallel for if (n > kParallelMin) schedule(static)
  for (int64_t b = 0; b < n / 32; ++b) quantize_block(dst[b], [&](int j) { return src[b * 32 + j]; });
}

void quantize_q8_0_bf16(BlockQ8_0* dst, const uint16_t* src, int64_t n) {
#pragma omp parallel for if (n > kParallelMin) schedule(static)
  for (int64_t b = 0; b < n / 32; ++b) quantize_block(dst[b], [&](int j) { return bf16_to_f32(src[b * 32 + j]); });
}

void dequantize_q8_0(float* out, const BlockQ8_0* src, int64_t n) {
#pragma omp parallel for if (n > kParallelMin) schedule(static)
  for (int64_t b = 0; b < n / 32; ++b) {
    const float d = f16_to_f32(src[b].d);
    for (int j = 0; j < 32; ++j) out[b * 32 + j] = d * float(src[b].qs[j]);
  }
}

}  // namespace olmo::cpu
