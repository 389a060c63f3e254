// gradclip on CPU (see olmo/ops/gradclip.h): chunks of <= 64K elements across all tensors, one
// OpenMP loop, double-precision vectorised accumulation per chunk.
#include "olmo/ops/gradclip.h"

#include <algorithm>
#include <vector>

#include "multi_tensor.h"

namespace olmo::cpu {

using multi_tensor::Chunk;
using multi_tensor::chunks;
using multi_tensor::worth_threads;

double gradclip_sum_squares_f32(int64_t n, const float* const* xs, const int64_t* sizes) {
  const std::vector<Chunk> cs = chunks(n, sizes);
  std::vector<double> partial(cs.size());
#pragma omp parallel for schedule(dynamic, 4) if (worth_threads(cs))
  for (int64_t c = 0; c < int64_t(cs.size()); ++c) {
    const float* x = xs[cs[size_t(c)].t] + cs[size_t(c)].begin;
    const int64_t len = cs[size_t(c)].len;
    double acc = 0.0;
#pragma omp simd reduction(+ : acc)
    for (int64_t i = 0; i < len; ++i) {
      const double v = x[i];
      acc += v * v;
    }
    partial[size_t(c)] = acc;
  }
  double total = 0.0;
  for (double p : partial) total += p;
  return total;
}

void gradclip_scale_f32(int64_t n, float* const* xs, const int64_t* sizes, float s) {
  const std::vector<Chunk> cs = chunks(n, sizes);
#pragma omp parallel for schedule(dynamic, 4) if (worth_threads(cs))
  for (int64_t c = 0; c < int64_t(cs.size()); ++c) {
    float* x = xs[cs[size_t(c)].t] + cs[size_t(c)].begin;
    const int64_t len = cs[size_t(c)].len;
#pragma omp simd
    for (int64_t i = 0; i < len; ++i) x[i] *= s;
  }
}

}  // namespace olmo::cpu
