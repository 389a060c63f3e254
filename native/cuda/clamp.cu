// clamp on CUDA (OLMo clip_qkv): grid-stride elementwise, same semantics as native/cpu/clamp.cc.
// NaN propagates (ternaries in std::min/std::max order, not fminf/fmaxf which would drop it).
#include "common.cuh"
#include "olmo/ops/clamp.h"

namespace olmo::cuda {

namespace {
__global__ void clamp_fwd_k(float* out, const float* x, float lo, float hi, int64_t n) {
  OLMO_CUDA_FOR(i, n) {
    float v = x[i];
    v = v < lo ? lo : v;
    out[i] = hi < v ? hi : v;
  }
}
__global__ void clamp_bwd_k(float* dx, const float* dout, const float* x, float lo, float hi, int64_t n) {
  OLMO_CUDA_FOR(i, n) {
    float v = x[i];
    dx[i] = (lo <= v && v <= hi) ? dout[i] : 0.f;
  }
}
}  // namespace

void clamp_fwd_f32(int dev, float* out, const float* x, float lo, float hi, int64_t n) {
  if (n <= 0) return;
  cudaSetDevice(dev);
  clamp_fwd_k<<<grid_for(n), 256>>>(out, x, lo, hi, n);
  OLMO_CUDA_LAUNCH_CHECK("clamp_fwd");
}

void clamp_bwd_f32(int dev, float* dx, const float* dout, const float* x, float lo, float hi, int64_t n) {
  if (n <= 0) return;
  cudaSetDevice(dev);
  clamp_bwd_k<<<grid_for(n), 256>>>(dx, dout, x, lo, hi, n);
  OLMO_CUDA_LAUNCH_CHECK("clamp_bwd");
}

}  // namespace olmo::cuda
