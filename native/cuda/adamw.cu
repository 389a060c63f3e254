// adamw on CUDA, same semantics as native/cpu/adamw.cc: the host builds one table of chunks
// (<= 64K elements) over all tensors with their per-tensor lr / weight decay, uploads it once, and
// one launch (one block per chunk) updates everything. adamw_all_finite_f32 runs first (one launch,
// an int flag, synchronises) so a NaN/Inf gradient modifies nothing.
#include <algorithm>
#include <cmath>
#include <vector>

#include "common.cuh"
#include "olmo/ops/adamw.h"

namespace olmo::cuda {

namespace {
constexpr int kThreads = 256;
constexpr int64_t kChunk = 1 << 16;

struct AwChunk {
  float* p;
  const float* g;
  float* m;
  float* v;
  int64_t n;
  float lr, wd;
};

__global__ void aw_finite_k(int* flag, const AwChunk* chunks) {
  const AwChunk c = chunks[blockIdx.x];
  bool bad = false;
  for (int64_t i = threadIdx.x; i < c.n; i += blockDim.x) bad |= !isfinite(c.g[i]);
  if (__syncthreads_or(bad) && threadIdx.x == 0) atomicOr(flag, 1);
}

__global__ void aw_step_k(const AwChunk* chunks, float b1, float b2, float eps, float inv_bc1, float inv_sqrt_bc2) {
  const AwChunk c = chunks[blockIdx.x];
  const float decay = 1.0f - c.lr * c.wd, step_size = c.lr * inv_bc1;
  for (int64_t i = threadIdx.x; i < c.n; i += blockDim.x) {
    const float g = c.g[i];
    const float m = b1 * c.m[i] + (1.0f - b1) * g;
    const float v = b2 * c.v[i] + (1.0f - b2) * g * g;
    c.m[i] = m;
    c.v[i] = v;
    c.p[i] = c.p[i] * decay - step_size * m / (sqrtf(v) * inv_sqrt_bc2 + eps);
  }
}

AwChunk* upload(int dev, const std::vector<AwChunk>& cs, size_t extra_bytes) {
  char* buf = static_cast<char*>(scratch(dev, sizeof(AwChunk) * cs.size() + extra_bytes));
  cudaError_t e = cudaMemcpy(buf + extra_bytes, cs.data(), sizeof(AwChunk) * cs.size(), cudaMemcpyHostToDevice);
  OLMO_CHECK(e == cudaSuccess, "CUDA_ERROR", "adamw: upload: " << cudaGetErrorString(e), "");
  return reinterpret_cast<AwChunk*>(buf + extra_bytes);
}
}  // namespace

bool adamw_all_finite_f32(int dev, int64_t n, const float* const* grads, const int64_t* sizes) {
  std::vector<AwChunk> cs;
  for (int64_t t = 0; t < n; ++t)
    for (int64_t b = 0; b < sizes[t]; b += kChunk) cs.push_back({nullptr, grads[t] + b, nullptr, nullptr, std::min(kChunk, sizes[t] - b), 0.f, 0.f});
  if (cs.empty()) return true;
  cudaSetDevice(dev);
  AwChunk* d = upload(dev, cs, 256);  // the flag lives in the first 256 bytes
  int* flag = reinterpret_cast<int*>(reinterpret_cast<char*>(d) - 256);
  cudaMemset(flag, 0, sizeof(int));
  aw_finite_k<<<unsigned(cs.size()), kThreads>>>(flag, d);
  OLMO_CUDA_LAUNCH_CHECK("adamw_all_finite");
  int h = 0;
  cudaError_t e = cudaMemcpy(&h, flag, sizeof(int), cudaMemcpyDeviceToHost);
  OLMO_CHECK(e == cudaSuccess, "CUDA_ERROR", "adamw_all_finite: " << cudaGetErrorString(e), "");
  return h == 0;
}

void adamw_f32(int dev, int64_t n, float* const* params, const float* const* grads, float* const* exp_avg,
               float* const* exp_avg_sq, const int64_t* sizes, const float* lr, const float* weight_decay,
               float beta1, float beta2, float eps, int64_t step) {
  std::vector<AwChunk> cs;
  for (int64_t t = 0; t < n; ++t)
    for (int64_t b = 0; b < sizes[t]; b += kChunk)
      cs.push_back({params[t] + b, grads[t] + b, exp_avg[t] + b, exp_avg_sq[t] + b, std::min(kChunk, sizes[t] - b), lr[t], weight_decay[t]});
  if (cs.empty()) return;
  cudaSetDevice(dev);
  AwChunk* d = upload(dev, cs, 0);
  const double bc1 = 1.0 - std::pow(double(beta1), double(step)), bc2 = 1.0 - std::pow(double(beta2), double(step));
  aw_step_k<<<unsigned(cs.size()), kThreads>>>(d, beta1, beta2, eps, float(1.0 / bc1), float(1.0 / std::sqrt(bc2)));
  OLMO_CUDA_LAUNCH_CHECK("adamw");
}

}  // namespace olmo::cuda
