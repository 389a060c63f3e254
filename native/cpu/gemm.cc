// gemm on CPU: OpenBLAS sgemm per batch entry; M == 1 (the KV-cache decode shape) is a GEMV: x·Wᵀ
// through lowplinear's F32 kernels on the OpenMP team, other M == 1 forms through OpenBLAS sgemv. OpenBLAS threads internally, so the batch loop
// stays serial (nesting OpenMP over OpenBLAS threads oversubscribes 2-core machines).
#include "olmo/ops/gemm.h"
#include "olmo/ops/lowplinear.h"

#include <cblas.h>

namespace olmo::cpu {

void gemm_f32(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
              const float* A, int64_t lda, int64_t strideA, const float* B, int64_t ldb, int64_t strideB,
              float beta, float* C, int64_t ldc, int64_t strideC, int64_t batch) {
  if (M == 0 || N == 0) return;
  if (M == 1 && !transA && transB && alpha == 1.f && beta == 0.f) {
    // linear() at batch 1 (decode): y[N] = W x with W [N,K] stored. The lowplinear F32 GEMV runs
    // on the OpenMP team (OpenBLAS's own thread pool next to it thrashed on a loaded 2-vCPU
    // machine; see lowplinear.cc), and decodelayer uses the same kernel, so both paths agree.
    for (int64_t b = 0; b < batch; ++b) {
      const WeightRef w{WeightFormat::F32, B + b * strideB, N, C + b * strideC, N};
      lowp_linear(A + b * strideA, 1, K, &w, 1);
    }
    return;
  }
  if (M == 1 && !transA) {
    // Decode path (one token): y[N] = alpha * op(B)^T x + beta * y as a GEMV, which streams the
    // weights once instead of paying GEMM packing for a single row.
    for (int64_t b = 0; b < batch; ++b) {
      // op(B) = B [K,N] -> y = B^T x: row-major B viewed as [K,N], Trans. op(B) = B^T ([N,K] stored) -> y = B x.
      cblas_sgemv(CblasRowMajor, transB ? CblasNoTrans : CblasTrans, int(transB ? N : K), int(transB ? K : N), alpha,
                  B + b * strideB, int(ldb), A + b * strideA, 1, beta, C + b * strideC, 1);
    }
    return;
  }
  for (int64_t b = 0; b < batch; ++b) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                int(M), int(N), int(K), alpha, A + b * strideA, int(lda), B + b * strideB, int(ldb), beta,
                C + b * strideC, int(ldc));
  }
}

}  // namespace olmo::cpu
