// gemm on CPU: OpenBLAS sgemm per batch entry; M == 1 (the KV-cache decode shape) is a GEMV: x·Wᵀ
// through lowplinear's F32 kernels on the OpenMP team, other M == 1 forms through OpenBLAS sgemv;
// x·Wᵀ with 1 < M <= 128 and K >= 256 on Intel, 512 elsewhere (prefill of a short prompt, small eval batches) goes through
// lowplinear's per-row GEMV kernels (M <= 16) or the in-place float32 panel GEMM (gemm_f32_panel.cc,
// on the work pool). linear_f32 runs several such linears sharing x (q/k/v, gate/up) as one call.
// OpenBLAS threads internally, so the batch loop stays serial (nesting OpenMP over OpenBLAS threads oversubscribes 2-core machines).
#include "olmo/ops/gemm.h"
#include "olmo/ops/lowplinear.h"

#include <cblas.h>

#include <cstdlib>

#include "env_switch.h"
#include "gemm_f32_panel.h"

namespace olmo::cpu {

namespace {

// Up to this many rows a transB linear goes through the panel GEMM (weights converted/copied into
// an L1-resident buffer once per call, used M times); above it OpenBLAS's blocked sgemm wins
// (training shapes: M = batch x sequence >= 2048).
constexpr int64_t kPanelMaxM = 128;
// Below this K OpenBLAS's sgemm is used. It was 512 — on an AMD VM OpenBLAS's sgemm was faster for
// bench/model's tiny f32 prefill (K = 256): 0.90-0.92x llama.cpp through the panel vs 1.10-1.23x
// through sgemm (2026-12-05 14:02). On Intel Emerald Rapids (2026-12-06, bench/model/LOWPREC.md) the
// panel wins at K = 256: 86-106 GFLOP per CPU-second at M = 32 on 768x256 / 2048x256 vs 53-79 for
// OpenBLAS's 2-thread sgemm with its AVX-512 kernels (its pool thread's spinning counted; alone on one
// thread that kernel reaches 97-117), and the whole tiny prefill took 6.1-9.5 ms of process CPU
// through the panel vs 12-16.6 ms through sgemm, whose pool thread spins beside our OpenMP team
// between calls (9.7 ms of CPU in one 10 ms prefill; bench/model/prefill-gap.mjs). Hence 256 on
// Intel and 512 elsewhere (the AMD measurement stands until re-measured there);
// OLMO_F32_PANEL_MIN_K=<K> overrides either, for A/B runs.
int64_t panel_min_k_default() {
#if defined(__x86_64__) || defined(__i386__)
  if (__builtin_cpu_is("intel")) return 256;
#endif
  return 512;
}
int64_t panel_min_k() {
  static const int64_t k = [] {
    const char* v = std::getenv("OLMO_F32_PANEL_MIN_K");
    const long long n = v ? std::atoll(v) : 0;
    return n > 0 ? int64_t(n) : panel_min_k_default();
  }();
  return k;
}

// OLMO_F32_PANEL_GEMM=0 sends every M > 1 product to OpenBLAS (for A/B measurements).
bool panel_gemm_enabled() {
  static const bool on = env_switch_on("OLMO_F32_PANEL_GEMM");
  return on;
}

// x·Wᵀ for 1 < M <= kPanelMaxM rows and float32 weights sharing x. M <= 16 (lowplinear's small-batch
// bound) runs lowplinear's per-row GEMV kernels; larger M the in-place panel GEMM
// (gemm_f32_panel.cc), whose summation order is that of lowplinear's panel GEMM (the same bits as
// before it existed); without an AVX2 / AVX-512 kernel, lowplinear's portable path. Every output
// is computed the same way whether its weight comes alone or fused with others.
void short_prompt_linear(const float* x, int64_t M, int64_t K, const WeightRef* ws, int nw) {
  if (M > 16 && K > 0 && f32_panel_gemm(x, M, K, ws, nw)) return;
  lowp_linear(x, M, K, ws, nw);
}

}  // namespace

void linear_f32(const float* x, int64_t M, int64_t K, const WeightRef* ws, int nw) {
  if (M == 0 || nw == 0) return;
  if (M == 1 || (M <= kPanelMaxM && K >= panel_min_k() && panel_gemm_enabled())) {
    // The shapes gemm_f32 below sends to lowplinear's GEMV (M == 1) or the panel GEMM: one fused
    // call (one x^T, one thread-pool job) for all the weights.
    if (M == 1) lowp_linear(x, 1, K, ws, nw);
    else short_prompt_linear(x, M, K, ws, nw);
    return;
  }
  // Everything else (long prompts, training-sized batches, K below the panel threshold) is one
  // OpenBLAS sgemm per weight, as linear() would run it.
  for (int i = 0; i < nw; ++i)
    gemm_f32(false, true, M, ws[i].n, K, 1.f, x, K, 0, static_cast<const float*>(ws[i].data), K, 0, 0.f, ws[i].y,
             ws[i].ldy, 0, 1);
}

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
  if (M > 1 && M <= kPanelMaxM && K >= panel_min_k() && !transA && transB && alpha == 1.f && beta == 0.f && lda == K && ldb == K &&
      panel_gemm_enabled()) {
    // linear() on a short prompt / small batch (prefill, eval): y = x·Wᵀ through lowplinear's panel
    // GEMM on the OpenMP team. OpenBLAS's sgemm packs every weight panel per call and runs its own
    // thread pool beside OpenMP's: on OLMo-1B (4.7 GB of float32 weights) a 32-token prefill took
    // 0.66 s back to back but 0.83 s after a short idle and 1.18 s in bench/model's alternation.
    for (int64_t b = 0; b < batch; ++b) {
      const WeightRef w{WeightFormat::F32, B + b * strideB, N, C + b * strideC, ldc};
      short_prompt_linear(A + b * strideA, M, K, &w, 1);
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
