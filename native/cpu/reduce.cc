// reduce on CPU: float64 accumulation with an OpenMP reduction (sum, sum of squares).
#include "olmo/ops/reduce.h"

namespace olmo::cpu {

// Memory-bound like elementwise.cc: threads only from 2^17 elements.
constexpr int64_t kParallelMin = 1 << 17;

void sum_f32(float* out, const float* x, int64_t n, float scale) {
  double s = 0;
#pragma omp parallel for simd reduction(+ : s) if (n > kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) s += x[i];
  out[0] = float(s * double(scale));
}

void broadcast_scalar_f32(float* out, const float* s, float scale, int64_t n) {
  const float v = s[0] * scale;
#pragma omp parallel for simd if (n > kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = v;
}

double sum_squares_f32(const float* const* xs, const int64_t* ns, int64_t count) {
  double total = 0;
  for (int64_t k = 0; k < count; ++k) {
    const float* x = xs[k];
    const int64_t n = ns[k];
    double s = 0;
#pragma omp parallel for simd reduction(+ : s) if (n > kParallelMin) schedule(static)
    for (int64_t i = 0; i < n; ++i) s += double(x[i]) * double(x[i]);
    total += s;
  }
  return total;
}

}  // namespace olmo::cpu
