// reduce: full reductions; fp32 data, float64 accumulation on CPU.
//   sum_f32: out[0] = scale * sum(x[0..n))  (out WRITTEN, one element; mean = sum with scale 1/n).
//   broadcast_scalar_f32: out[i] = scale * s[0] for i < n (backward of sum/mean; out WRITTEN).
//   sum_squares_f32: returns sum over `count` tensors of sum(x_k^2) as a host double (fused
//     multi-tensor; used by grad-norm clipping). xs/ns are HOST arrays (device pointers on CUDA).
#pragma once
#include <cstdint>

namespace olmo::cpu {
void sum_f32(float* out, const float* x, int64_t n, float scale);
void broadcast_scalar_f32(float* out, const float* s, float scale, int64_t n);
double sum_squares_f32(const float* const* xs, const int64_t* ns, int64_t count);
}  // namespace olmo::cpu

namespace olmo::cuda {
void sum_f32(int dev, float* out, const float* x, int64_t n, float scale);
void broadcast_scalar_f32(int dev, float* out, const float* s, float scale, int64_t n);
double sum_squares_f32(int dev, const float* const* xs, const int64_t* ns, int64_t count);
}  // namespace olmo::cuda
