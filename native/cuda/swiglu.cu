// swiglu on CUDA: grid-stride elementwise, same semantics as native/cpu/swiglu.cc.
//   fwd: out = gate * sigmoid(gate) * up
//   bwd: dgate = dout * up * s * (1 + gate * (1 - s)), dup = dout * gate * s  (either may be null)
// gate / up float32 or bfloat16 (amp_bf16 activation storage; widened, computed in float32).
// Accurate expf (not __expf) so results match the CPU kernel to fp32 rounding.
#include "common.cuh"
#include "olmo/ops/swiglu.h"

namespace olmo::cuda {

namespace {
__device__ __forceinline__ float sigmoidf(float x) { return 1.f / (1.f + expf(-x)); }

template <class In>
__global__ void swiglu_fwd_k(float* out, const In* gate, const In* up, int64_t n) {
  OLMO_CUDA_FOR(i, n) {
    float g = to_f32(gate[i]);
    out[i] = g * sigmoidf(g) * to_f32(up[i]);
  }
}
template <class In>
__global__ void swiglu_bwd_k(float* dgate, float* dup, const float* dout, const In* gate, const In* up, int64_t n) {
  OLMO_CUDA_FOR(i, n) {
    float g = to_f32(gate[i]), s = sigmoidf(g), d = dout[i];
    if (dgate) dgate[i] = d * to_f32(up[i]) * s * (1.f + g * (1.f - s));
    if (dup) dup[i] = d * g * s;
  }
}

template <class In>
void fwd(int dev, float* out, const In* gate, const In* up, int64_t n) {
  if (n <= 0) return;
  cudaSetDevice(dev);
  swiglu_fwd_k<In><<<grid_for(n), 256>>>(out, gate, up, n);
  OLMO_CUDA_LAUNCH_CHECK("swiglu_fwd");
}
template <class In>
void bwd(int dev, float* dgate, float* dup, const float* dout, const In* gate, const In* up, int64_t n) {
  if (n <= 0 || (!dgate && !dup)) return;
  cudaSetDevice(dev);
  swiglu_bwd_k<In><<<grid_for(n), 256>>>(dgate, dup, dout, gate, up, n);
  OLMO_CUDA_LAUNCH_CHECK("swiglu_bwd");
}
const __nv_bfloat16* as_bf16(const uint16_t* p) { return reinterpret_cast<const __nv_bfloat16*>(p); }
}  // namespace

void swiglu_fwd_f32(int dev, float* out, const float* gate, const float* up, int64_t n) { fwd(dev, out, gate, up, n); }
void swiglu_bwd_f32(int dev, float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n) {
  bwd(dev, dgate, dup, dout, gate, up, n);
}
void swiglu_fwd_bf16in(int dev, float* out, const uint16_t* gate, const uint16_t* up, int64_t n) {
  fwd(dev, out, as_bf16(gate), as_bf16(up), n);
}
void swiglu_bwd_bf16in(int dev, float* dgate, float* dup, const float* dout, const uint16_t* gate, const uint16_t* up, int64_t n) {
  bwd(dev, dgate, dup, dout, as_bf16(gate), as_bf16(up), n);
}

}  // namespace olmo::cuda
