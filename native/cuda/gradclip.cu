// gradclip on CUDA, same semantics as native/cpu/gradclip.cc: the host splits every tensor into
// chunks of <= 64K elements and uploads the chunk table once; one block per chunk.
//   gradclip_sum_squares_f32: fp64 partial per chunk, summed on the host in chunk order
//     (deterministic, no atomics; this call synchronises).
//   gradclip_scale_f32: x *= s in place, one launch for all tensors.
#include <algorithm>
#include <vector>

#include "common.cuh"
#include "olmo/ops/gradclip.h"

namespace olmo::cuda {

namespace {
constexpr int kThreads = 256;
constexpr int64_t kChunk = 1 << 16;

struct GcChunk {
  float* p;
  int64_t n;
};

std::vector<GcChunk> gc_chunks(int64_t n, const float* const* xs, const int64_t* sizes) {
  std::vector<GcChunk> cs;
  for (int64_t t = 0; t < n; ++t)
    for (int64_t b = 0; b < sizes[t]; b += kChunk) cs.push_back({const_cast<float*>(xs[t]) + b, std::min(kChunk, sizes[t] - b)});
  return cs;
}

__global__ void gc_sumsq_k(double* part, const GcChunk* chunks) {
  const GcChunk c = chunks[blockIdx.x];
  double s = 0.0;
  for (int64_t i = threadIdx.x; i < c.n; i += blockDim.x) {
    const double v = double(c.p[i]);
    s += v * v;
  }
  __shared__ double ws[kThreads / 32];
  s = warp_sum(s);
  if ((threadIdx.x & 31) == 0) ws[threadIdx.x >> 5] = s;
  __syncthreads();
  if (threadIdx.x == 0) {
    double t = 0.0;
    for (int w = 0; w < kThreads / 32; ++w) t += ws[w];
    part[blockIdx.x] = t;
  }
}

__global__ void gc_scale_k(const GcChunk* chunks, float s) {
  const GcChunk c = chunks[blockIdx.x];
  for (int64_t i = threadIdx.x; i < c.n; i += blockDim.x) c.p[i] *= s;
}
}  // namespace

double gradclip_sum_squares_f32(int dev, int64_t n, const float* const* xs, const int64_t* sizes) {
  const std::vector<GcChunk> cs = gc_chunks(n, xs, sizes);
  if (cs.empty()) return 0.0;
  cudaSetDevice(dev);
  const size_t G = cs.size();
  char* buf = static_cast<char*>(scratch(dev, sizeof(GcChunk) * G + sizeof(double) * G));
  GcChunk* dchunks = reinterpret_cast<GcChunk*>(buf);
  double* part = reinterpret_cast<double*>(buf + sizeof(GcChunk) * G);
  cudaError_t e = cudaMemcpy(dchunks, cs.data(), sizeof(GcChunk) * G, cudaMemcpyHostToDevice);
  OLMO_CHECK(e == cudaSuccess, "CUDA_ERROR", "gradclip: upload: " << cudaGetErrorString(e), "");
  gc_sumsq_k<<<unsigned(G), kThreads>>>(part, dchunks);
  OLMO_CUDA_LAUNCH_CHECK("gradclip_sum_squares");
  std::vector<double> h(G);
  e = cudaMemcpy(h.data(), part, sizeof(double) * G, cudaMemcpyDeviceToHost);
  OLMO_CHECK(e == cudaSuccess, "CUDA_ERROR", "gradclip_sum_squares: " << cudaGetErrorString(e), "");
  double total = 0.0;
  for (double p : h) total += p;
  return total;
}

void gradclip_scale_f32(int dev, int64_t n, float* const* xs, const int64_t* sizes, float s) {
  const std::vector<GcChunk> cs = gc_chunks(n, xs, sizes);
  if (cs.empty()) return;
  cudaSetDevice(dev);
  GcChunk* dchunks = static_cast<GcChunk*>(scratch(dev, sizeof(GcChunk) * cs.size()));
  cudaError_t e = cudaMemcpy(dchunks, cs.data(), sizeof(GcChunk) * cs.size(), cudaMemcpyHostToDevice);
  OLMO_CHECK(e == cudaSuccess, "CUDA_ERROR", "gradclip: upload: " << cudaGetErrorString(e), "");
  gc_scale_k<<<unsigned(cs.size()), kThreads>>>(dchunks, s);
  OLMO_CUDA_LAUNCH_CHECK("gradclip_scale");
}

}  // namespace olmo::cuda
