// crossentropy on CPU: rows in parallel; per row a max pass and an exp-sum pass (float64 sum) in
// forward, one pass writing dlogits in backward. No softmax tensor is ever materialised. Under
// amp_bf16 the backward may write dlogits in the bf16 form its matmul consumer reads (_amp).
#include "olmo/ops/crossentropy.h"

#include "bf16_convert.h"
#include "fast_math.h"

#include <cmath>
#include <memory>

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

namespace {
// One row of dlogits (see the header): (a + b) * exp(logits - lse), minus a at the target.
inline void bwd_row(float* d, const float* row, float l, int32_t t, int32_t ignore_index, float a, float b, int64_t V) {
  const float w = a + b;
#pragma omp simd
  for (int64_t v = 0; v < V; ++v) d[v] = w * fast_expf(row[v] - l);
  if (t != ignore_index) d[t] -= a;
}

// out = null: dlogits as float32 (round: then rounded to bf16 values in place); out non-null: bf16 bits.
void bwd_rows(float* dlogits, uint16_t* out, bool round, const float* logits, const float* lse, const int32_t* targets,
              const float* gloss, int64_t gloss_stride, float loss_scale, const float* gz, int64_t gz_stride, float z_scale,
              int64_t N, int64_t V, int32_t ignore_index) {
  check_targets(targets, N, V, ignore_index);
#pragma omp parallel if (parallel_rows(N, V))
  {
    std::unique_ptr<float[]> scratch(out ? new float[size_t(V)] : nullptr);  // a row before its bf16 conversion
#pragma omp for schedule(static)
    for (int64_t n = 0; n < N; ++n) {
      const int32_t t = targets[n];
      float a = 0.f, b = 0.f;
      if (t != ignore_index) {
        if (gloss) a = gloss[n * gloss_stride] * loss_scale;
        if (gz) b = gz[n * gz_stride] * z_scale * 2.f * lse[n];
      }
      float* d = out ? scratch.get() : dlogits + n * V;
      bwd_row(d, logits + n * V, lse[n], t, ignore_index, a, b, V);
      if (out) bf16conv::f32_to_bf16_run(d, out + n * V, V);
      else if (round) bf16conv::round_f32(d, d, V);
    }
  }
}
}  // namespace

void cross_entropy_bwd_f32(float* dlogits, const float* logits, const float* lse, const int32_t* targets,
                           const float* gloss, int64_t gloss_stride, float loss_scale,
                           const float* gz, int64_t gz_stride, float z_scale, int64_t N, int64_t V, int32_t ignore_index) {
  bwd_rows(dlogits, nullptr, false, logits, lse, targets, gloss, gloss_stride, loss_scale, gz, gz_stride, z_scale, N, V, ignore_index);
}

void cross_entropy_bwd_amp(float* dlogits, uint16_t* out_bf16, const float* logits, const float* lse, const int32_t* targets,
                           const float* gloss, int64_t gloss_stride, float loss_scale,
                           const float* gz, int64_t gz_stride, float z_scale, int64_t N, int64_t V, int32_t ignore_index) {
  bwd_rows(dlogits, out_bf16, true, logits, lse, targets, gloss, gloss_stride, loss_scale, gz, gz_stride, z_scale, N, V, ignore_index);
}

}  // namespace olmo::cpu
