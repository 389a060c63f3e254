// gemm: batched C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b], row-major, fp32.
//   op(A) is [M,K] (A stored [M,K] with leading dim lda, or [K,M] when transA);
//   op(B) is [K,N] (B stored [K,N], or [N,K] when transB); C is [M,N] with leading dim ldc.
//   Batches are `stride*` elements apart (0 broadcasts one operand over the batch).
//   gemm_bf16 (CUDA only): the same with bf16 (uint16 bit pattern) A and B, fp32 accumulation and fp32 C.
//   gemm_backend(dev): "cublas" when cuBLAS was found at run time (dlopen), else "tiled" (built-in kernel);
//   cublas_path(): the library that was loaded ("" when none). See native/cuda/gemm.cu and docs/cuda.md.
// Backward of Y = X @ W^T (a linear layer) is two more gemm calls: dX = dY @ W, dW += dY^T @ X.
#pragma once
#include <cstdint>
#include <string>

namespace olmo::cpu {
void gemm_f32(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
              const float* A, int64_t lda, int64_t strideA, const float* B, int64_t ldb, int64_t strideB,
              float beta, float* C, int64_t ldc, int64_t strideC, int64_t batch);
}  // namespace olmo::cpu

namespace olmo::cuda {
void gemm_f32(int dev, bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
              const float* A, int64_t lda, int64_t strideA, const float* B, int64_t ldb, int64_t strideB,
              float beta, float* C, int64_t ldc, int64_t strideC, int64_t batch);
void gemm_bf16(int dev, bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
               const uint16_t* A, int64_t lda, int64_t strideA, const uint16_t* B, int64_t ldb, int64_t strideB,
               float beta, float* C, int64_t ldc, int64_t strideC, int64_t batch);
const char* gemm_backend(int dev);
std::string cublas_path();
}  // namespace olmo::cuda
