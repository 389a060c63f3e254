// adamw: fused multi-tensor AdamW step, fp32, in place. For each of the n tensors t (all pointers
// contiguous, sizes[t] elements; param/grad/exp_avg/exp_avg_sq of one tensor have the same size):
//   p *= 1 - lr[t] * wd[t]                       (decoupled weight decay)
//   m  = beta1 * m + (1 - beta1) * g
//   v  = beta2 * v + (1 - beta2) * g^2
//   p -= lr[t] * (m / (1 - beta1^step)) / (sqrt(v / (1 - beta2^step)) + eps)
// adamw_all_finite_f32 checks every gradient first (returns false if any element is NaN/Inf); the
// binding calls it before adamw_f32 so that a non-finite gradient modifies nothing.
// One call covers all tensors: the work is split into chunks of <= 64K elements across tensors.
#pragma once
#include <cstdint>

namespace olmo::cpu {
bool adamw_all_finite_f32(int64_t n, const float* const* grads, const int64_t* sizes);
void adamw_f32(int64_t n, float* const* params, const float* const* grads, float* const* exp_avg,
               float* const* exp_avg_sq, const int64_t* sizes, const float* lr, const float* weight_decay,
               float beta1, float beta2, float eps, int64_t step);
}  // namespace olmo::cpu

namespace olmo::cuda {
bool adamw_all_finite_f32(int dev, int64_t n, const float* const* grads, const int64_t* sizes);
void adamw_f32(int dev, int64_t n, float* const* params, const float* const* grads, float* const* exp_avg,
               float* const* exp_avg_sq, const int64_t* sizes, const float* lr, const float* weight_decay,
               float beta1, float beta2, float eps, int64_t step);
}  // namespace olmo::cuda
