// lowplinear on CUDA: y = x · Wᵀ for bf16 and Q8_0 weights with float32 x and accumulation (same
// semantics as native/cpu/lowplinear.cc). One 128-thread block per (output row, input row):
// a GEMV-shaped kernel that reads each weight once per input row, converting in registers. Correct
// first; prefill-sized batches would want a tiled kernel (M > 1 re-reads W per row today).
#include "common.cuh"
#include "olmo/ops/lowplinear.h"

namespace olmo::cuda {

namespace {
// IEEE half bits -> float with plain arithmetic (no cuda_fp16.h, so the CPU simulator builds it too).
__device__ __forceinline__ float half_to_f32(uint16_t h) {
  const int e = (h >> 10) & 0x1f, m = h & 0x3ff;
  const float mag = e == 0 ? ldexpf(float(m), -24) : e == 31 ? (m ? NAN : INFINITY) : ldexpf(float(1024 + m), e - 25);
  return (h & 0x8000) ? -mag : mag;
}

__global__ void lowp_bf16_k(const float* __restrict__ x, int64_t K, const __nv_bfloat16* __restrict__ w, float* y, int64_t ldy) {
  const int64_t r = blockIdx.x, m = blockIdx.y;
  const __nv_bfloat16* row = w + r * K;
  const float* xm = x + m * K;
  float acc = 0.f;
  for (int64_t k = threadIdx.x; k < K; k += blockDim.x) acc += to_f32(row[k]) * xm[k];
  acc = block_sum(acc);
  if (threadIdx.x == 0) y[m * ldy + r] = acc;
}

__global__ void lowp_q8_k(const float* __restrict__ x, int64_t K, const BlockQ8_0* __restrict__ w, float* y, int64_t ldy) {
  const int64_t r = blockIdx.x, m = blockIdx.y, nb = K / 32;
  const BlockQ8_0* row = w + r * nb;
  const float* xm = x + m * K;
  float acc = 0.f;
  // Thread t handles element t % 32 of blocks t / 32, t / 32 + 4, ... (coalesced within a block).
  for (int64_t i = threadIdx.x; i < nb * 32; i += blockDim.x) {
    const BlockQ8_0& b = row[i / 32];
    acc += half_to_f32(b.d) * float(b.qs[i % 32]) * xm[i];
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) y[m * ldy + r] = acc;
}
}  // namespace

void lowp_linear(int dev, const float* x, int64_t M, int64_t K, const WeightRef* ws, int nw) {
  cudaSetDevice(dev);
  for (int i = 0; i < nw; ++i) {
    const WeightRef& w = ws[i];
    if (M == 0 || w.n == 0) continue;
    OLMO_CHECK(w.n < (1LL << 31) && M < 65536, "SHAPE_MISMATCH", "lowp_linear (cuda): N " << w.n << " or M " << M << " too large", "split the batch");
    const dim3 grid(unsigned(w.n), unsigned(M));
    if (w.fmt == WeightFormat::BF16) lowp_bf16_k<<<grid, 128>>>(x, K, static_cast<const __nv_bfloat16*>(w.data), w.y, w.ldy);
    else lowp_q8_k<<<grid, 128>>>(x, K, static_cast<const BlockQ8_0*>(w.data), w.y, w.ldy);
    OLMO_CUDA_LAUNCH_CHECK("lowp_linear");
  }
}

}  // namespace olmo::cuda
