// gradclip on CUDA (see olmo/ops/gradclip.h), same semantics as native/cpu/gradclip.cc.
//   gradclip_sum_squares_f32: the fused multi-tensor float64 sum of squares of native/cuda/reduce.cu
//     (chunks of <= 64K elements, one block per chunk, per-chunk fp64 partials summed in a fixed
//     order: deterministic). Synchronises (the double comes back to the host).
//   gradclip_scale_f32: x *= s for every tensor, one launch over a chunk table.
#include <algorithm>
#include <vector>

#include "common.cuh"
#include "olmo/ops/gradclip.h"
#include "olmo/ops/reduce.h"

namespace olmo::cuda {

namespace {
constexpr int64_t kChunk = 1 << 16;
struct Chunk {
  float* p;
  int64_t n;
};
__global__ void scale_chunks_k(const Chunk* chunks, float s) {
  const Chunk c = chunks[blockIdx.x];
  for (int64_t i = threadIdx.x; i < c.n; i += blockDim.x) c.p[i] *= s;
}
}  // namespace

double gradclip_sum_squares_f32(int dev, int64_t n, const float* const* xs, const int64_t* sizes) {
  return sum_squares_f32(dev, xs, sizes, n);
}

void gradclip_scale_f32(int dev, int64_t n, float* const* xs, const int64_t* sizes, float s) {
  std::vector<Chunk> cs;
  for (int64_t t = 0; t < n; ++t)
    for (int64_t b = 0; b < sizes[t]; b += kChunk) cs.push_back({xs[t] + b, std::min(kChunk, sizes[t] - b)});
  if (cs.empty()) return;
  cudaSetDevice(dev);
  Chunk* d = static_cast<Chunk*>(scratch(dev, sizeof(Chunk) * cs.size()));
  cudaError_t e = cudaMemcpy(d, cs.data(), sizeof(Chunk) * cs.size(), cudaMemcpyHostToDevice);
  OLMO_CHECK(e == cudaSuccess, "CUDA_ERROR", "gradclip_scale: chunk table upload: " << cudaGetErrorString(e), "");
  scale_chunks_k<<<unsigned(cs.size()), 256>>>(d, s);
  OLMO_CUDA_LAUNCH_CHECK("gradclip_scale");
}

}  // namespace olmo::cuda
