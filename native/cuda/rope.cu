// rope on CUDA: rotate-half (HF) layout, one thread per (b, t, h, i < HS/2) pair; same semantics as
// native/cpu/rope.cc. inv_freq[i] = theta^(-2i/HS) is computed once on the host with the CPU kernel's
// fp32 expression (bit-identical table); angle = float(pos_offset + t) (or the explicit
// position) * inv_freq[i] in fp32;
// sincosf is the accurate (non-fast-math) version. out may alias x: each thread reads its pair
// before writing it and no other thread touches that pair.
#include <cmath>
#include <vector>

#include "common.cuh"
#include "olmo/ops/rope.h"

namespace olmo::cuda {

namespace {
constexpr int kMaxHalf = 1024;  // HS <= 2048
__constant__ float c_inv_freq[kMaxHalf];

__global__ void rope_k(float* out, const float* x, int64_t T, int64_t NH, int half, int64_t pos_offset, float sign, int64_t npairs,
                       const int* __restrict__ positions) {
  OLMO_CUDA_FOR(p, npairs) {
    int i = int(p % half);
    int64_t row = p / half;  // (b, t, h) flattened
    int64_t bt = row / NH;
    int64_t pos = positions ? int64_t(positions[bt]) : pos_offset + bt % T;
    float ang = float(pos) * c_inv_freq[i];
    float s, c;
    sincosf(ang, &s, &c);
    s *= sign;
    const float* xr = x + row * 2 * half;
    float x1 = xr[i], x2 = xr[i + half];
    float* o = out + row * 2 * half;
    o[i] = x1 * c - x2 * s;
    o[i + half] = x2 * c + x1 * s;
  }
}
}  // namespace

void rope_f32(int dev, float* out, const float* x, int64_t B, int64_t T, int64_t NH, int64_t HS, float theta,
              int64_t pos_offset, bool inverse, const int32_t* positions) {
  OLMO_CHECK(HS % 2 == 0 && HS > 0, "SHAPE_MISMATCH", "rope: head size " << HS << " must be even", "");
  OLMO_CHECK(HS / 2 <= kMaxHalf, "SHAPE_MISMATCH", "rope (cuda): head size " << HS << " exceeds " << 2 * kMaxHalf, "");
  int64_t npairs = B * T * NH * (HS / 2);
  if (npairs <= 0) return;
  int half = int(HS / 2);
  std::vector<float> inv(half);
  for (int i = 0; i < half; ++i) inv[i] = 1.0f / std::pow(theta, float(2 * i) / float(HS));  // same expression as the CPU kernel
  cudaSetDevice(dev);
  cudaError_t e = cudaMemcpyToSymbol(c_inv_freq, inv.data(), sizeof(float) * half);
  OLMO_CHECK(e == cudaSuccess, "CUDA_ERROR", "rope: cudaMemcpyToSymbol: " << cudaGetErrorString(e), "");
  rope_k<<<grid_for(npairs), 256>>>(out, x, T, NH, half, pos_offset, inverse ? -1.f : 1.f, npairs, positions);
  OLMO_CUDA_LAUNCH_CHECK("rope");
}

}  // namespace olmo::cuda
