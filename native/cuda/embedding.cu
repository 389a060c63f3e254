// embedding on CUDA, same semantics as native/cpu/embedding.cc.
//   fwd: a check kernel raises a device-side flag for any id outside [0, V); the flag is read back
//        (one small sync) and INVALID_ARGUMENT is thrown before the gather kernel writes anything.
//   bwd: dweight[ids[n], c] += dout[n, c] with atomicAdd (accumulates; order of repeated ids is not
//        deterministic, the sum is exact up to fp32 reassociation). Out-of-range ids are skipped
//        on the device and reported as INVALID_ARGUMENT afterwards, so nothing is written out of bounds.
#include "common.cuh"
#include "olmo/ops/embedding.h"

namespace olmo::cuda {

namespace {
__global__ void check_ids_k(const int32_t* ids, int64_t N, int64_t V, int* bad) {
  OLMO_CUDA_FOR(n, N) {
    int32_t id = ids[n];
    if (id < 0 || id >= V) atomicExch(bad, 1);
  }
}
__global__ void gather_k(float* out, const int32_t* ids, const float* w, int64_t N, int64_t C) {
  OLMO_CUDA_FOR(i, N * C) {
    int64_t n = i / C, c = i - n * C;
    out[i] = w[int64_t(ids[n]) * C + c];
  }
}
__global__ void gather_bf16_k(float* out, const int32_t* ids, const __nv_bfloat16* w, int64_t N, int64_t C) {
  OLMO_CUDA_FOR(i, N * C) {
    int64_t n = i / C, c = i - n * C;
    out[i] = to_f32(w[int64_t(ids[n]) * C + c]);
  }
}
__global__ void gather4_k(float4* out, const int32_t* ids, const float4* w, int64_t N, int64_t C4) {
  OLMO_CUDA_FOR(i, N * C4) {
    int64_t n = i / C4, c = i - n * C4;
    out[i] = w[int64_t(ids[n]) * C4 + c];
  }
}
__global__ void scatter_add_k(float* dw, const int32_t* ids, const float* dout, int64_t N, int64_t V, int64_t C, int* bad) {
  OLMO_CUDA_FOR(i, N * C) {
    int64_t n = i / C, c = i - n * C;
    int32_t id = ids[n];
    if (id < 0 || id >= V) { if (c == 0) atomicExch(bad, 1); continue; }
    atomicAdd(dw + int64_t(id) * C + c, dout[i]);
  }
}

int read_flag(int dev, int* flag, const char* what) {
  int h = 0;
  cudaError_t e = cudaMemcpy(&h, flag, sizeof(int), cudaMemcpyDeviceToHost);
  OLMO_CHECK(e == cudaSuccess, "CUDA_ERROR", what << ": " << cudaGetErrorString(e), "");
  return h;
}
}  // namespace

void embedding_fwd_f32(int dev, float* out, const int32_t* ids, const float* weight, int64_t N, int64_t V, int64_t C) {
  if (N <= 0) return;
  cudaSetDevice(dev);
  int* bad = static_cast<int*>(scratch(dev, sizeof(int)));
  cudaMemsetAsync(bad, 0, sizeof(int));
  check_ids_k<<<grid_for(N), 256>>>(ids, N, V, bad);
  OLMO_CUDA_LAUNCH_CHECK("embedding_fwd (id check)");
  OLMO_CHECK(!read_flag(dev, bad, "embedding_fwd"), "INVALID_ARGUMENT", "embedding: token id out of range [0, " << V << ")",
             "check the tokenizer's vocabulary size against the embedding table");
  if (C <= 0) return;
  bool vec = C % 4 == 0 && (reinterpret_cast<uintptr_t>(out) % 16 == 0) && (reinterpret_cast<uintptr_t>(weight) % 16 == 0);
  if (vec) gather4_k<<<grid_for(N * C / 4), 256>>>(reinterpret_cast<float4*>(out), ids, reinterpret_cast<const float4*>(weight), N, C / 4);
  else gather_k<<<grid_for(N * C), 256>>>(out, ids, weight, N, C);
  OLMO_CUDA_LAUNCH_CHECK("embedding_fwd");
}

void embedding_fwd_bf16(int dev, float* out, const int32_t* ids, const uint16_t* weight, int64_t N, int64_t V, int64_t C) {
  if (N <= 0) return;
  cudaSetDevice(dev);
  int* bad = static_cast<int*>(scratch(dev, sizeof(int)));
  cudaMemsetAsync(bad, 0, sizeof(int));
  check_ids_k<<<grid_for(N), 256>>>(ids, N, V, bad);
  OLMO_CUDA_LAUNCH_CHECK("embedding_fwd_bf16 (id check)");
  OLMO_CHECK(!read_flag(dev, bad, "embedding_fwd_bf16"), "INVALID_ARGUMENT", "embedding: token id out of range [0, " << V << ")",
             "check the tokenizer's vocabulary size against the embedding table");
  if (C <= 0) return;
  gather_bf16_k<<<grid_for(N * C), 256>>>(out, ids, reinterpret_cast<const __nv_bfloat16*>(weight), N, C);
  OLMO_CUDA_LAUNCH_CHECK("embedding_fwd_bf16");
}

void embedding_bwd_f32(int dev, float* dweight, const int32_t* ids, const float* dout, int64_t N, int64_t V, int64_t C) {
  if (N <= 0 || C <= 0) return;
  cudaSetDevice(dev);
  int* bad = static_cast<int*>(scratch(dev, sizeof(int)));
  cudaMemsetAsync(bad, 0, sizeof(int));
  scatter_add_k<<<grid_for(N * C), 256>>>(dweight, ids, dout, N, V, C, bad);
  OLMO_CUDA_LAUNCH_CHECK("embedding_bwd");
  OLMO_CHECK(!read_flag(dev, bad, "embedding_bwd"), "INVALID_ARGUMENT", "embedding backward: token id out of range [0, " << V << ")", "");
}

}  // namespace olmo::cuda
