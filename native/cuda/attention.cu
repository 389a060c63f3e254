// attention on CUDA, same semantics as native/cpu/attention.cc (see olmo/ops/attention.h).
// Straightforward warp-per-row kernels (correctness reference for the GPU path; HS <= 256):
//   forward: one warp per query row (b, h, i); each lane owns HS/32 output columns in registers,
//     dot products are warp reductions, online softmax over the visible keys; writes out and lse.
//   backward: D = rowsum(dO o O) (warp per row); dq: warp per query row, recomputing p from lse;
//     dk/dv: warp per key row (b, g, j), looping over the query heads of the group and the queries
//     that see key j, so every output row has exactly one writer (no atomics). dq/dk/dv are written.
#include <cmath>

#include "common.cuh"
#include "olmo/ops/attention.h"

namespace olmo::cuda {

namespace {
constexpr int kMaxPerLane = 8;  // HS <= 32 * 8
constexpr int kWarps = 4;       // warps per block

struct AttDims {
  int64_t B, T, Tk, NH, NKV, HS, off, rep;
  float scale;
  bool causal;
};

__device__ __forceinline__ int64_t att_kend(const AttDims& d, int64_t i) {
  return d.causal ? min(d.Tk, d.off + i + 1) : d.Tk;
}

__device__ __forceinline__ float att_dot(const float* a, const float* b, int64_t HS, int lane) {
  float s = 0.f;
  for (int64_t e = lane; e < HS; e += 32) s += a[e] * b[e];
  return warp_sum(s);
}

__global__ void att_fwd_k(const float* q, const float* k, const float* v, float* out, float* lse, AttDims d) {
  const int lane = threadIdx.x & 31;
  const int64_t row = blockIdx.x * int64_t(kWarps) + (threadIdx.x >> 5);  // (b, i, h) in q order
  if (row >= d.B * d.T * d.NH) return;
  const int64_t h = row % d.NH, bi = row / d.NH, b = bi / d.T, i = bi % d.T, g = h / d.rep;
  const float* qr = q + row * d.HS;
  float acc[kMaxPerLane];
#pragma unroll
  for (int c = 0; c < kMaxPerLane; ++c) acc[c] = 0.f;
  float m = -INFINITY, l = 0.f;
  const int64_t kend = att_kend(d, i);
  for (int64_t j = 0; j < kend; ++j) {
    const int64_t kr = ((b * d.Tk + j) * d.NKV + g) * d.HS;
    const float s = att_dot(qr, k + kr, d.HS, lane) * d.scale;
    const float mn = fmaxf(m, s);
    const float alpha = expf(m - mn), p = expf(s - mn);
    l = l * alpha + p;
#pragma unroll
    for (int c = 0; c < kMaxPerLane; ++c) {
      const int64_t e = lane + 32 * c;
      if (e < d.HS) acc[c] = acc[c] * alpha + p * v[kr + e];
    }
    m = mn;
  }
#pragma unroll
  for (int c = 0; c < kMaxPerLane; ++c) {
    const int64_t e = lane + 32 * c;
    if (e < d.HS) out[row * d.HS + e] = acc[c] / l;
  }
  if (lane == 0) lse[(b * d.NH + h) * d.T + i] = m + logf(l);
}

__global__ void att_delta_k(const float* out, const float* dout, float* D, AttDims d) {
  const int lane = threadIdx.x & 31;
  const int64_t row = blockIdx.x * int64_t(kWarps) + (threadIdx.x >> 5);
  if (row >= d.B * d.T * d.NH) return;
  const int64_t h = row % d.NH, bi = row / d.NH, b = bi / d.T, i = bi % d.T;
  const float s = att_dot(out + row * d.HS, dout + row * d.HS, d.HS, lane);
  if (lane == 0) D[(b * d.NH + h) * d.T + i] = s;
}

__global__ void att_dq_k(const float* q, const float* k, const float* v, const float* lse, const float* D,
                         const float* dout, float* dq, AttDims d) {
  const int lane = threadIdx.x & 31;
  const int64_t row = blockIdx.x * int64_t(kWarps) + (threadIdx.x >> 5);
  if (row >= d.B * d.T * d.NH) return;
  const int64_t h = row % d.NH, bi = row / d.NH, b = bi / d.T, i = bi % d.T, g = h / d.rep;
  const float L = lse[(b * d.NH + h) * d.T + i], Dr = D[(b * d.NH + h) * d.T + i];
  const float* qr = q + row * d.HS;
  const float* gr = dout + row * d.HS;
  float acc[kMaxPerLane];
#pragma unroll
  for (int c = 0; c < kMaxPerLane; ++c) acc[c] = 0.f;
  const int64_t kend = att_kend(d, i);
  for (int64_t j = 0; j < kend; ++j) {
    const int64_t kr = ((b * d.Tk + j) * d.NKV + g) * d.HS;
    const float p = expf(att_dot(qr, k + kr, d.HS, lane) * d.scale - L);
    const float ds = p * (att_dot(gr, v + kr, d.HS, lane) - Dr) * d.scale;
#pragma unroll
    for (int c = 0; c < kMaxPerLane; ++c) {
      const int64_t e = lane + 32 * c;
      if (e < d.HS) acc[c] += ds * k[kr + e];
    }
  }
#pragma unroll
  for (int c = 0; c < kMaxPerLane; ++c) {
    const int64_t e = lane + 32 * c;
    if (e < d.HS) dq[row * d.HS + e] = acc[c];
  }
}

__global__ void att_dkv_k(const float* q, const float* k, const float* v, const float* lse, const float* D,
                          const float* dout, float* dk, float* dv, AttDims d) {
  const int lane = threadIdx.x & 31;
  const int64_t row = blockIdx.x * int64_t(kWarps) + (threadIdx.x >> 5);  // (b, j, g) in k order
  if (row >= d.B * d.Tk * d.NKV) return;
  const int64_t g = row % d.NKV, bj = row / d.NKV, b = bj / d.Tk, j = bj % d.Tk;
  const float* kr = k + row * d.HS;
  const float* vr = v + row * d.HS;
  float ak[kMaxPerLane], av[kMaxPerLane];
#pragma unroll
  for (int c = 0; c < kMaxPerLane; ++c) ak[c] = av[c] = 0.f;
  const int64_t ifirst = d.causal && j > d.off ? j - d.off : 0;
  for (int64_t h = g * d.rep; h < (g + 1) * d.rep; ++h) {
    for (int64_t i = ifirst; i < d.T; ++i) {
      const int64_t qo = ((b * d.T + i) * d.NH + h) * d.HS;
      const float L = lse[(b * d.NH + h) * d.T + i], Dr = D[(b * d.NH + h) * d.T + i];
      const float p = expf(att_dot(q + qo, kr, d.HS, lane) * d.scale - L);
      const float ds = p * (att_dot(dout + qo, vr, d.HS, lane) - Dr) * d.scale;
#pragma unroll
      for (int c = 0; c < kMaxPerLane; ++c) {
        const int64_t e = lane + 32 * c;
        if (e < d.HS) {
          av[c] += p * dout[qo + e];
          ak[c] += ds * q[qo + e];
        }
      }
    }
  }
#pragma unroll
  for (int c = 0; c < kMaxPerLane; ++c) {
    const int64_t e = lane + 32 * c;
    if (e < d.HS) {
      dk[row * d.HS + e] = ak[c];
      dv[row * d.HS + e] = av[c];
    }
  }
}

AttDims att_dims(int64_t B, int64_t T, int64_t Tk, int64_t NH, int64_t NKV, int64_t HS, float scale, bool causal) {
  OLMO_CHECK(HS <= 32 * kMaxPerLane, "SHAPE_MISMATCH", "attention (cuda): head size " << HS << " > " << 32 * kMaxPerLane, "use HS <= 256");
  return AttDims{B, T, Tk, NH, NKV, HS, Tk - T, NH / NKV, scale, causal};
}

unsigned att_blocks(int64_t rows) { return unsigned((rows + kWarps - 1) / kWarps); }
}  // namespace

void attention_fwd_f32(int dev, const float* q, const float* k, const float* v, float* out, float* lse,
                       int64_t B, int64_t T, int64_t Tk, int64_t NH, int64_t NKV, int64_t HS,
                       float scale, bool causal) {
  const AttDims d = att_dims(B, T, Tk, NH, NKV, HS, scale, causal);
  const int64_t rows = B * T * NH;
  if (rows == 0) return;
  cudaSetDevice(dev);
  att_fwd_k<<<att_blocks(rows), 32 * kWarps>>>(q, k, v, out, lse, d);
  OLMO_CUDA_LAUNCH_CHECK("attention_fwd");
}

void attention_bwd_f32(int dev, const float* q, const float* k, const float* v, const float* out, const float* lse,
                       const float* dout, float* dq, float* dk, float* dv,
                       int64_t B, int64_t T, int64_t Tk, int64_t NH, int64_t NKV, int64_t HS,
                       float scale, bool causal) {
  const AttDims d = att_dims(B, T, Tk, NH, NKV, HS, scale, causal);
  const int64_t qrows = B * T * NH, krows = B * Tk * NKV;
  cudaSetDevice(dev);
  if (qrows == 0) {
    if (krows > 0) {
      cudaMemsetAsync(dk, 0, sizeof(float) * size_t(krows * HS));
      cudaMemsetAsync(dv, 0, sizeof(float) * size_t(krows * HS));
    }
    return;
  }
  float* D = static_cast<float*>(scratch(dev, sizeof(float) * size_t(qrows)));
  att_delta_k<<<att_blocks(qrows), 32 * kWarps>>>(out, dout, D, d);
  att_dq_k<<<att_blocks(qrows), 32 * kWarps>>>(q, k, v, lse, D, dout, dq, d);
  if (krows > 0) att_dkv_k<<<att_blocks(krows), 32 * kWarps>>>(q, k, v, lse, D, dout, dk, dv, d);
  OLMO_CUDA_LAUNCH_CHECK("attention_bwd");
}

}  // namespace olmo::cuda
