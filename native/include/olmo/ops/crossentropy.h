// crossentropy: fused softmax cross-entropy over the vocabulary. logits [N,V], targets int32 [N]; fp32.
//   cross_entropy_fwd_f32: per row, a max pass then an exp-sum pass (no softmax stored):
//     lse[n] = logsumexp(logits[n,:])  (WRITTEN for every row, saved for backward and z-loss),
//     loss[n] = lse[n] - logits[n, targets[n]], or 0 where targets[n] == ignore_index (WRITTEN).
//     zloss (nullable) [n] = z_mult * lse[n]^2, or 0 for ignored rows (WRITTEN).
//     Targets outside [0, V) other than ignore_index raise INVALID_ARGUMENT before anything is written.
//   cross_entropy_bwd_f32: dlogits WRITTEN row by row, p = exp(logits - lse):
//     a = gloss[n * gloss_stride] * loss_scale,  b = gz ? gz[n * gz_stride] * z_scale * 2 * lse[n] : 0
//     (a = b = 0 for ignored rows), dlogits[n,v] = (a + b) * p[v] - a * (v == targets[n]).
//     gloss/gz are the upstream gradients of the per-row CE / per-row lse^2 (stride 0 broadcasts a
//     scalar, for mean/sum reductions); gloss may be null (CE term off), gz may be null (z-loss off).
//   cross_entropy_bwd_amp (CPU only): the same dlogits in an amp_bf16 GEMM operand form — the form a
//     bf16 matmul backward would round them to anyway, so its values are bit-identical to rounding
//     the float32 result: out_bf16 (uint16 bf16 bits) when non-null, else dlogits as bf16 values held
//     in float32. Each row is rounded right after it is computed, while in cache.
#pragma once
#include <cstdint>

namespace olmo::cpu {
void cross_entropy_fwd_f32(float* loss, float* lse, float* zloss, float z_mult, const float* logits, const int32_t* targets, int64_t N, int64_t V,
                           int32_t ignore_index);
void cross_entropy_bwd_f32(float* dlogits, const float* logits, const float* lse, const int32_t* targets,
                           const float* gloss, int64_t gloss_stride, float loss_scale,
                           const float* gz, int64_t gz_stride, float z_scale, int64_t N, int64_t V, int32_t ignore_index);
void cross_entropy_bwd_amp(float* dlogits, uint16_t* out_bf16, const float* logits, const float* lse, const int32_t* targets,
                           const float* gloss, int64_t gloss_stride, float loss_scale,
                           const float* gz, int64_t gz_stride, float z_scale, int64_t N, int64_t V, int32_t ignore_index);
}  // namespace olmo::cpu

namespace olmo::cuda {
void cross_entropy_fwd_f32(int dev, float* loss, float* lse, float* zloss, float z_mult, const float* logits, const int32_t* targets, int64_t N, int64_t V,
                           int32_t ignore_index);
void cross_entropy_bwd_f32(int dev, float* dlogits, const float* logits, const float* lse, const int32_t* targets,
                           const float* gloss, int64_t gloss_stride, float loss_scale,
                           const float* gz, int64_t gz_stride, float z_scale, int64_t N, int64_t V, int32_t ignore_index);
}  // namespace olmo::cuda
