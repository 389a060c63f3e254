// layernorm / rmsnorm on CUDA, same semantics as native/cpu/layernorm.cc.
//   fwd: one block per row; block reductions (warp shuffles + shared) for mean and biased variance
//        (two passes over the row, the second hits L1/L2); rstd = 1/sqrtf(var + eps).
//   bwd: a persistent grid (about 2 blocks per SM) walks the rows; per row two block reductions
//        (mean(g), mean(g * xhat)) then dx WRITTEN. dweight/dbias: each block accumulates its rows'
//        contributions into its own slice of a scratch [G, C] buffer (thread-owned columns, no
//        atomics, deterministic), then a column-sum kernel WRITES dweight/dbias.
#include <algorithm>

#include "common.cuh"
#include "olmo/ops/layernorm.h"

namespace olmo::cuda {

namespace {
int threads_for(int64_t C) {
  int64_t t = (C / 4 + 31) / 32 * 32;
  return int(std::min<int64_t>(512, std::max<int64_t>(32, t)));
}

template <bool RMS>
__global__ void norm_fwd_k(float* out, float* mean, float* rstd, const float* x, const float* w, const float* b, int64_t C, float eps) {
  const int64_t row = blockIdx.x;
  const float* xr = x + row * C;
  float* o = out + row * C;
  float m = 0.f;
  if (!RMS) {
    float s = 0.f;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) s += xr[c];
    m = block_sum(s) / float(C);
  }
  float s2 = 0.f;
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
    float d = xr[c] - m;
    s2 += d * d;
  }
  float r = 1.f / sqrtf(block_sum(s2) / float(C) + eps);
  if (threadIdx.x == 0) {
    if (!RMS) mean[row] = m;
    rstd[row] = r;
  }
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
    float v = (xr[c] - m) * r;
    if (w) v *= w[c];
    if (b) v += b[c];
    o[c] = v;
  }
}

template <bool RMS>
__global__ void norm_bwd_k(float* dx, float* pw, float* pb, const float* dout, const float* x, const float* w,
                           const float* mean, const float* rstd, int64_t N, int64_t C) {
  float* pwr = pw ? pw + int64_t(blockIdx.x) * C : nullptr;
  float* pbr = pb ? pb + int64_t(blockIdx.x) * C : nullptr;
  for (int64_t row = blockIdx.x; row < N; row += gridDim.x) {
    const float* xr = x + row * C;
    const float* gr = dout + row * C;
    const float m = RMS ? 0.f : mean[row], r = rstd[row];
    float s1 = 0.f, s2 = 0.f;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      float xh = (xr[c] - m) * r, go = gr[c];
      float g = w ? go * w[c] : go;
      s1 += g;
      s2 += g * xh;
      if (pwr) pwr[c] += go * xh;
      if (pbr) pbr[c] += go;
    }
    const float mg = RMS ? 0.f : block_sum(s1) / float(C);
    const float mgx = block_sum(s2) / float(C);
    float* dr = dx + row * C;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
      float xh = (xr[c] - m) * r;
      float g = w ? gr[c] * w[c] : gr[c];
      dr[c] = r * (g - mg - xh * mgx);
    }
  }
}

// out[c] = sum_g part[g * C + c]
__global__ void colsum_k(float* out, const float* part, int G, int64_t C) {
  OLMO_CUDA_FOR(c, C) {
    float s = 0.f;
    for (int g = 0; g < G; ++g) s += part[int64_t(g) * C + c];
    out[c] = s;
  }
}

template <bool RMS>
void norm_bwd(int dev, float* dx, float* dweight, float* dbias, const float* dout, const float* x, const float* weight,
              const float* mean, const float* rstd, int64_t N, int64_t C) {
  if (C <= 0) return;
  cudaSetDevice(dev);
  if (N <= 0) {
    if (dweight) cudaMemsetAsync(dweight, 0, sizeof(float) * C);
    if (dbias) cudaMemsetAsync(dbias, 0, sizeof(float) * C);
    OLMO_CUDA_LAUNCH_CHECK("norm_bwd");
    return;
  }
  int G = int(std::min<int64_t>(N, 2 * int64_t(sm_count(dev))));
  float* pw = nullptr;
  float* pb = nullptr;
  int nparts = (dweight ? 1 : 0) + (dbias ? 1 : 0);
  if (nparts) {
    float* buf = static_cast<float*>(scratch(dev, sizeof(float) * size_t(G) * size_t(C) * nparts));
    cudaMemsetAsync(buf, 0, sizeof(float) * size_t(G) * size_t(C) * nparts);
    if (dweight) pw = buf;
    if (dbias) pb = buf + (dweight ? int64_t(G) * C : 0);
  }
  norm_bwd_k<RMS><<<G, threads_for(C)>>>(dx, pw, pb, dout, x, weight, mean, rstd, N, C);
  OLMO_CUDA_LAUNCH_CHECK("norm_bwd");
  if (dweight) colsum_k<<<grid_for(C), 256>>>(dweight, pw, G, C);
  if (dbias) colsum_k<<<grid_for(C), 256>>>(dbias, pb, G, C);
  OLMO_CUDA_LAUNCH_CHECK("norm_bwd (column sums)");
}
}  // namespace

void layernorm_fwd_f32(int dev, float* out, float* mean, float* rstd, const float* x, const float* weight, const float* bias,
                       int64_t N, int64_t C, float eps) {
  if (N <= 0 || C <= 0) return;
  OLMO_CHECK(N < (1LL << 31), "SHAPE_MISMATCH", "layernorm (cuda): " << N << " rows exceed 2^31", "");
  cudaSetDevice(dev);
  norm_fwd_k<false><<<unsigned(N), threads_for(C)>>>(out, mean, rstd, x, weight, bias, C, eps);
  OLMO_CUDA_LAUNCH_CHECK("layernorm_fwd");
}

void layernorm_bwd_f32(int dev, float* dx, float* dweight, float* dbias, const float* dout, const float* x, const float* weight,
                       const float* mean, const float* rstd, int64_t N, int64_t C) {
  norm_bwd<false>(dev, dx, dweight, dbias, dout, x, weight, mean, rstd, N, C);
}

void rmsnorm_fwd_f32(int dev, float* out, float* rstd, const float* x, const float* weight, int64_t N, int64_t C, float eps) {
  if (N <= 0 || C <= 0) return;
  OLMO_CHECK(N < (1LL << 31), "SHAPE_MISMATCH", "rmsnorm (cuda): " << N << " rows exceed 2^31", "");
  cudaSetDevice(dev);
  norm_fwd_k<true><<<unsigned(N), threads_for(C)>>>(out, nullptr, rstd, x, weight, nullptr, C, eps);
  OLMO_CUDA_LAUNCH_CHECK("rmsnorm_fwd");
}

void rmsnorm_bwd_f32(int dev, float* dx, float* dweight, const float* dout, const float* x, const float* weight, const float* rstd,
                     int64_t N, int64_t C) {
  norm_bwd<true>(dev, dx, dweight, nullptr, dout, x, weight, nullptr, rstd, N, C);
}

}  // namespace olmo::cuda
