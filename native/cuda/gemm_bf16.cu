// gemm_bf16 on CUDA tensor cores, our own kernel (mma.sync m16n8k16, bf16 x bf16 -> fp32 accumulate):
// the fallback of cuda::gemm_bf16 (gemm.cu) where cuBLAS is missing or fails, on sm_80+ devices.
// OLMO_CUDA_GEMM_BF16=mma forces it (skipping cuBLAS), =tiled forces the fp32-FMA tiled kernel.
//
// Same contract as olmo/ops/gemm.h: C[b] = alpha * op(A[b]) op(B[b]) + beta * C[b], row-major,
// bf16 A/B (any of the four transpose combinations: the linear layer uses NT forward, NN for dX and
// TN for dW), fp32 C.
//
// Block tile 64 (M) x 64 (N) x 32 (K), 128 threads = 4 warps in 2 x 2, each warp 32 x 32 outputs =
// 2 x 4 mma tiles of 16 x 8 (32 fp32 accumulators per lane). Per K step the block copies op(A) into
// As[m][k] and op(B) into Bs[n][k] (k contiguous in both, whatever the global layout: the copy loop
// walks the global-contiguous index fastest so loads stay coalesced), rows padded to 40 halves
// (80 bytes: 16-byte aligned for ldmatrix, and the 8 rows an ldmatrix phase reads fall in distinct
// bank groups). Fragments come from ldmatrix.x4 (A: one 16x16 tile; B: two 8-wide n tiles).
// Edges: out-of-range rows/cols/k are zero-filled in shared memory and masked on store, so any
// M, N, K work. Plain (synchronous) loads: this is a fallback, not a cuBLAS replacement.
#include <cstdlib>

#include "common.cuh"
#include "mma.cuh"
#include "olmo/ops/gemm.h"

namespace olmo::cuda {

namespace {
constexpr int BM = 64, BN = 64, BK = 32, PITCH = BK + 8, NTH = 128;

__global__ void __launch_bounds__(NTH) gemm_bf16_mma_k(bool ta, bool tb, int M, int N, int K, float alpha,
                                                       const __nv_bfloat16* __restrict__ A, long lda, long sA,
                                                       const __nv_bfloat16* __restrict__ B, long ldb, long sB, float beta,
                                                       float* __restrict__ C, long ldc, long sC) {
  __shared__ __align__(16) __nv_bfloat16 As[BM][PITCH];
  __shared__ __align__(16) __nv_bfloat16 Bs[BN][PITCH];
  const long bz = blockIdx.z;
  A += bz * sA;
  B += bz * sB;
  C += bz * sC;
  const int row0 = blockIdx.y * BM, col0 = blockIdx.x * BN;
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  const int wm = (warp >> 1) * 32, wn = (warp & 1) * 32;
  const __nv_bfloat16 zero = __float2bfloat16_rn(0.f);
  float acc[2][4][4];
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.f;

  for (int k0 = 0; k0 < K; k0 += BK) {
    // op(A) tile -> As[m][k]; op(B) tile -> Bs[n][k].
    for (int idx = tid; idx < BM * BK; idx += NTH) {
      int m, k;
      if (ta) { k = idx / BM; m = idx % BM; } else { m = idx / BK; k = idx % BK; }
      const int r = row0 + m, kk = k0 + k;
      As[m][k] = (r < M && kk < K) ? (ta ? A[(long)kk * lda + r] : A[(long)r * lda + kk]) : zero;
    }
    for (int idx = tid; idx < BN * BK; idx += NTH) {
      int n, k;
      if (tb) { n = idx / BK; k = idx % BK; } else { k = idx / BN; n = idx % BN; }
      const int c = col0 + n, kk = k0 + k;
      Bs[n][k] = (c < N && kk < K) ? (tb ? B[(long)c * ldb + kk] : B[(long)kk * ldb + c]) : zero;
    }
    __syncthreads();
#pragma unroll
    for (int ks = 0; ks < BK; ks += 16) {
      uint32_t a[2][4], b[4][2];
#pragma unroll
      for (int i = 0; i < 2; ++i) ldmatrix_x4(a[i], &As[wm + i * 16 + (lane & 15)][ks + 8 * (lane >> 4)]);
#pragma unroll
      for (int j = 0; j < 4; j += 2) {
        // lanes 0-7: tile j k 0-7, 8-15: tile j k 8-15, 16-23: tile j+1 k 0-7, 24-31: tile j+1 k 8-15
        uint32_t r[4];
        ldmatrix_x4(r, &Bs[wn + (j + (lane >> 4)) * 8 + (lane & 7)][ks + 8 * ((lane >> 3) & 1)]);
        b[j][0] = r[0]; b[j][1] = r[1]; b[j + 1][0] = r[2]; b[j + 1][1] = r[3];
      }
#pragma unroll
      for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) mma_bf16_16816(acc[i][j], a[i], b[j], acc[i][j]);
    }
    __syncthreads();
  }
  const int g = lane >> 2, t = lane & 3;
#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int r = row0 + wm + i * 16 + g + 8 * (e >> 1), c = col0 + wn + j * 8 + 2 * t + (e & 1);
        if (r < M && c < N) {
          float* out = C + (long)r * ldc + c;
          *out = alpha * acc[i][j][e] + (beta == 0.f ? 0.f : beta * *out);
        }
      }
}
}  // namespace

const char* gemm_bf16_forced() {
  const char* v = std::getenv("OLMO_CUDA_GEMM_BF16");
  return v && *v ? v : "";
}

bool gemm_bf16_mma(int dev, bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const uint16_t* A, int64_t lda,
                   int64_t strideA, const uint16_t* B, int64_t ldb, int64_t strideB, float beta, float* C, int64_t ldc,
                   int64_t strideC, int64_t batch) {
  if (!has_mma(dev) || batch >= 65536 || (M + BM - 1) / BM >= 65536 || M >= (int64_t(1) << 31) || N >= (int64_t(1) << 31) ||
      K >= (int64_t(1) << 31))
    return false;
  dim3 grid(unsigned((N + BN - 1) / BN), unsigned((M + BM - 1) / BM), unsigned(batch));
  gemm_bf16_mma_k<<<grid, NTH>>>(transA, transB, int(M), int(N), int(K), alpha, reinterpret_cast<const __nv_bfloat16*>(A), lda, strideA,
                                 reinterpret_cast<const __nv_bfloat16*>(B), ldb, strideB, beta, C, ldc, strideC);
  OLMO_CUDA_LAUNCH_CHECK("gemm_bf16 (mma)");
  return true;
}

}  // namespace olmo::cuda
