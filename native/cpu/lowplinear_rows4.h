// lowplinear's multi-row batch-1 GEMV kernels for float32 and bf16 weights (private to native/cpu;
// lowplinear.cc picks them by ISA and calls them for groups of 4 consecutive rows).
//
// Each row is summed exactly as lowplinear.cc's one-row kernel for the same ISA sums it (the same
// four accumulators over the same k steps, the same reduction tree: _mm512_reduce_add_ps's on
// AVX-512, hsum256's on AVX2), so a row's value does not depend on whether it went through a group
// — the tests compare M = 1 (groups) against M = 2 (one-row kernels) bit for bit. What the group
// saves is per-row work outside the loads and FMAs: x is loaded once per k step for all rows, the
// horizontal sums reduce together (one transpose), and the next group is software-prefetched.
// Only rows whose K is a multiple of the vector width (16 / 8) are taken (no scalar tail to match).
#pragma once
#include <cstdint>

namespace olmo::cpu {

// Rows [0, 4) of a float32 / bf16 weight starting at w0 (row r at w0 + r·K elements) into y[0..3].
// false when this K is not handled (the caller then runs the one-row kernel per row).
bool rows4_f32_avx512(const float* w0, int64_t K, const float* x, float* y);
bool rows4_bf16_avx512(const uint16_t* w0, int64_t K, const float* x, float* y);
bool rows4_f32_avx2(const float* w0, int64_t K, const float* x, float* y);
bool rows4_bf16_avx2(const uint16_t* w0, int64_t K, const float* x, float* y);

}  // namespace olmo::cpu
