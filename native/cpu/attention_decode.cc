// attention_fwd_f32's one-query path (T == 1, no documents): a batch-1 decode step's attention,
// one query row per (batch, head) against the Tk cached keys (see attention_decode.h).
//
// Why a separate path: the tiled flash kernel (attention.cc) is built for many query rows. With
// one row it still allocated and zeroed a 66 KB scratch per call, transposed every 64-key tile of
// K with scalar loads and stores, and ran its 6x16 register GEMM with M = 1 (one 64-long FMA
// latency chain per 16 keys). Per decode step of the bench "small" model (8 heads of 64, Tk ~100)
// that was ~26 µs per layer on the calling thread alone (the other thread idle), ~200 µs of a
// ~2.3 ms q8_0 token; this path takes ~5 µs (bench/ops/attention-decode.cc; OLMO_ATTN_DECODE=0
// runs the tiled kernel instead, for comparing).
//
// Arithmetic: scores s_j = (q·scale)·k_j (8-lane partial sums over the head dimension, then a fixed
// tree — with AVX one hadd tree for eight keys), one max over all Tk scores, p_j = exp(s_j - max)
// by the same vexp8 polynomial as the tiled kernel, out = (Σ_j p_j v_j) / Σ_j p_j,
// lse = max + log Σ p_j. The tiled kernel sums in another
// order (per key sequentially over the head dimension; online rescaling per 64-key tile), so the
// two agree to float32 rounding, not bit for bit; both are checked against a float64 reference
// (tensor-cuda test/ops/attention.test.ts). Every T == 1 call takes this path — decodeLayer and the
// op-by-op block alike — so the fused decode stays identical to the op-by-op one.
#include "attention_decode.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "attention_vec8.h"
#include "parallel_for.h"

#if defined(__AVX__) && defined(__FMA__)
#include <immintrin.h>
#endif

namespace olmo::cpu {

namespace {

using namespace vec8;

// a · b over n floats: two 8-lane accumulators over 16-float steps, then 8s, then a scalar tail.
inline float dot(const float* a, const float* b, int64_t n) {
  v8 s0 = splat(0.f), s1 = splat(0.f);
  int64_t d = 0;
  for (; d + 16 <= n; d += 16) {
    s0 += ld8(a + d) * ld8(b + d);
    s1 += ld8(a + d + 8) * ld8(b + d + 8);
  }
  for (; d + 8 <= n; d += 8) s0 += ld8(a + d) * ld8(b + d);
  float s = hsum(s0 + s1);
  for (; d < n; ++d) s += a[d] * b[d];
  return s;
}

// s[j] = Q · k_j for the Tk keys (k_j at kb + j·ks). With AVX, eight keys at a time: eight 8-lane
// partial sums reduced by one hadd tree into the eight scores (a per-key horizontal sum cost more
// than the key's multiply-adds); the remaining keys and non-AVX builds through dot().
inline void scores(float* s, const float* Q, const float* kb, int64_t ks, int64_t Tk, int64_t HS) {
  int64_t j = 0;
#if defined(__AVX__) && defined(__FMA__)
  if (HS % 8 == 0) {
    for (; j + 8 <= Tk; j += 8) {
      __m256 a[8];
      for (int r = 0; r < 8; ++r) a[r] = _mm256_setzero_ps();
      for (int64_t d = 0; d < HS; d += 8) {
        const __m256 q = _mm256_loadu_ps(Q + d);
        for (int r = 0; r < 8; ++r) a[r] = _mm256_fmadd_ps(q, _mm256_loadu_ps(kb + (j + r) * ks + d), a[r]);
      }
      const __m256 h01 = _mm256_hadd_ps(a[0], a[1]), h23 = _mm256_hadd_ps(a[2], a[3]);
      const __m256 h45 = _mm256_hadd_ps(a[4], a[5]), h67 = _mm256_hadd_ps(a[6], a[7]);
      const __m256 lo = _mm256_hadd_ps(h01, h23), hi = _mm256_hadd_ps(h45, h67);  // keys 0-3 | 4-7 per 128-bit half
      _mm256_storeu_ps(s + j, _mm256_add_ps(_mm256_permute2f128_ps(lo, hi, 0x20), _mm256_permute2f128_ps(lo, hi, 0x31)));
    }
  }
#endif
  for (; j < Tk; ++j) s[j] = dot(Q, kb + j * ks, HS);
}

// out[0..n) = Σ_j p[j] · v[j * ldv + (0..n)], keys j in [0, Tk): the head dimension in chunks of
// 64 / 32 columns held in registers across the whole key loop, then 8s, then scalar columns.
inline void weighted_sum(float* out, const float* p, const float* v, int64_t ldv, int64_t Tk, int64_t n) {
  int64_t d = 0;
  // 64 columns: eight independent FMA chains per key (four left the FMA units waiting on latency).
  for (; d + 64 <= n; d += 64) {
    v8 a[8];
    for (int i = 0; i < 8; ++i) a[i] = splat(0.f);
    for (int64_t j = 0; j < Tk; ++j) {
      const float* vj = v + j * ldv + d;
      const v8 pj = splat(p[j]);
      for (int i = 0; i < 8; ++i) a[i] += pj * ld8(vj + 8 * i);
    }
    for (int i = 0; i < 8; ++i) st8(out + d + 8 * i, a[i]);
  }
  for (; d + 32 <= n; d += 32) {
    v8 a0 = splat(0.f), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t j = 0; j < Tk; ++j) {
      const float* vj = v + j * ldv + d;
      const v8 pj = splat(p[j]);
      a0 += pj * ld8(vj);
      a1 += pj * ld8(vj + 8);
      a2 += pj * ld8(vj + 16);
      a3 += pj * ld8(vj + 24);
    }
    st8(out + d, a0);
    st8(out + d + 8, a1);
    st8(out + d + 16, a2);
    st8(out + d + 24, a3);
  }
  for (; d + 8 <= n; d += 8) {
    v8 a0 = splat(0.f);
    for (int64_t j = 0; j < Tk; ++j) a0 += splat(p[j]) * ld8(v + j * ldv + d);
    st8(out + d, a0);
  }
  for (; d < n; ++d) {
    float a = 0.f;
    for (int64_t j = 0; j < Tk; ++j) a += p[j] * v[j * ldv + d];
    out[d] = a;
  }
}

// Per-thread scratch: the scaled query row and the Tk scores / probabilities (grown, then reused).
struct Scratch {
  std::vector<float> q, s;
};

void one_row(const float* q, const float* kb, const float* vb, float* dst, float* lse, int64_t Tk, int64_t ks, int64_t HS, float scale) {
  thread_local Scratch sc;
  if (int64_t(sc.q.size()) < HS) sc.q.resize(size_t(HS));
  if (int64_t(sc.s.size()) < Tk + 8) sc.s.resize(size_t(Tk + 8));
  float* Q = sc.q.data();
  float* s = sc.s.data();
  for (int64_t d = 0; d < HS; ++d) Q[d] = q[d] * scale;
  scores(s, Q, kb, ks, Tk, HS);
  const int64_t T8 = Tk / 8 * 8;
  v8 mxv = splat(-std::numeric_limits<float>::infinity());
  for (int64_t j = 0; j < T8; j += 8) mxv = vmax(mxv, ld8(s + j));
  float mx = hmax(mxv);
  for (int64_t j = T8; j < Tk; ++j) mx = std::max(mx, s[j]);
  // exp over the scores, 8 at a time; the last partial group is padded with the max (exp = 1,
  // never stored back into a used slot or summed).
  for (int64_t j = Tk; j < (Tk + 7) / 8 * 8; ++j) s[j] = mx;
  v8 sumv = splat(0.f);
  for (int64_t j = 0; j < T8; j += 8) {
    const v8 p = vexp8(ld8(s + j) - mx);
    st8(s + j, p);
    sumv += p;
  }
  float sum = hsum(sumv);
  if (T8 < Tk) {
    const v8 p = vexp8(ld8(s + T8) - mx);
    for (int64_t j = T8; j < Tk; ++j) {
      s[j] = p[j - T8];
      sum += s[j];
    }
  }
  weighted_sum(dst, s, vb, ks, Tk, HS);
  const float inv = 1.0f / sum;
  for (int64_t d = 0; d < HS; ++d) dst[d] *= inv;
  *lse = mx + std::log(sum);
}

}  // namespace

bool attention_decode_f32(const float* q, const float* k, const float* v, float* out, float* lse,
                          int64_t B, int64_t T, int64_t Tk, int64_t NH, int64_t NKV, int64_t HS,
                          float scale, const int32_t* doc_start, bool par) {
  if (T != 1 || Tk < 1 || doc_start != nullptr) return false;
  const int64_t rep = NH / NKV, qs = NH * HS, ks = NKV * HS;
  // One task per (batch, head); with T == 1 a query's row, its output row and its lse are all
  // indexed by b * NH + h. Causal or not, the one query (position Tk - 1) sees every key.
  // parallel_for_rows: a decode step (par false) must not enter libgomp at all (parallel_for.h).
  parallel_for_rows(par, B * NH, [&](int64_t task) {
    const int64_t b = task / NH, h = task % NH, g = h / rep;
    one_row(q + b * qs + h * HS, k + b * Tk * ks + g * HS, v + b * Tk * ks + g * HS, out + b * qs + h * HS, lse + task, Tk, ks, HS, scale);
  });
  return true;
}

}  // namespace olmo::cpu
