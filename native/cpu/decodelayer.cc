// decodelayer on CPU: one block for one token (see olmo/ops/decodelayer.h). Pure orchestration of
// the existing CPU kernels — the point is to replace ~20 N-API calls and ~25 tensor allocations
// per layer with one call and per-thread scratch buffers, not to compute anything differently.
#include "olmo/ops/decodelayer.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include "env_switch.h"
#include "work_pool.h"

#include "olmo/ops/attention.h"
#include "olmo/ops/clamp.h"
#include "olmo/ops/elementwise.h"
#include "olmo/ops/layernorm.h"
#include "olmo/ops/rope.h"
#include "olmo/ops/swiglu.h"

namespace olmo::cpu {

namespace {

// Scratch of one decode step, grown on first use and then reused (per thread: the addon may run
// on worker threads, and nothing here outlives the call).
struct Scratch {
  std::vector<float> a, q, k, v, att, o, h, g, u, stats;  // stats: norm mean/rstd, attention lse [NH]
  void fit(const DecodeLayerArgs& s) {
    auto grow = [](std::vector<float>& b, int64_t n) { if (int64_t(b.size()) < n) b.resize(size_t(n)); };
    grow(a, s.C); grow(q, s.NH * s.HS); grow(k, s.NKV * s.HS); grow(v, s.NKV * s.HS);
    grow(att, s.NH * s.HS); grow(o, s.C); grow(h, s.C); grow(g, s.I); grow(u, s.I);
    grow(stats, s.NH > 4 ? s.NH : 4);
  }
};

struct Out {
  const DecodeWeight* w;
  int64_t n;  // output features
  float* y;
};

// y_i = x · W_iᵀ for weights sharing x, in one lowp_linear call (one thread team). float32 weights
// go through the same F32 GEMV kernel that gemm_f32 uses for linear() at batch 1, and every row's
// dot product is independent of the others, so fusing changes no bit of the result.
void linears(const float* x, int64_t K, std::initializer_list<Out> outs) {
  WeightRef refs[3];
  int n = 0;
  for (const Out& o : outs) refs[n++] = WeightRef{o.w->fmt, o.w->data, o.n, o.y, o.n};
  lowp_linear(x, 1, K, refs, n);
}

void layer_norm(float* out, const float* x, int64_t n, float eps, float* stats) {
  layernorm_fwd_f32(out, stats, stats + 1, x, nullptr, nullptr, 1, n, eps);
}

void rms_norm(float* out, const float* x, const float* w, int64_t n, float eps, float* stats) {
  rmsnorm_fwd_f32(out, stats, x, w, 1, n, eps);
}

}  // namespace

void decode_layer(float* x, const DecodeLayerArgs& s) {
  // OLMO_POOL_BURST=1: keep work_pool.h's helpers awake between the GEMVs of this block
  // (PoolBurst), so that the GEMVs after the first skip the helper's wake-up and the q/k/v, out and
  // down GEMVs under the wake threshold are split too. Off by default: at load 7-9 on the shared
  // 2-vCPU Intel VM it measured slower (helpers spinning while other processes wanted the CPUs;
  // bench/model/LOWPREC.md, 2026-12-06), and no quiet machine was at hand to measure the case it
  // is for. OLMO_GEMV_POOL=0 (GEMVs on OpenMP) needs no pool helpers.
  static const bool burst_on = [] {
    const char* v = std::getenv("OLMO_POOL_BURST");
    return v && std::strcmp(v, "1") == 0 && env_switch_on("OLMO_GEMV_POOL");
  }();
  std::optional<PoolBurst> burst;
  if (burst_on) burst.emplace();
  thread_local Scratch sc;
  sc.fit(s);
  const int64_t C = s.C, NQ = s.NH * s.HS, NK = s.NKV * s.HS;
  float* st = sc.stats.data();

  // --- attention
  const float* a = x;
  if (!s.olmo2) {
    layer_norm(sc.a.data(), x, C, s.eps, st);
    a = sc.a.data();
  }
  linears(a, C, {{&s.q, NQ, sc.q.data()}, {&s.k, NK, sc.k.data()}, {&s.v, NK, sc.v.data()}});
  if (s.clip > 0) {
    clamp_fwd_f32(sc.q.data(), sc.q.data(), -s.clip, s.clip, NQ);
    clamp_fwd_f32(sc.k.data(), sc.k.data(), -s.clip, s.clip, NK);
    clamp_fwd_f32(sc.v.data(), sc.v.data(), -s.clip, s.clip, NK);
  }
  if (s.olmo2) {
    rms_norm(sc.q.data(), sc.q.data(), s.q_norm, NQ, s.eps, st);
    rms_norm(sc.k.data(), sc.k.data(), s.k_norm, NK, s.eps, st);
  }
  float* k_row = s.k_cache + s.pos * NK;
  float* v_row = s.v_cache + s.pos * NK;
  rope_f32(sc.q.data(), sc.q.data(), 1, 1, s.NH, s.HS, s.theta, s.pos, false);
  rope_f32(k_row, sc.k.data(), 1, 1, s.NKV, s.HS, s.theta, s.pos, false);  // rotated straight into the cache
  std::memcpy(v_row, sc.v.data(), size_t(NK) * sizeof(float));
  const float scale = float(1.0 / std::sqrt(double(s.HS)));  // as attention()'s default (JS double -> float)
  attention_fwd_f32(sc.q.data(), s.k_cache, s.v_cache, sc.att.data(), st, 1, 1, s.pos + 1, s.NH, s.NKV, s.HS, scale, true);
  linears(sc.att.data(), NQ, {{&s.o, C, sc.o.data()}});
  if (s.olmo2) rms_norm(sc.o.data(), sc.o.data(), s.post_attn_norm, C, s.eps, st);
  add_f32(sc.h.data(), x, sc.o.data(), C, 1.f, 1.f);

  // --- MLP
  const float* m = sc.h.data();
  if (!s.olmo2) {
    layer_norm(sc.a.data(), sc.h.data(), C, s.eps, st);
    m = sc.a.data();
  }
  linears(m, C, {{&s.gate, s.I, sc.g.data()}, {&s.up, s.I, sc.u.data()}});
  swiglu_fwd_f32(sc.g.data(), sc.g.data(), sc.u.data(), s.I);
  linears(sc.g.data(), s.I, {{&s.down, C, sc.o.data()}});
  if (s.olmo2) rms_norm(sc.o.data(), sc.o.data(), s.post_ff_norm, C, s.eps, st);
  add_f32(x, sc.h.data(), sc.o.data(), C, 1.f, 1.f);
}

}  // namespace olmo::cpu
