// crossentropy on CUDA, same semantics as native/cpu/crossentropy.cc.
//   fwd: a check kernel flags targets outside [0, V) (other than ignore_index); the flag is read back
//        and INVALID_ARGUMENT is thrown before anything is written. Then one block per row makes a
//        single pass over the logits: each thread keeps an online (max, rescaled sum) pair, the
//        block combines them (block max, then block sum of s * exp(m - M)); lse = M + log(S).
//        No softmax is stored.
//   bwd: one block per row (grid-stride over rows), dlogits[v] = (a + b) * exp(logits[v] - lse) - a * (v == t),
//        each element read and written by the same thread (dlogits may alias logits). Targets are not
//        re-validated (the forward did); a target outside [0, V) can never index out of bounds here.
#include <algorithm>

#include "common.cuh"
#include "olmo/ops/crossentropy.h"

namespace olmo::cuda {

namespace {
int ce_threads(int64_t V) { return V >= 8192 ? 512 : V >= 1024 ? 256 : V >= 128 ? 128 : 32; }

__global__ void check_targets_k(const int32_t* t, int64_t N, int64_t V, int32_t ignore, int* bad) {
  OLMO_CUDA_FOR(n, N) {
    int32_t v = t[n];
    if (v != ignore && (v < 0 || v >= V)) atomicExch(bad, 1);
  }
}

__global__ void ce_fwd_k(float* loss, float* lse, float* zloss, float z_mult, const float* logits, const int32_t* targets,
                         int64_t N, int64_t V, int32_t ignore) {
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const float* row = logits + n * V;
    float m = -INFINITY, s = 0.f;
    for (int64_t v = threadIdx.x; v < V; v += blockDim.x) {
      float x = row[v];
      if (x > m) {
        s = s * expf(m - x) + 1.f;
        m = x;
      } else {
        s += expf(x - m);
      }
    }
    const float M = block_max(m);
    const float S = block_sum(m == -INFINITY ? 0.f : s * expf(m - M));
    if (threadIdx.x == 0) {
      const float l = M + logf(S);
      lse[n] = l;
      const int32_t t = targets[n];
      loss[n] = t == ignore ? 0.f : l - row[t];
      if (zloss) zloss[n] = t == ignore ? 0.f : z_mult * l * l;
    }
  }
}

__global__ void ce_bwd_k(float* dlogits, const float* logits, const float* lse, const int32_t* targets,
                         const float* gloss, int64_t gls, float loss_scale, const float* gz, int64_t gzs, float z_scale,
                         int64_t N, int64_t V, int32_t ignore) {
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const int32_t t = targets[n];
    const float l = lse[n];
    float a = 0.f, b = 0.f;
    if (t != ignore) {
      if (gloss) a = gloss[n * gls] * loss_scale;
      if (gz) b = gz[n * gzs] * z_scale * 2.f * l;
    }
    const float w = a + b;
    const float* row = logits + n * V;
    float* d = dlogits + n * V;
    for (int64_t v = threadIdx.x; v < V; v += blockDim.x) {
      float g = w * expf(row[v] - l);
      if (v == t) g -= a;
      d[v] = g;
    }
  }
}
}  // namespace

void cross_entropy_fwd_f32(int dev, float* loss, float* lse, float* zloss, float z_mult, const float* logits, const int32_t* targets,
                           int64_t N, int64_t V, int32_t ignore_index) {
  if (N <= 0) return;
  cudaSetDevice(dev);
  int* bad = static_cast<int*>(scratch(dev, sizeof(int)));
  cudaMemsetAsync(bad, 0, sizeof(int));
  check_targets_k<<<grid_for(N), 256>>>(targets, N, V, ignore_index, bad);
  OLMO_CUDA_LAUNCH_CHECK("cross_entropy_fwd (target check)");
  int h = 0;
  cudaError_t e = cudaMemcpy(&h, bad, sizeof(int), cudaMemcpyDeviceToHost);
  OLMO_CHECK(e == cudaSuccess, "CUDA_ERROR", "cross_entropy_fwd: " << cudaGetErrorString(e), "");
  OLMO_CHECK(!h, "INVALID_ARGUMENT", "crossEntropy: a target is outside [0, " << V << ") and is not ignoreIndex " << ignore_index,
             "targets must be vocabulary ids or ignoreIndex");
  unsigned G = unsigned(std::min<int64_t>(N, 1 << 20));
  ce_fwd_k<<<G, ce_threads(V)>>>(loss, lse, zloss, z_mult, logits, targets, N, V, ignore_index);
  OLMO_CUDA_LAUNCH_CHECK("cross_entropy_fwd");
}

void cross_entropy_bwd_f32(int dev, float* dlogits, const float* logits, const float* lse, const int32_t* targets,
                           const float* gloss, int64_t gloss_stride, float loss_scale,
                           const float* gz, int64_t gz_stride, float z_scale, int64_t N, int64_t V, int32_t ignore_index) {
  if (N <= 0 || V <= 0) return;
  cudaSetDevice(dev);
  unsigned G = unsigned(std::min<int64_t>(N, 1 << 20));
  ce_bwd_k<<<G, ce_threads(V)>>>(dlogits, logits, lse, targets, gloss, gloss_stride, loss_scale, gz, gz_stride, z_scale, N, V,
                                  ignore_index);
  OLMO_CUDA_LAUNCH_CHECK("cross_entropy_bwd");
}

}  // namespace olmo::cuda
