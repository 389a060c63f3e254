// clamp on CPU (clip_qkv): elementwise, vectorised.
#include "olmo/ops/clamp.h"

#include <algorithm>

#include "parallel_for.h"

namespace olmo::cpu {

// Memory-bound like elementwise.cc: threads only from 2^17 elements.
constexpr int64_t kParallelMin = 1 << 17;

void clamp_fwd_f32(float* out, const float* x, float lo, float hi, int64_t n) {
  parallel_for(n > kParallelMin, n, [&](int64_t i) { out[i] = std::min(std::max(x[i], lo), hi); });
}

void clamp_bwd_f32(float* dx, const float* dout, const float* x, float lo, float hi, int64_t n) {
#pragma omp parallel for simd if (n > kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) dx[i] = (x[i] >= lo && x[i] <= hi) ? dout[i] : 0.f;
}

}  // namespace olmo::cpu
