// swiglu: out = silu(gate) * up, elementwise over n (gate, up, out same shape, e.g. [B,T,H]); fp32.
//   swiglu_fwd_f32: out WRITTEN.
//   swiglu_bwd_f32 (fused, recomputes sigmoid): dgate = dout * up * s * (1 + gate * (1 - s)),
//     dup = dout * silu(gate), s = sigmoid(gate). dgate / dup WRITTEN; either may be null (skipped).
#pragma once
#include <cstdint>

namespace olmo::cpu {
void swiglu_fwd_f32(float* out, const float* gate, const float* up, int64_t n);
void swiglu_bwd_f32(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n);
}  // namespace olmo::cpu

namespace olmo::cuda {
void swiglu_fwd_f32(int dev, float* out, const float* gate, const float* up, int64_t n);
void swiglu_bwd_f32(int dev, float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n);
}  // namespace olmo::cuda
