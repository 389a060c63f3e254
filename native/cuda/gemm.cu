// gemm on CUDA: a shared-memory tiled fp32 kernel (64x64 tiles, 4x4 per thread), batched over
// gridDim.z. cuBLAS is not available at build time on the development machines; this kernel keeps
// the CUDA build self-contained. A run-time cuBLAS path can replace it where the library exists.
#include <cuda_runtime.h>

#include "olmo/check.h"
#include "olmo/ops/gemm.h"

namespace olmo::cuda {

namespace {
constexpr int TILE = 64, KT = 16, TPT = 4;  // TILE x TILE outputs per block, 16 threads x 16 threads

__global__ void gemm_kernel(bool ta, bool tb, int M, int N, int K, float alpha, const float* __restrict__ A,
                            long lda, long sA, const float* __restrict__ B, long ldb, long sB, float beta,
                            float* __restrict__ C, long ldc, long sC) {
  __shared__ float As[KT][TILE + 1];
  __shared__ float Bs[KT][TILE + 1];
  const int b = blockIdx.z;
  A += b * sA; B += b * sB; C += b * sC;
  const int row0 = blockIdx.y * TILE, col0 = blockIdx.x * TILE;
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * 16 + tx;
  float acc[TPT][TPT] = {};
  for (int k0 = 0; k0 < K; k0 += KT) {
    for (int i = tid; i < KT * TILE; i += 256) {
      int kk = i / TILE, mm = i % TILE;
      int r = row0 + mm, k = k0 + kk;
      As[kk][mm] = (r < M && k < K) ? (ta ? A[(long)k * lda + r] : A[(long)r * lda + k]) : 0.f;
      int c = col0 + mm;
      Bs[kk][mm] = (c < N && k < K) ? (tb ? B[(long)c * ldb + k] : B[(long)k * ldb + c]) : 0.f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < KT; ++kk) {
      float a[TPT], bb[TPT];
#pragma unroll
      for (int i = 0; i < TPT; ++i) a[i] = As[kk][ty * TPT + i];
#pragma unroll
      for (int j = 0; j < TPT; ++j) bb[j] = Bs[kk][tx * TPT + j];
#pragma unroll
      for (int i = 0; i < TPT; ++i)
#pragma unroll
        for (int j = 0; j < TPT; ++j) acc[i][j] += a[i] * bb[j];
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < TPT; ++i) {
    int r = row0 + ty * TPT + i;
    if (r >= M) continue;
#pragma unroll
    for (int j = 0; j < TPT; ++j) {
      int c = col0 + tx * TPT + j;
      if (c >= N) continue;
      float* out = C + (long)r * ldc + c;
      *out = alpha * acc[i][j] + (beta == 0.f ? 0.f : beta * *out);
    }
  }
}
}  // namespace

void gemm_f32(int dev, bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
              const float* A, int64_t lda, int64_t strideA, const float* B, int64_t ldb, int64_t strideB,
              float beta, float* C, int64_t ldc, int64_t strideC, int64_t batch) {
  if (M == 0 || N == 0 || batch == 0) return;
  OLMO_CHECK(batch < 65536, "SHAPE_MISMATCH", "cuda gemm: batch " << batch << " exceeds 65535", "reshape the batch");
  cudaSetDevice(dev);
  dim3 grid((N + TILE - 1) / TILE, (M + TILE - 1) / TILE, batch), block(16, 16);
  gemm_kernel<<<grid, block>>>(transA, transB, int(M), int(N), int(K), alpha, A, lda, strideA, B, ldb, strideB, beta, C, ldc, strideC);
  cudaError_t e = cudaGetLastError();
  OLMO_CHECK(e == cudaSuccess, "CUDA_ERROR", "gemm launch: " << cudaGetErrorString(e), "");
}

}  // namespace olmo::cuda
