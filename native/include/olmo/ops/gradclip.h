// gradclip: fused multi-tensor pieces of global-norm gradient clipping, fp32 tensors, contiguous.
//   gradclip_sum_squares_f32: sum over all n tensors of sum(x^2), accumulated in double
//     (deterministic: fixed chunking, per-chunk partials summed in order). Reads only.
//   gradclip_scale_f32: x *= s for every tensor, in place.
// The TS layer (clipGradNorm) computes norm = sqrt(sum), coef = maxNorm / (norm + 1e-6) and scales
// only when coef < 1.
#pragma once
#include <cstdint>

namespace olmo::cpu {
double gradclip_sum_squares_f32(int64_t n, const float* const* xs, const int64_t* sizes);
void gradclip_scale_f32(int64_t n, float* const* xs, const int64_t* sizes, float s);
}  // namespace olmo::cpu

namespace olmo::cuda {
double gradclip_sum_squares_f32(int dev, int64_t n, const float* const* xs, const int64_t* sizes);
void gradclip_scale_f32(int dev, int64_t n, float* const* xs, const int64_t* sizes, float s);
}  // namespace olmo::cuda
