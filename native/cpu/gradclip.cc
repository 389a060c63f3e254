// gradclip on CPU (see olmo/ops/gradclip.h): chunks of <= 64K elements across all tensors, one
// OpenMP loop, double-precision vectorised accumulation per chunk.
#include "olmo/ops/gradclip.h"

#include <algorithm>
#include <vector>

namespace olmo::cpu {

namespace {
constexpr int64_t kChunk = 1 << 16;
struct Chunk {
  int64_t t, begin, len;
};
std::vector<Chunk> chunks(int64_t n, const int64_t* sizes) {
  std::vector<Chunk> cs;
  for (int64_t t = 0; t < n; ++t)
    for (int64_t b = 0; b < sizes[t]; b += kChunk) cs.push_back({t, b, std::min(kChunk, sizes[t] - b)});
  return cs;
}

// Waking an OpenMP team costs more than updating a few hundred thousand floats (and much more on a
// loaded machine), so small steps run on the calling thread.
bool worth_threads(const std::vector<Chunk>& cs) {
  int64_t total = 0;
  for (const Chunk& c : cs) total += c.len;
  return cs.size() > 1 && total > (int64_t(1) << 18);
}
}  // namespace

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
