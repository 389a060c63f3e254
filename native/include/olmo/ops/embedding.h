// embedding: token lookup. ids int32 [N] (N = B*T flattened), weight [V,C], out [N,C]; fp32.
//   embedding_fwd_f32: out[n,:] = weight[ids[n],:] (gather; out written).
//     Every id must lie in [0, V): out-of-range ids raise INVALID_ARGUMENT before anything is
//     written (CPU: serial pre-check; CUDA: device-side flag read back after the kernel).
//   embedding_bwd_f32: dweight[ids[n],:] += dout[n,:] (scatter-add; dweight ACCUMULATED, so the
//     caller zeroes it first). Repeated ids are summed deterministically (CPU parallelises over C).
//   embedding_fwd_bf16: the forward over a bfloat16 table (uint16 bits; inference weights), rows
//     widened to float32 into out.
#pragma once
#include <cstdint>

namespace olmo::cpu {
void embedding_fwd_f32(float* out, const int32_t* ids, const float* weight, int64_t N, int64_t V, int64_t C);
void embedding_bwd_f32(float* dweight, const int32_t* ids, const float* dout, int64_t N, int64_t V, int64_t C);
void embedding_fwd_bf16(float* out, const int32_t* ids, const uint16_t* weight, int64_t N, int64_t V, int64_t C);
}  // namespace olmo::cpu

namespace olmo::cuda {
void embedding_fwd_f32(int dev, float* out, const int32_t* ids, const float* weight, int64_t N, int64_t V, int64_t C);
void embedding_bwd_f32(int dev, float* dweight, const int32_t* ids, const float* dout, int64_t N, int64_t V, int64_t C);
void embedding_fwd_bf16(int dev, float* out, const int32_t* ids, const uint16_t* weight, int64_t N, int64_t V, int64_t C);
}  // namespace olmo::cuda
