// crossentropy on CPU: rows in parallel; per row a max pass and an exp-sum pass (float64 sum) in
// forward, one pass writing dlogits in backward. No softmax tensor is ever materialised.
#include "olmo/ops/crossentropy.h"

#include "fast_math.h"

#include <cmath>

#include "olmo/check.h"

namespace olmo::cpu {

static void check_targets(const int32_t* targets, int64_t N, int64_t V, int32_t ignore_index) {
  for (int64_t n = 0; n < N; ++n) {
    const int32_t t = targets[n];
    OLMO_CHECK(t == ignore_index || (t >= 0 && int64_t(t) < V), "INVALID_ARGUMENT",
               "crossEntropy: target " << t << " at row " << n << " is outside [0, " << V << ") and is not ignoreIndex "
                                       << ignore_index,
               "targets must be vocabulary ids or ignoreIndex");
  }
}

static bool parallel_rows(int64_t N, int64_t V) { return N > 1 && N * V > (1 << 14); }

void cross_entropy_fwd_f32(float* loss, float* lse, float* zloss, float z_mult, const float* logits, const int32_t* targets, int64_t N, int64_t V,
                           int32_t ignore_index) {
  check_targets(targets, N, V, ignore_index);
#pragma omp parallel for if (parallel_rows(N, V)) schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const float* row = logits + n * V;
    float mx = -INFINITY;
#pragma omp simd reduction(max : mx)
    for (int64_t v = 0; v < V; ++v) mx = row[v] > mx ? row[v] : mx;
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t v = 0; v < V; ++v) s += double(fast_expf(row[v] - mx));
    const float l = mx + float(std::log(s));
    lse[n] = l;
    const int32_t t = targets[n];
    loss[n] = t == ignore_index ? 0.f : l - row[t];
    if (zloss) zloss[n] = t == ignore_index ? 0.f : z_mult * l * l;
  }
}

void cross_entropy_bwd_f32(float* dlogits, const float* logits, const float* lse, const int32_t* targets,
                           const float* gloss, int64_t gloss_stride, float loss_scale,
                           const float* gz, int64_t gz_stride, float z_scale, int64_t N, int64_t V, int32_t ignore_index) {
  check_targets(targets, N, V, ignore_index);
#pragma omp parallel for if (parallel_rows(N, V)) schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const float* row = logits + n * V;
    float* d = dlogits + n * V;
    const int32_t t = targets[n];
    const float l = lse[n];
    float a = 0.f, b = 0.f;
    if (t != ignore_index) {
      if (gloss) a = gloss[n * gloss_stride] * loss_scale;
      if (gz) b = gz[n * gz_stride] * z_scale * 2.f * l;
    }
    const float w = a + b;
#pragma omp simd
    for (int64_t v = 0; v < V; ++v) d[v] = w * fast_expf(row[v] - l);
    if (t != ignore_index) d[t] -= a;
  }
}

}  // namespace olmo::cpu
