// adamw on CPU (see olmo/ops/adamw.h): one OpenMP loop over chunks of all tensors, vectorised
// inner loops (fp32 math, bias corrections computed in double once per call).
#include "olmo/ops/adamw.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "multi_tensor.h"

namespace olmo::cpu {

using multi_tensor::Chunk;
using multi_tensor::chunks;
using multi_tensor::worth_threads;

bool adamw_all_finite_f32(int64_t n, const float* const* grads, const int64_t* sizes) {
  const std::vector<Chunk> cs = chunks(n, sizes);
  int bad = 0;
#pragma omp parallel for schedule(dynamic, 4) if (worth_threads(cs)) reduction(| : bad)
  for (int64_t c = 0; c < int64_t(cs.size()); ++c) {
    const float* g = grads[cs[size_t(c)].t] + cs[size_t(c)].begin;
    const int64_t len = cs[size_t(c)].len;
    // x * 0 is 0 for finite x and NaN for NaN/Inf, so one vectorised sum detects both.
    float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
    for (int64_t i = 0; i < len; ++i) acc += g[i] * 0.0f;
    if (acc != 0.0f) bad |= 1;  // NaN != 0
  }
  return bad == 0;
}

void adamw_f32(int64_t n, float* const* params, const float* const* grads, float* const* exp_avg,
               float* const* exp_avg_sq, const int64_t* sizes, const float* lr, const float* weight_decay,
               float beta1, float beta2, float eps, int64_t step) {
  const std::vector<Chunk> cs = chunks(n, sizes);
  const double bc1 = 1.0 - std::pow(double(beta1), double(step));
  const double bc2 = 1.0 - std::pow(double(beta2), double(step));
  const float inv_bc1 = float(1.0 / bc1), inv_sqrt_bc2 = float(1.0 / std::sqrt(bc2));
  const float b1 = beta1, b2 = beta2, c1 = 1.0f - beta1, c2 = 1.0f - beta2;
#pragma omp parallel for schedule(dynamic, 4) if (worth_threads(cs))
  for (int64_t c = 0; c < int64_t(cs.size()); ++c) {
    const Chunk& ch = cs[size_t(c)];
    float* __restrict p = params[ch.t] + ch.begin;
    const float* __restrict g = grads[ch.t] + ch.begin;
    float* __restrict m = exp_avg[ch.t] + ch.begin;
    float* __restrict v = exp_avg_sq[ch.t] + ch.begin;
    const float decay = 1.0f - lr[ch.t] * weight_decay[ch.t];
    const float step_size = lr[ch.t] * inv_bc1;
#pragma omp simd
    for (int64_t i = 0; i < ch.len; ++i) {
      const float gi = g[i];
      const float mi = b1 * m[i] + c1 * gi;
      const float vi = b2 * v[i] + c2 * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] = p[i] * decay - step_size * mi / (std::sqrt(vi) * inv_sqrt_bc2 + eps);
    }
  }
}

}  // namespace olmo::cpu
