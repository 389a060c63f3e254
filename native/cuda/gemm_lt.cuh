// cuBLASLt bf16 GEMMs and the choice of CUDA GEMM backend (internal to native/cuda; see gemm_lt.cu).
#pragma once
#include <cstdint>
#include <string>

namespace olmo::cuda {

// OLMO_CUDA_GEMM: which library runs the CUDA GEMMs.
//   auto (default / unset): bf16 GEMMs try cuBLASLt, then cuBLAS GemmEx, then the built-in kernel;
//                           fp32 GEMMs try cuBLAS, then the built-in kernel.
//   lt:     bf16 GEMMs must run on cuBLASLt (CUDA_UNAVAILABLE when it is missing, CUDA_ERROR when it
//           fails); fp32 GEMMs as in auto.
//   cublas: cuBLAS only (bf16 through GemmEx, never Lt); CUDA_UNAVAILABLE when cuBLAS is missing.
//   tiled:  the built-in kernel for everything (same as OLMO_CUBLAS=0).
// Any other value raises INVALID_ARGUMENT naming the valid ones.
enum class GemmChoice { Auto, Lt, Cublas, Tiled };
GemmChoice gemm_choice();
const char* gemm_choice_name(GemmChoice c);

// The cuBLASLt library (loaded on first call; OLMO_CUBLASLT_PATH: a libcublasLt.so.* file or a
// folder with one; OLMO_CUBLASLT=0 disables it). `reason` says why it is not loaded.
struct LtStatus {
  bool loaded = false;
  std::string path, reason;
  size_t version = 0;
};
const LtStatus& cublaslt_status();

// Row-major C = alpha * op(A) @ op(B) + beta * C, bf16 A and B, fp32 accumulation, C float32 or
// (c_bf16) bfloat16; arguments as gemm_bf16 (olmo/ops/gemm.h). Returns false when cuBLASLt cannot
// take this call (library missing, no algorithm for the shape/alignment, a broadcast batch operand,
// a launch error) so the caller falls back; *why gets the reason.
bool lt_gemm_bf16(int dev, bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const uint16_t* A,
                  int64_t lda, int64_t strideA, const uint16_t* B, int64_t ldb, int64_t strideB, float beta, void* C,
                  bool c_bf16, int64_t ldc, int64_t strideC, int64_t batch, std::string* why);

}  // namespace olmo::cuda
