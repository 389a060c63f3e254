// Shared helpers for the CUDA kernels: launch checks, grid sizing, bf16 conversion.
#pragma once
#include <cuda_bf16.h>
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
