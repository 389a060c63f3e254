// rope: rotary position embedding, rotate-half (HF) layout. x, out [B,T,NH,HS] contiguous, HS even; fp32.
//   inv_freq[i] = theta^(-2i/HS) (i < HS/2), angle(t,i) = (pos_offset + t) * inv_freq[i]  (fp32, as HF),
//   out[..., i]        = x[i] * cos - x[i + HS/2] * sin
//   out[..., i + HS/2] = x[i + HS/2] * cos + x[i] * sin
//   inverse = true rotates by the negative angle: that is the backward (dx = rope^-1(dout)).
//   positions (nullable, int32 [B, T], values >= 0): explicit position of each (b, t) instead of
//   pos_offset + t (packed documents restart their positions at 0).
//   out WRITTEN; out may alias x (each pair is read before it is written).
#pragma once
#include <cstdint>

namespace olmo::cpu {
void rope_f32(float* out, const float* x, int64_t B, int64_t T, int64_t NH, int64_t HS, float theta,
              int64_t pos_offset, bool inverse, const int32_t* positions = nullptr);
}  // namespace olmo::cpu

namespace olmo::cuda {
void rope_f32(int dev, float* out, const float* x, int64_t B, int64_t T, int64_t NH, int64_t HS, float theta,
              int64_t pos_offset, bool inverse, const int32_t* positions = nullptr);
}  // namespace olmo::cuda
