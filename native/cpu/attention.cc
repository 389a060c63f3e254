// attention on CPU: flash-style fused causal / non-causal attention with GQA and KV-cache offsets
// (see olmo/ops/attention.h for shapes and semantics).
//
// Tiling: BQ query rows x BK keys. Every product inside a tile (S = Q K^T, O += P V, dP = dO V^T,
// dV += P^T dO, dK += dS^T Q, dQ += dS K) is one call of a small register-blocked GEMM (mgemm:
// 6 rows x 16 columns of accumulators in vector registers, contiguous loads along the columns),
// written with GCC/Clang vector extensions, so it compiles to AVX2/FMA under -march=native and to
// SSE pairs in a portable build. exp() is a branch-free polynomial (vexp, ~1 ulp) that vectorises.
//
// Forward: parallel over (B, NH, query tiles); each task keeps its own running max / sum / output
//   accumulator and visits only the key tiles the causal mask allows.
// Backward: parallel over (B, kv head) — or (B, kv head, key tile) when there are fewer pairs than
//   2x the threads. A task owns the rows of dk/dv of its key tiles (race-free, summed over the query
//   heads of the group); dq is written directly when a task owns a whole (B, kv head) pair, else
//   through per-thread accumulators that are summed at the end.
#ifdef _OPENMP
#include <omp.h>
#else
inline int omp_get_max_threads() { return 1; }
inline int omp_get_num_threads() { return 1; }
inline int omp_get_thread_num() { return 0; }
#endif

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "attention_decode.h"
#include "attention_vec8.h"
#include "env_switch.h"
#include "olmo/check.h"
#include "olmo/ops/attention.h"

namespace olmo::cpu {

namespace {

constexpr int64_t BQ = 64;  // query rows per tile
constexpr int64_t BK = 64;  // keys per tile

using namespace vec8;

// exp(x) for x <= ~88 (Cephes expf polynomial, branch-free so loops over it vectorise).
inline float vexp(float x) {
  x = std::max(x, -87.0f);
  x = std::min(x, 88.0f);
  float n = std::floor(x * 1.44269504088896341f + 0.5f);
  float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500E-4f;
  p = p * r + 1.3981999507E-3f;
  p = p * r + 8.3334519073E-3f;
  p = p * r + 4.1665795894E-2f;
  p = p * r + 1.6666665459E-1f;
  p = p * r + 5.0000001201E-1f;
  float y = p * r * r + r + 1.0f;
  int32_t bits = (int32_t(n) + 127) << 23;
  float s;
  std::memcpy(&s, &bits, sizeof s);
  return y * s;
}

// C[R rows][16 j-block columns] (+)= A[R x K] * B[K x 16].
template <int R>
inline void mk16(int64_t K, const float* A, int64_t ars, int64_t aps, const float* B, int64_t ldb, float* C, int64_t ldc, bool acc) {
  v8 c0[R], c1[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    if (acc) {
      c0[r] = ld8(C + r * ldc);
      c1[r] = ld8(C + r * ldc + 8);
    } else {
      c0[r] = v8{};
      c1[r] = v8{};
    }
  }
  for (int64_t p = 0; p < K; ++p) {
    v8 b0 = ld8(B + p * ldb), b1 = ld8(B + p * ldb + 8);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      float a = A[r * ars + p * aps];
      c0[r] += a * b0;
      c1[r] += a * b1;
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    st8(C + r * ldc, c0[r]);
    st8(C + r * ldc + 8, c1[r]);
  }
}

// C[M x N] (+)= A[M x K] * B[K x N] (row-major, ldb). A[i][p] is A[i * ars + p * aps], so A may be
// row-major (ars = lda, aps = 1) or the transpose of a row-major matrix (ars = 1, aps = lda).
void mgemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t ars, int64_t aps, const float* B, int64_t ldb,
           float* C, int64_t ldc, bool acc) {
  const int64_t N16 = N / 16 * 16;
  int64_t i = 0;
  for (; i + 6 <= M; i += 6)
    for (int64_t j = 0; j < N16; j += 16) mk16<6>(K, A + i * ars, ars, aps, B + j, ldb, C + i * ldc + j, ldc, acc);
  for (; i + 4 <= M; i += 4)
    for (int64_t j = 0; j < N16; j += 16) mk16<4>(K, A + i * ars, ars, aps, B + j, ldb, C + i * ldc + j, ldc, acc);
  for (; i < M; ++i)
    for (int64_t j = 0; j < N16; j += 16) mk16<1>(K, A + i * ars, ars, aps, B + j, ldb, C + i * ldc + j, ldc, acc);
  if (N16 == N) return;
  for (int64_t r = 0; r < M; ++r) {
    float* c = C + r * ldc;
    if (!acc)
      for (int64_t j = N16; j < N; ++j) c[j] = 0.0f;
    for (int64_t p = 0; p < K; ++p) {
      const float a = A[r * ars + p * aps];
      const float* b = B + p * ldb;
#pragma omp simd
      for (int64_t j = N16; j < N; ++j) c[j] += a * b[j];
    }
  }
}

// dst[c][r] = src[r][c] for r < rows, c < cols.
inline void transpose(const float* src, int64_t lds, float* dst, int64_t ldd, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) dst[c * ldd + r] = src[r * lds + c];
}

struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};
using Scratch = std::unique_ptr<float, AlignedFree>;
inline Scratch scratch(int64_t n) {
  size_t bytes = (size_t(n) * sizeof(float) + 63) / 64 * 64;
  float* p = static_cast<float*>(std::aligned_alloc(64, bytes ? bytes : 64));
  if (p) std::memset(p, 0, bytes);
  return Scratch(p);
}

// Keys visible to query row i (absolute position off + i) among the nk keys starting at j0.
inline int64_t visible(bool causal, int64_t off, int64_t i, int64_t j0, int64_t nk) {
  if (!causal) return nk;
  return std::min(nk, std::max<int64_t>(0, off + i - j0 + 1));
}

// First key visible to query row i of batch b: the start of its document (0 without documents).
inline int64_t first_key(const int32_t* doc_start, int64_t b, int64_t Tk, int64_t off, int64_t i) {
  return doc_start ? doc_start[b * Tk + off + i] : 0;
}

// Lanes j..j+7 with lo <= lane < hi.
inline v8i lanes_between(int64_t j, int64_t lo, int64_t hi) {
  const v8i iota = {0, 1, 2, 3, 4, 5, 6, 7};
  const int32_t a = int32_t(std::clamp<int64_t>(lo - j, -1, 8)), z = int32_t(std::clamp<int64_t>(hi - j, 0, 8));
  return (iota >= v8i{a, a, a, a, a, a, a, a}) & (iota < v8i{z, z, z, z, z, z, z, z});
}

// Small problems (decode steps, tests) run on the calling thread: waking an OpenMP team costs more
// than the work.
inline bool worth_threads(int64_t B, int64_t T, int64_t Tk, int64_t NH, int64_t HS) {
  return double(B) * double(NH) * double(T) * double(Tk) * double(HS) > 2e5;
}

}  // namespace

void attention_fwd_f32(const float* q, const float* k, const float* v, float* out, float* lse,
                       int64_t B, int64_t T, int64_t Tk, int64_t NH, int64_t NKV, int64_t HS,
                       float scale, bool causal, const int32_t* doc_start) {
  if (B == 0 || T == 0 || NH == 0) return;
  const int64_t rep = NH / NKV, off = Tk - T, qs = NH * HS, ks = NKV * HS;
  const int64_t nqt = (T + BQ - 1) / BQ;
  const float ninf = -std::numeric_limits<float>::infinity();
  const bool par = worth_threads(B, T, Tk, NH, HS);
  // One query row (decode steps): attention_decode.cc, without the tiles' transposes and scratch.
  // OLMO_ATTN_DECODE=0 keeps such calls on the tiles below (for A/B measurements).
  static const bool decode_path = env_switch_on("OLMO_ATTN_DECODE");
  if (decode_path && attention_decode_f32(q, k, v, out, lse, B, T, Tk, NH, NKV, HS, scale, doc_start, par)) return;
  // The body runs inside a parallel region only when it is worth threads; otherwise it runs
  // directly (its orphaned `omp for` is then a plain loop), see parallel_for.h for why.
  auto body = [&] {
    Scratch buf = scratch(BQ * HS * 2 + HS * BK + BQ * BK + 2 * BQ);
    float* Q = buf.get();
    float* acc = Q + BQ * HS;
    float* Kt = acc + BQ * HS;
    float* S = Kt + HS * BK;
    float* m = S + BQ * BK;
    float* l = m + BQ;
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < B * NH * nqt; ++task) {
      const int64_t b = task / (NH * nqt), h = (task / nqt) % NH;
      const int64_t qt = nqt - 1 - task % nqt;  // heaviest (latest) query tiles first
      const int64_t g = h / rep, i0 = qt * BQ, nq = std::min(BQ, T - i0);
      for (int64_t r = 0; r < nq; ++r) {
        const float* src = q + (b * T + i0 + r) * qs + h * HS;
#pragma omp simd
        for (int64_t d = 0; d < HS; ++d) Q[r * HS + d] = src[d] * scale;
        std::fill(acc + r * HS, acc + (r + 1) * HS, 0.0f);
        m[r] = ninf;
        l[r] = 0.0f;
      }
      const int64_t kend = causal ? std::min(Tk, off + i0 + nq) : Tk;
      const float* kb = k + b * Tk * ks + g * HS;
      const float* vb = v + b * Tk * ks + g * HS;
      // With documents, key tiles before the earliest document start of this query tile are skipped.
      int64_t kfirst = Tk;
      for (int64_t r = 0; r < nq; ++r) kfirst = std::min(kfirst, first_key(doc_start, b, Tk, off, i0 + r));
      for (int64_t j0 = kfirst / BK * BK; j0 < kend; j0 += BK) {
        const int64_t nk = std::min(BK, kend - j0);
        transpose(kb + j0 * ks, ks, Kt, BK, nk, HS);
        mgemm(nq, nk, HS, Q, HS, 1, Kt, BK, S, BK, false);
        for (int64_t r = 0; r < nq; ++r) {
          float* s = S + r * BK;
          const int64_t nv = visible(causal, off, i0 + r, j0, nk);
          const int64_t lo = std::max<int64_t>(0, first_key(doc_start, b, Tk, off, i0 + r) - j0);
          if (nv <= lo) {
            std::fill(s, s + nk, 0.0f);
            continue;
          }
          const int64_t nv8 = (nv + 7) / 8 * 8;  // <= BK
          for (int64_t j = nv; j < nv8; ++j) s[j] = ninf;
          for (int64_t j = 0; j < lo; ++j) s[j] = ninf;
          v8 mxv = splat(m[r]);
          for (int64_t j = 0; j < nv8; j += 8) mxv = vmax(mxv, ld8(s + j));
          const float mx = hmax(mxv);
          const float alpha = m[r] == ninf ? 0.0f : vexp(m[r] - mx);
          v8 sumv = splat(0.0f);
          for (int64_t j = 0; j < nv8; j += 8) {
            v8 p = select(lanes_between(j, lo, nv), vexp8(ld8(s + j) - mx), splat(0.0f));
            st8(s + j, p);
            sumv += p;
          }
          const float sum = hsum(sumv);
          for (int64_t j = nv8; j < nk; ++j) s[j] = 0.0f;
          l[r] = l[r] * alpha + sum;
          m[r] = mx;
          if (alpha != 1.0f) {
            float* a = acc + r * HS;
#pragma omp simd
            for (int64_t d = 0; d < HS; ++d) a[d] *= alpha;
          }
        }
        mgemm(nq, HS, nk, S, BK, 1, vb + j0 * ks, ks, acc, HS, true);
      }
      for (int64_t r = 0; r < nq; ++r) {
        float* dst = out + (b * T + i0 + r) * qs + h * HS;
        const float inv = 1.0f / l[r];
        const float* a = acc + r * HS;
#pragma omp simd
        for (int64_t d = 0; d < HS; ++d) dst[d] = a[d] * inv;
        lse[(b * NH + h) * T + i0 + r] = m[r] + std::log(l[r]);
      }
    }
  };
  if (!par) {
    body();
    return;
  }
#pragma omp parallel
  body();
}

void attention_bwd_f32(const float* q, const float* k, const float* v, const float* out, const float* lse,
                       const float* dout, float* dq, float* dk, float* dv,
                       int64_t B, int64_t T, int64_t Tk, int64_t NH, int64_t NKV, int64_t HS,
                       float scale, bool causal, const int32_t* doc_start) {
  const int64_t nq_elems = B * T * NH * HS;
  if (B == 0 || NH == 0) return;
  if (T == 0) {
    std::fill(dk, dk + B * Tk * NKV * HS, 0.0f);
    std::fill(dv, dv + B * Tk * NKV * HS, 0.0f);
    return;
  }
  const int64_t rep = NH / NKV, off = Tk - T, qs = NH * HS, ks = NKV * HS;
  const int64_t nkt = (Tk + BK - 1) / BK;

  // D[b,h,i] = rowsum(dO o O).
  std::vector<float> D(size_t(B * NH * T));
  const bool par = worth_threads(B, T, Tk, NH, HS);
#pragma omp parallel for if (par)
  for (int64_t row = 0; row < B * T * NH; ++row) {
    const int64_t h = row % NH, bt = row / NH, b = bt / T, i = bt % T;
    const float* o = out + row * HS;
    const float* go = dout + row * HS;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t d = 0; d < HS; ++d) s += o[d] * go[d];
    D[(b * NH + h) * T + i] = s;
  }

  const int nthreads = par ? omp_get_max_threads() : 1;
  std::fill(dq, dq + nq_elems, 0.0f);
  // With enough (batch, kv head) pairs to keep every thread busy, a task owns one pair and all of
  // its key tiles: it is then the only writer of the dq rows of the group's query heads, and no
  // private buffers are needed. Otherwise tasks are single key tiles and threads other than 0 add
  // their dq contributions into private buffers (thread 0 uses dq itself), summed at the end.
  const bool per_group = nthreads == 1 || B * NKV >= 2 * int64_t(nthreads);
  std::vector<Scratch> dq_private(per_group ? 0 : size_t(nthreads - 1));
  for (auto& p : dq_private) {
    p = scratch(nq_elems);
    OLMO_CHECK(p, "OUT_OF_MEMORY", "attention backward: cannot allocate " << nq_elems * 4 << " bytes of dq scratch", "reduce the batch size or sequence length");
  }

#pragma omp parallel if (par)
  {
    const int tid = omp_get_thread_num();
    float* dqt = dq;
    const int team = omp_get_num_threads();
    if (!per_group && tid > 0) {
      dqt = dq_private[size_t(tid - 1)].get();
      std::fill(dqt, dqt + nq_elems, 0.0f);
    }
    Scratch buf = scratch(2 * HS * BK + 2 * BK * HS + 2 * BQ * HS + 2 * BQ * BK);
    float* Kt = buf.get();
    float* Vt = Kt + HS * BK;
    float* dKl = Vt + HS * BK;
    float* dVl = dKl + BK * HS;
    float* Qt = dVl + BK * HS;
    float* dOt = Qt + BQ * HS;
    float* S = dOt + BQ * HS;  // scores, then probabilities P
    float* dP = S + BQ * BK;   // dO V^T, then dS (scaled)
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < (per_group ? B * NKV : B * NKV * nkt); ++task) {
      const int64_t bg = per_group ? task : task / nkt, b = bg / NKV, g = bg % NKV;
      const int64_t kt_begin = per_group ? 0 : task % nkt, kt_end = per_group ? nkt : kt_begin + 1;
      for (int64_t kt = kt_begin; kt < kt_end; ++kt) {
      const int64_t j0 = kt * BK, nk = std::min(BK, Tk - j0);
      const float* krow = k + (b * Tk + j0) * ks + g * HS;
      const float* vrow = v + (b * Tk + j0) * ks + g * HS;
      transpose(krow, ks, Kt, BK, nk, HS);
      transpose(vrow, ks, Vt, BK, nk, HS);
      std::fill(dKl, dKl + BK * HS, 0.0f);
      std::fill(dVl, dVl + BK * HS, 0.0f);
      const int64_t ifirst = causal ? std::max<int64_t>(0, j0 - off) : 0;
      for (int64_t h = g * rep; h < (g + 1) * rep; ++h) {
        for (int64_t i0 = ifirst / BQ * BQ; i0 < T; i0 += BQ) {
          const int64_t nq = std::min(BQ, T - i0);
          for (int64_t r = 0; r < nq; ++r) {
            std::memcpy(Qt + r * HS, q + (b * T + i0 + r) * qs + h * HS, size_t(HS) * sizeof(float));
            std::memcpy(dOt + r * HS, dout + (b * T + i0 + r) * qs + h * HS, size_t(HS) * sizeof(float));
          }
          mgemm(nq, nk, HS, Qt, HS, 1, Kt, BK, S, BK, false);
          mgemm(nq, nk, HS, dOt, HS, 1, Vt, BK, dP, BK, false);
          for (int64_t r = 0; r < nq; ++r) {
            const int64_t nv = visible(causal, off, i0 + r, j0, nk);
            const float L = lse[(b * NH + h) * T + i0 + r], Dr = D[size_t((b * NH + h) * T + i0 + r)];
            float* s = S + r * BK;
            float* dp = dP + r * BK;
            const int64_t nv8 = (nv + 7) / 8 * 8;
            for (int64_t j = 0; j < nv8; j += 8) {
              v8 p = vexp8(ld8(s + j) * scale - L);
              st8(s + j, p);
              st8(dp + j, scale * p * (ld8(dp + j) - Dr));
            }
            for (int64_t j = nv; j < nk; ++j) s[j] = dp[j] = 0.0f;
            // Keys before the query's document start (exp above may be huge there; it is overwritten).
            const int64_t lo = std::min(nk, std::max<int64_t>(0, first_key(doc_start, b, Tk, off, i0 + r) - j0));
            for (int64_t j = 0; j < lo; ++j) s[j] = dp[j] = 0.0f;
          }
          mgemm(nk, HS, nq, S, 1, BK, dOt, HS, dVl, HS, true);   // dV += P^T dO
          mgemm(nk, HS, nq, dP, 1, BK, Qt, HS, dKl, HS, true);   // dK += dS^T Q
          mgemm(nq, HS, nk, dP, BK, 1, krow, ks, dqt + (b * T + i0) * qs + h * HS, qs, true);  // dQ += dS K
        }
      }
      for (int64_t j = 0; j < nk; ++j) {
        std::memcpy(dk + (b * Tk + j0 + j) * ks + g * HS, dKl + j * HS, size_t(HS) * sizeof(float));
        std::memcpy(dv + (b * Tk + j0 + j) * ks + g * HS, dVl + j * HS, size_t(HS) * sizeof(float));
      }
      }  // kt
    }
    // Sum the private dq buffers into dq (the implicit barrier above guarantees they are complete).
    if (!per_group)
#pragma omp for schedule(static)
    for (int64_t e = 0; e < nq_elems; ++e) {
      float s = dq[e];
      for (int t = 0; t < team - 1; ++t) s += dq_private[size_t(t)].get()[e];
      dq[e] = s;
    }
  }
}

}  // namespace olmo::cpu
