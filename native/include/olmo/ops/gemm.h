// gemm: batched C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b], row-major, fp32.
//   op(A) is [M,K] (A stored [M,K] with leading dim lda, or [K,M] when transA);
//   op(B) is [K,N] (B stored [K,N], or [N,K] when transB); C is [M,N] with leading dim ldc.
//   Batches are `stride*` elements apart (0 broadcasts one operand over the batch).
//   gemm_bf16: the same with A and B rounded to bf16 (uint16 bit pattern) and fp32 accumulation, fp32 C —
//     mixed-precision (amp_bf16) numerics. CPU (native/cpu/gemm_bf16.cc): float32 or bf16 operands,
//     rounded while packing; AVX512-BF16 vdpbf16ps kernel, or rounding + sgemm (gemm_bf16_isa() says
//     which; OLMO_CPU_GEMM_BF16=avx2, or OLMO_CPU_ISA=avx2|avx512|scalar, forces the latter).
//     a_rounded / b_rounded: that float32 operand holds bf16 values already (round_bf16 in
//     ops/elementwise.h), so the rounding + sgemm path reads it in place instead of copying it — with
//     both, it is one plain sgemm. The vdpbf16ps path rounds anyway (a no-op on such values).
//     CUDA: bf16 operands (cuBLAS, else our mma.sync
//     tensor-core kernel on sm_80+, else the tiled kernel; OLMO_CUDA_GEMM_BF16=mma|tiled forces one).
//   gemm_backend(dev): "cublas" when cuBLAS was found at run time (dlopen), else "tiled" (built-in kernel);
//   cublas_path(): the library that was loaded ("" when none). See native/cuda/gemm.cu and docs/cuda.md.
//   gemm_bf16_backend(dev): "lt" (cuBLASLt, native/cuda/gemm_lt.cu), "cublas" (GemmEx) or "tiled", as
//     OLMO_CUDA_GEMM=auto|lt|cublas|tiled allows; gemm_bf16_out_bf16: bf16 output (rounded once from fp32).
//   gemm_libraries(): which libraries loaded and why not (needs no device; INVALID_ARGUMENT on a bad
//     OLMO_CUDA_GEMM); gemm_stats(): bf16 GEMMs run by cuBLASLt vs handed on to GemmEx/tiled.
// Backward of Y = X @ W^T (a linear layer) is two more gemm calls: dX = dY @ W, dW += dY^T @ X.
#pragma once
#include <cstdint>
#include <string>

#include "olmo/ops/lowplinear.h"
#include "olmo/tensor.h"

namespace olmo::cpu {
// linear_f32: y_i = x · W_iᵀ for float32 x [M,K] and float32 weights W_i [n_i,K] (every ws[i].fmt
//   WeightFormat::F32) sharing x: q/k/v or gate/up in one call. Each y_i gets the bits gemm_f32
//   (transB, alpha 1, beta 0) gives it alone; the short-prompt shapes (M <= 128, K at or above the
//   panel threshold) run fused — one x^T and one thread-pool job for all weights (native/cpu/gemm.cc).
void linear_f32(const float* x, int64_t M, int64_t K, const WeightRef* ws, int nw);
void gemm_f32(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
              const float* A, int64_t lda, int64_t strideA, const float* B, int64_t ldb, int64_t strideB,
              float beta, float* C, int64_t ldc, int64_t strideC, int64_t batch);
void gemm_bf16(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const void* A, DType adt,
               int64_t lda, int64_t strideA, const void* B, DType bdt, int64_t ldb, int64_t strideB, float beta, float* C,
               int64_t ldc, int64_t strideC, int64_t batch, bool a_rounded = false, bool b_rounded = false);
const char* gemm_bf16_isa();
}  // namespace olmo::cpu

namespace olmo::cuda {
void gemm_f32(int dev, bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
              const float* A, int64_t lda, int64_t strideA, const float* B, int64_t ldb, int64_t strideB,
              float beta, float* C, int64_t ldc, int64_t strideC, int64_t batch);
void gemm_bf16(int dev, bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
               const uint16_t* A, int64_t lda, int64_t strideA, const uint16_t* B, int64_t ldb, int64_t strideB,
               float beta, float* C, int64_t ldc, int64_t strideC, int64_t batch);
void gemm_bf16_out_bf16(int dev, bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
                        const uint16_t* A, int64_t lda, int64_t strideA, const uint16_t* B, int64_t ldb, int64_t strideB,
                        float beta, uint16_t* C, int64_t ldc, int64_t strideC, int64_t batch);
const char* gemm_backend(int dev);
const char* gemm_bf16_backend(int dev);
std::string cublas_path();
struct GemmLibraries {
  std::string choice;
  bool lt_loaded = false, cublas_loaded = false;
  std::string lt_path, lt_reason, cublas_path, cublas_reason;
  size_t lt_version = 0;
};
GemmLibraries gemm_libraries();
struct GemmStats {
  int64_t lt_calls = 0, lt_fallbacks = 0;
  std::string last_fallback;
};
GemmStats gemm_stats();
// native/cuda/gemm_bf16.cu: our mma.sync tensor-core gemm_bf16 (the fallback where cuBLAS is absent);
// returns false (nothing launched) when the device has no sm_80 tensor cores or the shape does not fit
// the grid. gemm_bf16_forced(): OLMO_CUDA_GEMM_BF16 ("mma" / "tiled" force a built-in kernel, "" none).
bool gemm_bf16_mma(int dev, bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
                   const uint16_t* A, int64_t lda, int64_t strideA, const uint16_t* B, int64_t ldb, int64_t strideB,
                   float beta, float* C, int64_t ldc, int64_t strideC, int64_t batch);
const char* gemm_bf16_forced();
}  // namespace olmo::cuda
