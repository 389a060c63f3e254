// Shared helpers for the CUDA kernels: launch checks, grid sizing, bf16 conversion.
#pragma once
#include <cuda_bf16.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cuda_runtime.h>

#include "olmo/check.h"

namespace olmo::cuda {

#define OLMO_CUDA_LAUNCH_CHECK(what)                                                           \
  do {                                                                                         \
    cudaError_t e_ = cudaGetLastError();                                                       \
    OLMO_CHECK(e_ == cudaSuccess, "CUDA_ERROR", what << ": " << cudaGetErrorString(e_), ""); \
  } while (0)

inline unsigned grid_for(int64_t n, int block = 256) {
  int64_t g = (n + block - 1) / block;
  return unsigned(g > 65535 * 16 ? 65535 * 16 : (g < 1 ? 1 : g));
}

// Grid-stride loop over [0, n).
#define OLMO_CUDA_FOR(i, n) for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(blockDim.x) * gridDim.x)

}  // namespace olmo::cuda

// ---- reductions (fp32 / fp64), used by the norm, cross-entropy, reduce and grad-clip kernels ----
namespace olmo::cuda {

template <class T>
__device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum over the whole block; every thread gets the result. blockDim.x must be a multiple of 32
// (<= 1024). Safe to call repeatedly in a row (the leading barrier protects the scratch).
template <class T>
__device__ T block_sum(T v) {
  __shared__ T scratch[32];
  const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
  v = warp_sum(v);
  __syncthreads();
  if (lane == 0) scratch[wid] = v;
  __syncthreads();
  T r = lane < nw ? scratch[lane] : T(0);
  return warp_sum(r);
}
__device__ inline float block_max(float v) {
  __shared__ float scratch[32];
  const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) scratch[wid] = v;
  __syncthreads();
  float r = lane < nw ? scratch[lane] : -INFINITY;
  return warp_max(r);
}

// bf16 / fp32 load-store with fp32 compute (bf16 rounds to nearest even).
__device__ __forceinline__ float to_f32(float x) { return x; }
__device__ __forceinline__ float to_f32(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ void store_f32(float* p, float v) { *p = v; }
__device__ __forceinline__ void store_f32(__nv_bfloat16* p, float v) { *p = __float2bfloat16_rn(v); }

// Per-device scratch memory that grows on demand and is kept for the process lifetime (used for
// small device-side results: error flags, partial sums). Not thread-safe across concurrent calls on
// the same device from several host threads (the addon calls kernels from the JS thread only).
void* scratch(int dev, size_t nbytes);

// Number of SMs of device `dev` (cached; used to size persistent grids).
int sm_count(int dev);

}  // namespace olmo::cuda
