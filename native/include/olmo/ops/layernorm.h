// layernorm family: per-row normalisation over the last dim; x [N,C] (N = all leading dims), fp32.
//   layernorm_fwd_f32: mean/rstd [N] saved; out = (x - mean) * rstd [* weight[C]] [+ bias[C]].
//     weight / bias may be null (OLMo-1's non-parametric LN); rstd = 1/sqrt(var + eps), biased var.
//   layernorm_bwd_f32 (fused, one pass per row from saved mean/rstd):
//     dx WRITTEN; dweight / dbias (nullable) WRITTEN (summed over rows; CPU per-thread scratch).
//   rmsnorm_fwd_f32: rstd [N] saved; out = x * rstd [* weight], rstd = 1/sqrt(mean(x^2) + eps).
//   rmsnorm_bwd_f32: dx WRITTEN; dweight (nullable) WRITTEN.
#pragma once
#include <cstdint>

namespace olmo::cpu {
void layernorm_fwd_f32(float* out, float* mean, float* rstd, const float* x, const float* weight, const float* bias,
                       int64_t N, int64_t C, float eps);
void layernorm_bwd_f32(float* dx, float* dweight, float* dbias, const float* dout, const float* x, const float* weight,
                       const float* mean, const float* rstd, int64_t N, int64_t C);
void rmsnorm_fwd_f32(float* out, float* rstd, const float* x, const float* weight, int64_t N, int64_t C, float eps);
void rmsnorm_bwd_f32(float* dx, float* dweight, const float* dout, const float* x, const float* weight, const float* rstd,
                     int64_t N, int64_t C);
}  // namespace olmo::cpu

namespace olmo::cuda {
void layernorm_fwd_f32(int dev, float* out, float* mean, float* rstd, const float* x, const float* weight, const float* bias,
                       int64_t N, int64_t C, float eps);
void layernorm_bwd_f32(int dev, float* dx, float* dweight, float* dbias, const float* dout, const float* x, const float* weight,
                       const float* mean, const float* rstd, int64_t N, int64_t C);
void rmsnorm_fwd_f32(int dev, float* out, float* rstd, const float* x, const float* weight, int64_t N, int64_t C, float eps);
void rmsnorm_bwd_f32(int dev, float* dx, float* dweight, const float* dout, const float* x, const float* weight, const float* rstd,
                     int64_t N, int64_t C);
}  // namespace olmo::cuda
