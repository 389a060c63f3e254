// quantize: conversions between float32 / bfloat16 and llama.cpp's Q8_0 blocks (see lowplinear.h).
//   quantize_q8_0_{f32,bf16}: n % 32 == 0; for each block of 32 values, d = max|v| / 127 (stored
//     as f16), q = round(v / d) (round half away from zero, as llama.cpp's quantize_row_q8_0_ref);
//     an all-zero block gets d = 0, q = 0. dst WRITTEN (n/32 blocks).
//   dequantize_q8_0: out[i] = f16(d) * q[i]; out WRITTEN.
#pragma once
#include <cstdint>

#include "olmo/ops/lowplinear.h"

namespace olmo::cpu {
void quantize_q8_0_f32(BlockQ8_0* dst, const float* src, int64_t n);
void quantize_q8_0_bf16(BlockQ8_0* dst, const uint16_t* src, int64_t n);
void dequantize_q8_0(float* out, const BlockQ8_0* src, int64_t n);
}  // namespace olmo::cpu
