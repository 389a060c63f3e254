// swiglu on CUDA: grid-stride elementwise, same semantics as native/cpu/swiglu.cc.
//   fwd: out = gate * sigmoid(gate) * up
//   bwd: dgate = dout * up * s * (1 + gate * (1 - s)), dup = dout * gate * s  (either may be null)
// Accurate expf (not __expf) so results match the CPU kernel to fp32 rounding.
#include "common.cuh"
#include "olmo/ops/swiglu.h"

namespace olmo::cuda {

namespace {
__device__ __forceinline__ float sigmoidf(float x) { return 1.f / (1.f + expf(-x)); }

__global__ void swiglu_fwd_k(float* out, const float* gate, const float* up, int64_t n) {
  OLMO_CUDA_FOR(i, n) {
    float g = gate[i];
    out[i] = g * sigmoidf(g) * up[i];
  }
}
__global__ void swiglu_bwd_k(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n) {
  OLMO_CUDA_FOR(i, n) {
    float g = gate[i], s = sigmoidf(g), d = dout[i];
    if (dgate) dgate[i] = d * up[i] * s * (1.f + g * (1.f - s));
    if (dup) dup[i] = d * g * s;
  }
}
}  // namespace

void swiglu_fwd_f32(int dev, float* out, const float* gate, const float* up, int64_t n) {
  if (n <= 0) return;
  cudaSetDevice(dev);
  swiglu_fwd_k<<<grid_for(n), 256>>>(out, gate, up, n);
  OLMO_CUDA_LAUNCH_CHECK("swiglu_fwd");
}

void swiglu_bwd_f32(int dev, float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n) {
  if (n <= 0 || (!dgate && !dup)) return;
  cudaSetDevice(dev);
  swiglu_bwd_k<<<grid_for(n), 256>>>(dgate, dup, dout, gate, up, n);
  OLMO_CUDA_LAUNCH_CHECK("swiglu_bwd");
}

}  // namespace olmo::cuda
