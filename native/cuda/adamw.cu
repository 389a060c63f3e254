// adamw on CUDA: fused multi-tensor AdamW, same semantics and fp32 expression as native/cpu/adamw.cc.
// The host splits every tensor into chunks of <= 64K elements, precomputes per-chunk decay and step
// size (bias corrections in double once per call), uploads the chunk table once (one small H2D copy)
// and launches one kernel for all tensors: one block per chunk.
//   adamw_all_finite_f32: same chunking; a device flag is raised by any NaN/Inf gradient element and
//     read back (this call synchronises), so the binding can refuse the step before anything changes.
#include <cmath>
#include <vector>

#include "common.cuh"
#include "olmo/ops/adamw.h"

namespace olmo::cuda {

namespace {
constexpr int64_t kChunk = 1 << 16;
constexpr int kThreads = 256;

struct StepChunk {
  float* p;
  const float* g;
  float* m;
  float* v;
  int64_t len;
  float decay, step_size;
};
struct GradChunk {
  const float* g;
  int64_t len;
};

__global__ void all_finite_k(const GradChunk* chunks, int* bad) {
  const GradChunk c = chunks[blockIdx.x];
  bool ok = true;
  for (int64_t i = threadIdx.x; i < c.len; i += blockDim.x) ok &= isfinite(c.g[i]);
  if (__syncthreads_or(!ok) && threadIdx.x == 0) atomicExch(bad, 1);
}

__global__ void adamw_k(const StepChunk* chunks, float b1, float b2, float c1, float c2, float inv_sqrt_bc2, float eps) {
  const StepChunk c = chunks[blockIdx.x];
  for (int64_t i = threadIdx.x; i < c.len; i += blockDim.x) {
    const float gi = c.g[i];
    const float mi = b1 * c.m[i] + c1 * gi;
    const float vi = b2 * c.v[i] + c2 * gi * gi;
    c.m[i] = mi;
    c.v[i] = vi;
    c.p[i] = c.p[i] * c.decay - c.step_size * mi / (sqrtf(vi) * inv_sqrt_bc2 + eps);
  }
}

template <class T>
T* upload(int dev, const std::vector<T>& v, size_t extra_bytes, void** extra) {
  const size_t bytes = sizeof(T) * v.size();
  char* buf = static_cast<char*>(scratch(dev, bytes + extra_bytes + 16));
  cudaError_t e = cudaMemcpy(buf, v.data(), bytes, cudaMemcpyHostToDevice);
  OLMO_CHECK(e == cudaSuccess, "CUDA_ERROR", "adamw: chunk table upload: " << cudaGetErrorString(e), "");
  if (extra) *extra = buf + (bytes + 15) / 16 * 16;
  return reinterpret_cast<T*>(buf);
}
}  // namespace

bool adamw_all_finite_f32(int dev, int64_t n, const float* const* grads, const int64_t* sizes) {
  std::vector<GradChunk> cs;
  for (int64_t t = 0; t < n; ++t)
    for (int64_t b = 0; b < sizes[t]; b += kChunk) cs.push_back({grads[t] + b, std::min(kChunk, sizes[t] - b)});
  if (cs.empty()) return true;
  cudaSetDevice(dev);
  void* flagp = nullptr;
  GradChunk* d = upload(dev, cs, sizeof(int), &flagp);
  int* bad = static_cast<int*>(flagp);
  cudaMemsetAsync(bad, 0, sizeof(int));
  all_finite_k<<<unsigned(cs.size()), kThreads>>>(d, bad);
  OLMO_CUDA_LAUNCH_CHECK("adamw_all_finite");
  int h = 0;
  cudaError_t e = cudaMemcpy(&h, bad, sizeof(int), cudaMemcpyDeviceToHost);
  OLMO_CHECK(e == cudaSuccess, "CUDA_ERROR", "adamw_all_finite: " << cudaGetErrorString(e), "");
  return h == 0;
}

void adamw_f32(int dev, int64_t n, float* const* params, const float* const* grads, float* const* exp_avg,
               float* const* exp_avg_sq, const int64_t* sizes, const float* lr, const float* weight_decay,
               float beta1, float beta2, float eps, int64_t step) {
  const double bc1 = 1.0 - std::pow(double(beta1), double(step));
  const double bc2 = 1.0 - std::pow(double(beta2), double(step));
  const float inv_bc1 = float(1.0 / bc1), inv_sqrt_bc2 = float(1.0 / std::sqrt(bc2));
  std::vector<StepChunk> cs;
  for (int64_t t = 0; t < n; ++t) {
    const float decay = 1.0f - lr[t] * weight_decay[t];
    const float step_size = lr[t] * inv_bc1;
    for (int64_t b = 0; b < sizes[t]; b += kChunk)
      cs.push_back({params[t] + b, grads[t] + b, exp_avg[t] + b, exp_avg_sq[t] + b, std::min(kChunk, sizes[t] - b), decay, step_size});
  }
  if (cs.empty()) return;
  cudaSetDevice(dev);
  StepChunk* d = upload(dev, cs, 0, nullptr);
  adamw_k<<<unsigned(cs.size()), kThreads>>>(d, beta1, beta2, 1.0f - beta1, 1.0f - beta2, inv_sqrt_bc2, eps);
  OLMO_CUDA_LAUNCH_CHECK("adamw");
}

}  // namespace olmo::cuda
