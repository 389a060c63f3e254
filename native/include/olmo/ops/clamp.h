// clamp (OLMo clip_qkv): elementwise over n; fp32.
//   clamp_fwd_f32: out = min(max(x, lo), hi)  (out WRITTEN; may alias x).
//   clamp_bwd_f32: dx = dout where lo <= x <= hi, else 0 (torch semantics; dx WRITTEN).
#pragma once
#include <cstdint>

namespace olmo::cpu {
void clamp_fwd_f32(float* out, const float* x, float lo, float hi, int64_t n);
void clamp_bwd_f32(float* dx, const float* dout, const float* x, float lo, float hi, int64_t n);
}  // namespace olmo::cpu

namespace olmo::cuda {
void clamp_fwd_f32(int dev, float* out, const float* x, float lo, float hi, int64_t n);
void clamp_bwd_f32(int dev, float* dx, const float* dout, const float* x, float lo, float hi, int64_t n);
}  // namespace olmo::cuda
