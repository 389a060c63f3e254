// The float32 panel GEMM behind linear_f32 / gemm_f32 for short prompts (private to native/cpu):
// y_i = x · W_iᵀ for float32 x [M,K] (row stride K) and float32 weights W_i [n_i, K] (row stride K)
// sharing x, y_i[m * ldy_i + r]. The weights are read IN PLACE (no packing copy), x is transposed
// once per call for all of them, and the panels run on the work pool (work_pool.h) or, with
// OLMO_PANEL_POOL=0, on the OpenMP team. Per output the float32 summation order is the one of
// lowplinear_gemm.cc's panel GEMM (k in order within 256-column blocks, blocks added in order), so
// a product gets the same bits through either, fused or not.
#pragma once
#include <cstdint>

#include "olmo/ops/lowplinear.h"

namespace olmo::cpu {

// Every ws[i].fmt must be WeightFormat::F32. Returns false (nothing written) when this CPU / the
// OLMO_CPU_ISA cap has no AVX2 or AVX-512 kernel (the caller falls back to its portable path).
bool f32_panel_gemm(const float* x, int64_t M, int64_t K, const WeightRef* ws, int nw);

}  // namespace olmo::cpu
