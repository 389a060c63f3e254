// reduce on CUDA, same semantics as native/cpu/reduce.cc (float64 accumulation, deterministic:
// fixed per-block partials summed in a fixed order, no floating-point atomics).
//   sum_f32: grid of blocks -> fp64 partials in scratch -> one block sums them, out[0] = float(scale * sum).
//   broadcast_scalar_f32: out[i] = scale * s[0] (s on the device).
//   sum_squares_f32: fused multi-tensor. The host splits every tensor into chunks of <= 64K elements,
//     uploads the chunk table once, one block per chunk writes an fp64 partial, one block sums them,
//     and the double comes back to the host (this call synchronises).
#include <algorithm>
#include <vector>

#include "common.cuh"
#include "olmo/ops/reduce.h"

namespace olmo::cuda {

namespace {
constexpr int kThreads = 256;
constexpr int64_t kChunk = 1 << 16;

struct Chunk {
  const float* p;
  int64_t n;
};

__global__ void partial_sum_k(double* part, const float* x, int64_t n) {
  double s = 0.0;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(blockDim.x) * gridDim.x) s += double(x[i]);
  s = block_sum(s);
  if (threadIdx.x == 0) part[blockIdx.x] = s;
}
__global__ void finish_sum_k(float* out, double* out64, const double* part, int64_t G, double scale) {
  double s = 0.0;
  for (int64_t i = threadIdx.x; i < G; i += blockDim.x) s += part[i];
  s = block_sum(s);
  if (threadIdx.x == 0) {
    if (out) out[0] = float(scale * s);
    if (out64) out64[0] = scale * s;
  }
}
__global__ void broadcast_k(float* out, const float* s, float scale, int64_t n) {
  const float v = scale * s[0];
  OLMO_CUDA_FOR(i, n) out[i] = v;
}
__global__ void sumsq_chunks_k(double* part, const Chunk* chunks) {
  const Chunk c = chunks[blockIdx.x];
  double s = 0.0;
  for (int64_t i = threadIdx.x; i < c.n; i += blockDim.x) {
    double v = double(c.p[i]);
    s += v * v;
  }
  s = block_sum(s);
  if (threadIdx.x == 0) part[blockIdx.x] = s;
}
}  // namespace

void sum_f32(int dev, float* out, const float* x, int64_t n, float scale) {
  cudaSetDevice(dev);
  int64_t G = std::max<int64_t>(1, std::min<int64_t>((n + kThreads - 1) / kThreads, 4 * int64_t(sm_count(dev))));
  double* part = static_cast<double*>(scratch(dev, sizeof(double) * size_t(G)));
  if (n > 0) partial_sum_k<<<unsigned(G), kThreads>>>(part, x, n);
  else cudaMemsetAsync(part, 0, sizeof(double));
  finish_sum_k<<<1, 1024>>>(out, nullptr, part, G, double(scale));
  OLMO_CUDA_LAUNCH_CHECK("sum");
}

void broadcast_scalar_f32(int dev, float* out, const float* s, float scale, int64_t n) {
  if (n <= 0) return;
  cudaSetDevice(dev);
  broadcast_k<<<grid_for(n), 256>>>(out, s, scale, n);
  OLMO_CUDA_LAUNCH_CHECK("broadcast_scalar");
}

double sum_squares_f32(int dev, const float* const* xs, const int64_t* ns, int64_t count) {
  std::vector<Chunk> chunks;
  for (int64_t k = 0; k < count; ++k)
    for (int64_t s = 0; s < ns[k]; s += kChunk) chunks.push_back({xs[k] + s, std::min(kChunk, ns[k] - s)});
  if (chunks.empty()) return 0.0;
  cudaSetDevice(dev);
  const size_t G = chunks.size();
  // scratch layout: [result double][G partial doubles][G chunks]
  char* buf = static_cast<char*>(scratch(dev, sizeof(double) * (1 + G) + sizeof(Chunk) * G));
  double* result = reinterpret_cast<double*>(buf);
  double* part = result + 1;
  Chunk* dchunks = reinterpret_cast<Chunk*>(part + G);
  cudaError_t e = cudaMemcpy(dchunks, chunks.data(), sizeof(Chunk) * G, cudaMemcpyHostToDevice);
  OLMO_CHECK(e == cudaSuccess, "CUDA_ERROR", "sum_squares: upload: " << cudaGetErrorString(e), "");
  sumsq_chunks_k<<<unsigned(G), kThreads>>>(part, dchunks);
  finish_sum_k<<<1, 1024>>>(nullptr, result, part, int64_t(G), 1.0);
  OLMO_CUDA_LAUNCH_CHECK("sum_squares");
  double h = 0.0;
  e = cudaMemcpy(&h, result, sizeof(double), cudaMemcpyDeviceToHost);
  OLMO_CHECK(e == cudaSuccess, "CUDA_ERROR", "sum_squares: " << cudaGetErrorString(e), "");
  return h;
}

}  // namespace olmo::cuda
