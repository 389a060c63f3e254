// swiglu on CPU: fused elementwise forward/backward (sigmoid recomputed in backward, nothing saved
// beyond the inputs). Inputs float32 or bfloat16 bits (amp_bf16 activation storage), compute float32.
#include "olmo/ops/swiglu.h"

#include "fast_math.h"
#include "olmo/tensor.h"
#include "parallel_for.h"

#include <cmath>

namespace olmo::cpu {

namespace {
// exp per element: a second thread pays off from ~2^16 elements (measured: 2^15 equal, 2^16 ~2x).
constexpr int64_t kParallelMin = 1 << 16;

inline float load(float x) { return x; }
inline float load(uint16_t x) { return bf16_to_f32(x); }

template <class In>
void fwd(float* out, const In* gate, const In* up, int64_t n) {
  parallel_for(n > kParallelMin, n, [&](int64_t i) {
    const float g = load(gate[i]);
    out[i] = g / (1.f + fast_expf(-g)) * load(up[i]);
  });
}

template <class In>
void bwd(float* dgate, float* dup, const float* dout, const In* gate, const In* up, int64_t n) {
#pragma omp parallel for simd if (n > kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float g = load(gate[i]), s = 1.f / (1.f + fast_expf(-g));
    if (dgate) dgate[i] = dout[i] * load(up[i]) * s * (1.f + g * (1.f - s));
    if (dup) dup[i] = dout[i] * g * s;
  }
}
}  // namespace

void swiglu_fwd_f32(float* out, const float* gate, const float* up, int64_t n) { fwd(out, gate, up, n); }
void swiglu_bwd_f32(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n) {
  bwd(dgate, dup, dout, gate, up, n);
}
void swiglu_fwd_bf16in(float* out, const uint16_t* gate, const uint16_t* up, int64_t n) { fwd(out, gate, up, n); }
void swiglu_bwd_bf16in(float* dgate, float* dup, const float* dout, const uint16_t* gate, const uint16_t* up, int64_t n) {
  bwd(dgate, dup, dout, gate, up, n);
}

}  // namespace olmo::cpu
