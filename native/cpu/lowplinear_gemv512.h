// lowplinear's AVX-512 batch-1 GEMV kernels (decode), private to native/cpu: lowplinear.cc picks
// them by CPU features / OLMO_CPU_ISA and calls them; lowplinear_gemv512.cc holds them.
//
// q8_0 with int8 activations on AVX512-VNNI. x comes in a per-call form prepared once and shared
// by every row (and every weight of a fused call): x's int8 values contiguous (two blocks per
// 512-bit vpdpbusd), -128·Σ of each 4-group (vpdpbusd is u8·s8: the weights go in as
// w ^ 0x80 = w + 128 and the correction starts the accumulator), and x's block scales as float32.
#pragma once
#include <cstdint>
#include <vector>

#include "lowplinear_tune.h"  // kGemvPrefetchBytes, kStreamPrefetchMinRowBytes
#include "olmo/ops/lowplinear.h"

namespace olmo::cpu {

// x of a q8_0 GEMV, from its BlockQ8_0 quantization (quantize_act); zero padded to a multiple of
// 8 blocks so a kernel group of 8 blocks never needs x-side bounds checks.
struct Q8Act512 {
  int64_t nb = 0;
  std::vector<int8_t> qs;     // 32 per block
  std::vector<int32_t> corr;  // 8 per block: -128 · (x[4i] + .. + x[4i+3])
  std::vector<float> dx;      // 1 per block
};
void q8_act_prepare_vnni(Q8Act512& a, const BlockQ8_0* xq, int64_t nb);
// One row of nb blocks; and four consecutive rows (row r at w0 + r·nb) into y[0..3], each equal
// bit for bit to the one-row kernel (same lanes, same order).
float dot_q8q8_vnni512(const BlockQ8_0* w, const Q8Act512& a);
void dot4_q8q8_vnni512(const BlockQ8_0* w0, const Q8Act512& a, float* y);

}  // namespace olmo::cpu
