// lowplinear's M > 1 GEMM kernels (prefill, batches), private to native/cpu: lowplinear.cc picks
// one by CPU features / OLMO_CPU_ISA and calls it; lowplinear_gemm.cc holds them.
#pragma once
#include <cstdint>

#include "olmo/ops/lowplinear.h"

namespace olmo::cpu {

// y = x · Wᵀ for every weight in ws (float32 x [M,K]), float32 accumulation. Each thread converts a
// panel of W (kGemmPanelRows rows × up to kGemmPanelK columns, a few dozen KiB, cache-resident) to
// float32 and multiplies every x row against it with an FMA register tile; the exact float32 x
// meets the exact widened weight, as in the GEMV kernels. Only on x86 builds (false elsewhere: the
// caller falls back to its portable path).
bool lowp_gemm_f32_avx512(const float* x, int64_t M, int64_t K, const WeightRef* ws, int nw);
bool lowp_gemm_f32_avx2(const float* x, int64_t M, int64_t K, const WeightRef* ws, int nw);

}  // namespace olmo::cpu
