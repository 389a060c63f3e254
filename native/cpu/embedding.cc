// embedding on CPU: rows gathered with memcpy in parallel; backward parallelises over column
// blocks so repeated ids never race and sums are deterministic.
#include "olmo/ops/embedding.h"

#include <algorithm>
#include <cstring>

#include "olmo/check.h"
#include "olmo/tensor.h"

namespace olmo::cpu {

// Row copies / scatter-adds are memory-bound like elementwise.cc: threads only from 2^17 elements.
constexpr int64_t kParallelMin = 1 << 17;

static void check_ids(const int32_t* ids, int64_t N, int64_t V) {
  for (int64_t n = 0; n < N; ++n) {
    OLMO_CHECK(ids[n] >= 0 && int64_t(ids[n]) < V, "INVALID_ARGUMENT",
               "embedding: id " << ids[n] << " at position " << n << " is outside [0, " << V << ")",
               "token ids must be smaller than the vocabulary (embedding) size");
  }
}

void embedding_fwd_f32(float* out, const int32_t* ids, const float* weight, int64_t N, int64_t V, int64_t C) {
  check_ids(ids, N, V);
#pragma omp parallel for if (N * C > kParallelMin) schedule(static)
  for (int64_t n = 0; n < N; ++n) std::memcpy(out + n * C, weight + int64_t(ids[n]) * C, size_t(C) * sizeof(float));
}

void embedding_fwd_bf16(float* out, const int32_t* ids, const uint16_t* weight, int64_t N, int64_t V, int64_t C) {
  check_ids(ids, N, V);
#pragma omp parallel for if (N * C > kParallelMin) schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const uint16_t* src = weight + int64_t(ids[n]) * C;
    float* dst = out + n * C;
    for (int64_t c = 0; c < C; ++c) dst[c] = bf16_to_f32(src[c]);
  }
}

void embedding_bwd_f32(float* dweight, const int32_t* ids, const float* dout, int64_t N, int64_t V, int64_t C) {
  check_ids(ids, N, V);
  constexpr int64_t kBlock = 64;  // columns per task: one cache line group per row
  const int64_t blocks = (C + kBlock - 1) / kBlock;
#pragma omp parallel for if (N * C > kParallelMin) schedule(static)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t c0 = b * kBlock, c1 = std::min(C, c0 + kBlock);
    for (int64_t n = 0; n < N; ++n) {
      float* dst = dweight + int64_t(ids[n]) * C;
      const float* src = dout + n * C;
#pragma omp simd
      for (int64_t c = c0; c < c1; ++c) dst[c] += src[c];
    }
  }
}

}  // namespace olmo::cpu
