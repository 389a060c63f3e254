// swiglu: out = silu(gate) * up, elementwise over n (gate, up, out same shape, e.g. [B,T,H]); fp32.
//   swiglu_fwd_f32: out WRITTEN.
//   swiglu_bwd_f32 (fused, recomputes sigmoid): dgate = dout * up * s * (1 + gate * (1 - s)),
//     dup = dout * silu(gate), s = sigmoid(gate). dgate / dup WRITTEN; either may be null (skipped).
//   swiglu_*_bf16in: the same with gate / up stored as bfloat16 bits (amp_bf16 activation storage):
//     each value is widened to float32 and everything is computed in float32; out, dout, dgate, dup
//     stay float32. Equal to the f32 kernels on bf16-rounded inputs.
#pragma once
#include <cstdint>

namespace olmo::cpu {
void swiglu_fwd_f32(float* out, const float* gate, const float* up, int64_t n);
void swiglu_bwd_f32(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n);
void swiglu_fwd_bf16in(float* out, const uint16_t* gate, const uint16_t* up, int64_t n);
void swiglu_bwd_bf16in(float* dgate, float* dup, const float* dout, const uint16_t* gate, const uint16_t* up, int64_t n);
}  // namespace olmo::cpu

namespace olmo::cuda {
void swiglu_fwd_f32(int dev, float* out, const float* gate, const float* up, int64_t n);
void swiglu_bwd_f32(int dev, float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n);
void swiglu_fwd_bf16in(int dev, float* out, const uint16_t* gate, const uint16_t* up, int64_t n);
void swiglu_bwd_bf16in(int dev, float* dgate, float* dup, const float* dout, const uint16_t* gate, const uint16_t* up, int64_t n);
}  // namespace olmo::cuda
