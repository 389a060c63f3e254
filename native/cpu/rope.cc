// rope on CPU: cos/sin table [T, HS/2] computed once per call (fp32, like HF), then every
// (b, t, h) row rotated in parallel.
#include "olmo/ops/rope.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "parallel_for.h"

namespace olmo::cpu {

void rope_f32(float* out, const float* x, int64_t B, int64_t T, int64_t NH, int64_t HS, float theta,
              int64_t pos_offset, bool inverse, const int32_t* positions) {
  const int64_t half = HS / 2;
  // Table rows: positions pos_offset + t, or (explicit positions) 0..max position.
  int64_t rows_tab = T;
  if (positions) {
    int64_t mx = -1;
    for (int64_t e = 0; e < B * T; ++e) mx = std::max<int64_t>(mx, positions[e]);
    rows_tab = mx + 1;
    pos_offset = 0;
  }
  std::vector<float> cs(size_t(rows_tab * half)), sn(size_t(rows_tab * half));
  for (int64_t i = 0; i < half; ++i) {
    const float inv_freq = 1.0f / std::pow(theta, float(2 * i) / float(HS));
    for (int64_t t = 0; t < rows_tab; ++t) {
      const float ang = float(pos_offset + t) * inv_freq;
      cs[size_t(t * half + i)] = std::cos(ang);
      sn[size_t(t * half + i)] = inverse ? -std::sin(ang) : std::sin(ang);
    }
  }
  const int64_t rows = B * T * NH;
// Light, memory-bound rotation: threads from 2^16 elements (decode steps stay on the caller).
  parallel_for_rows(rows * HS >= (1 << 16), rows, [&](int64_t r) {
    const int64_t bt = r / NH, t = positions ? positions[bt] : bt % T;
    const float* c = cs.data() + t * half;
    const float* s = sn.data() + t * half;
    const float* xr = x + r * HS;
    float* o = out + r * HS;
#pragma omp simd
    for (int64_t i = 0; i < half; ++i) {
      const float x1 = xr[i], x2 = xr[i + half];
      o[i] = x1 * c[i] - x2 * s[i];
      o[i + half] = x2 * c[i] + x1 * s[i];
    }
  });
}

}  // namespace olmo::cpu
