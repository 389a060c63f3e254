// Compares every olmo::cuda kernel, run on the CPU simulator (cusim.h), with the olmo::cpu kernel.
// Built and run by native/cuda/sim/run.sh.
#include <cmath>
#include <cstring>
#include <cstdio>
#include <random>
#include <tuple>
#include <vector>
#include <string>
#include "olmo/check.h"
#include "olmo/ops/adamw.h"
#include "olmo/ops/attention.h"
#include "olmo/ops/clamp.h"
#include "olmo/ops/crossentropy.h"
#include "olmo/ops/elementwise.h"
#include "olmo/ops/embedding.h"
#include "olmo/ops/gemm.h"
#include "olmo/ops/gradclip.h"
#include "olmo/ops/layernorm.h"
#include "olmo/ops/reduce.h"
#include "olmo/ops/rope.h"
#include "olmo/ops/swiglu.h"
#include "olmo/ops/lowplinear.h"
#include "olmo/tensor.h"
namespace olmo::cuda {  // native/cuda/sim/mma_selftest.cu
void mma_selftest(const uint16_t* A, const uint16_t* Bkn, const uint16_t* Bnk, float* out_hand, float* out_ld, float* out_ld_trans,
                  uint32_t* ld_regs);
}
using V = std::vector<float>;
static std::mt19937 rng(7);
static V rnd(size_t n, float s = 1, float shift = 0) { std::normal_distribution<float> d(0, s); V v(n); for (auto& x : v) x = d(rng) + shift; return v; }
static int fails = 0;
static void cmp(const std::string& what, const V& a, const V& b, double tol = 1e-5) {
  double num = 0, den = 0; bool nan = false;
  for (size_t i = 0; i < a.size(); ++i) { if (std::isnan(a[i]) != std::isnan(b[i])) nan = true; num += double(a[i] - b[i]) * (a[i] - b[i]); den += double(b[i]) * b[i]; }
  double e = std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
  bool ok = !nan && e <= tol && a.size() == b.size();
  if (!ok) ++fails;
  std::printf("%s %-60s rel err %.3g%s\n", ok ? "  ok " : "FAIL ", what.c_str(), e, nan ? " (NaN mismatch)" : "");
}
static const char* g_filter = nullptr;
static bool want(const char* family) { return !g_filter || std::strstr(g_filter, family); }

// Usage: compare [families]   e.g. compare attention,layernorm (default: all)
int main(int argc, char** argv) {
  using namespace olmo;
  if (argc > 1) g_filter = argv[1];
  if (want("mma")) { // the simulator's mma.sync / ldmatrix against the PTX fragment tables and a plain product
    V a = rnd(256), bkn = rnd(128);
    std::vector<uint16_t> ah(256), bknh(128), bnkh(128);
    for (int i = 0; i < 256; ++i) ah[i] = f32_to_bf16(a[i]);
    for (int k = 0; k < 16; ++k) for (int n = 0; n < 8; ++n) { bknh[k * 8 + n] = f32_to_bf16(bkn[k * 8 + n]); bnkh[n * 16 + k] = bknh[k * 8 + n]; }
    V ref(128), ref1(128), hand(128), ld(128), ldt(128);
    for (int m = 0; m < 16; ++m) for (int n = 0; n < 8; ++n) {
      double acc = 0; for (int k = 0; k < 16; ++k) acc += double(bf16_to_f32(ah[m * 16 + k])) * bf16_to_f32(bknh[k * 8 + n]);
      ref[m * 8 + n] = float(acc); ref1[m * 8 + n] = float(acc + 1);
    }
    std::vector<uint32_t> regs(32 * 8);
    cuda::mma_selftest(ah.data(), bknh.data(), bnkh.data(), hand.data(), ld.data(), ldt.data(), regs.data());
    cmp("mma m16n8k16 from PTX-table fragments", hand, ref, 1e-6);
    cmp("mma from ldmatrix.x4 A + ldmatrix.x2 B[n][k], C = 1", ld, ref1, 1e-6);
    cmp("mma from ldmatrix.x4 A + ldmatrix.x2.trans B[k][n]", ldt, ref, 1e-6);
    // ldmatrix registers against the PTX table: lane l holds (row l/4, cols 2(l%4), +1) of each 8x8
    // matrix (.trans: rows 2(l%4), +1 of col l/4), low half first.
    int bad = 0;
    auto pk = [](uint16_t lo, uint16_t hi) { return uint32_t(lo) | (uint32_t(hi) << 16); };
    for (int l = 0; l < 32; ++l) {
      const int r = l / 4, c = 2 * (l % 4);
      for (int m = 0; m < 4; ++m) {  // x4 matrices: (rows 0-7|8-15) x (cols 0-7|8-15), m = 2*colhalf + rowhalf
        const int r0 = r + 8 * (m % 2), c0 = c + 8 * (m / 2);
        bad += regs[l * 8 + m] != pk(ah[r0 * 16 + c0], ah[r0 * 16 + c0 + 1]);
      }
      for (int m = 0; m < 2; ++m) bad += regs[l * 8 + 4 + m] != pk(bknh[(c + 8 * m) * 8 + r], bknh[(c + 8 * m + 1) * 8 + r]);
      bad += regs[l * 8 + 6] != pk(bnkh[r * 16 + c], bnkh[r * 16 + c + 1]);
      bad += regs[l * 8 + 7] != pk(bknh[c * 8 + r], bknh[(c + 1) * 8 + r]);
    }
    std::printf("%s ldmatrix x1/x2/x4 (.trans) registers match the PTX table (%d mismatches)\n", bad ? "FAIL " : "  ok ", bad);
    if (bad) ++fails;
  }
  if (want("clamp") || want("swiglu")) { // clamp, swiglu
    size_t n = 1001; V x = rnd(n), g = rnd(n), u = rnd(n), d = rnd(n);
    V a(n), b(n), a2(n), b2(n);
    cpu::clamp_fwd_f32(a.data(), x.data(), -0.5f, 0.7f, n); cuda::clamp_fwd_f32(0, b.data(), x.data(), -0.5f, 0.7f, n); cmp("clamp fwd", b, a, 0);
    cpu::clamp_bwd_f32(a.data(), d.data(), x.data(), -0.5f, 0.7f, n); cuda::clamp_bwd_f32(0, b.data(), d.data(), x.data(), -0.5f, 0.7f, n); cmp("clamp bwd", b, a, 0);
    cpu::swiglu_fwd_f32(a.data(), g.data(), u.data(), n); cuda::swiglu_fwd_f32(0, b.data(), g.data(), u.data(), n); cmp("swiglu fwd", b, a);
    cpu::swiglu_bwd_f32(a.data(), a2.data(), d.data(), g.data(), u.data(), n); cuda::swiglu_bwd_f32(0, b.data(), b2.data(), d.data(), g.data(), u.data(), n);
    cmp("swiglu dgate", b, a); cmp("swiglu dup", b2, a2);
    // bf16 gate/up (amp_bf16 activation storage): CUDA vs CPU, and CPU vs the f32 kernel on the rounded values (exact)
    std::vector<uint16_t> gh(n), uh(n); V gr(n), ur(n), c(n), c2(n);
    for (size_t i = 0; i < n; ++i) { gh[i] = f32_to_bf16(g[i]); uh[i] = f32_to_bf16(u[i]); gr[i] = bf16_to_f32(gh[i]); ur[i] = bf16_to_f32(uh[i]); }
    cpu::swiglu_fwd_bf16in(a.data(), gh.data(), uh.data(), n); cuda::swiglu_fwd_bf16in(0, b.data(), gh.data(), uh.data(), n);
    cpu::swiglu_fwd_f32(c.data(), gr.data(), ur.data(), n); cmp("swiglu fwd bf16 in", b, a); cmp("swiglu fwd bf16 in = f32 on rounded (cpu)", a, c, 0);
    cpu::swiglu_bwd_bf16in(a.data(), a2.data(), d.data(), gh.data(), uh.data(), n); cuda::swiglu_bwd_bf16in(0, b.data(), b2.data(), d.data(), gh.data(), uh.data(), n);
    cpu::swiglu_bwd_f32(c.data(), c2.data(), d.data(), gr.data(), ur.data(), n);
    cmp("swiglu dgate bf16 in", b, a); cmp("swiglu dup bf16 in", b2, a2);
    cmp("swiglu dgate bf16 in = f32 on rounded (cpu)", a, c, 0); cmp("swiglu dup bf16 in = f32 on rounded (cpu)", a2, c2, 0);
    cuda::swiglu_bwd_bf16in(0, nullptr, b2.data(), d.data(), gh.data(), uh.data(), n); cmp("swiglu dup only bf16 in", b2, a2);
  }
  if (want("rope")) for (auto [B, T, NH, HS, theta, off] : std::vector<std::tuple<int,int,int,int,float,int>>{std::make_tuple(2, 13, 3, 16, 10000.f, 5), std::make_tuple(1, 300, 2, 128, 500000.f, 1000)}) {
    size_t n = size_t(B) * T * NH * HS; V x = rnd(n), a(n), b(n);
    for (bool inv : {false, true}) {
      cpu::rope_f32(a.data(), x.data(), B, T, NH, HS, theta, off, inv); cuda::rope_f32(0, b.data(), x.data(), B, T, NH, HS, theta, off, inv);
      cmp("rope HS=" + std::to_string(HS) + (inv ? " inverse" : ""), b, a, 2e-6);
    }
    V c = x; cuda::rope_f32(0, c.data(), c.data(), B, T, NH, HS, theta, off, true); cmp("rope in place", c, a, 2e-6);
  }
  if (want("rope")) { // explicit positions (packed documents restart at 0)
    int B = 2, T = 21, NH = 3, HS = 32; size_t n = size_t(B) * T * NH * HS; V x = rnd(n), a(n), b(n), r(n);
    std::vector<int32_t> pos(size_t(B) * T); for (int e = 0; e < B * T; ++e) pos[e] = (e % T) % 8 + (e / T) * 3;
    for (bool inv : {false, true}) {
      cpu::rope_f32(a.data(), x.data(), B, T, NH, HS, 10000.f, 0, inv, pos.data()); cuda::rope_f32(0, b.data(), x.data(), B, T, NH, HS, 10000.f, 0, inv, pos.data());
      cmp(std::string("rope positions") + (inv ? " inverse" : ""), b, a, 2e-6);
    }
  }
  if (want("embedding")) { // embedding
    int N = 51, Vv = 11, C = 24; std::vector<int32_t> ids(N); for (int i = 0; i < N; ++i) ids[i] = (i * 7) % Vv;
    V w = rnd(size_t(Vv) * C), a(size_t(N) * C), b(size_t(N) * C), d = rnd(size_t(N) * C), dwa(size_t(Vv) * C, 0), dwb(size_t(Vv) * C, 0);
    cpu::embedding_fwd_f32(a.data(), ids.data(), w.data(), N, Vv, C); cuda::embedding_fwd_f32(0, b.data(), ids.data(), w.data(), N, Vv, C); cmp("embedding fwd (float4)", b, a, 0);
    cpu::embedding_fwd_f32(a.data(), ids.data(), w.data(), N, Vv, 23); cuda::embedding_fwd_f32(0, b.data(), ids.data(), w.data(), N, Vv, 23); cmp("embedding fwd (scalar)", b, a, 0);
    cpu::embedding_bwd_f32(dwa.data(), ids.data(), d.data(), N, Vv, C); cuda::embedding_bwd_f32(0, dwb.data(), ids.data(), d.data(), N, Vv, C); cmp("embedding bwd", dwb, dwa, 1e-6);
    ids[3] = Vv; bool threw = false; V b0 = b;
    try { cuda::embedding_fwd_f32(0, b.data(), ids.data(), w.data(), N, Vv, C); } catch (const olmo::Error& e) { threw = e.code == "INVALID_ARGUMENT"; }
    std::printf("%s embedding bad id throws, nothing written\n", threw && b == b0 ? "  ok " : "FAIL "); if (!(threw && b == b0)) ++fails;
  }
  if (want("layernorm")) for (auto [N, C] : std::vector<std::pair<int,int>>{{37, 97}, {5, 2048}, {300, 64}, {3, 5}}) {
    size_t n = size_t(N) * C; V x = rnd(n, 1, 3), w = rnd(C), bs = rnd(C), d = rnd(n);
    for (int mode = 0; mode < 3; ++mode) {
      const float* W = mode ? w.data() : nullptr; const float* Bp = mode == 2 ? bs.data() : nullptr;
      V a(n), b(n), ma(N), mb(N), ra(N), rb(N);
      cpu::layernorm_fwd_f32(a.data(), ma.data(), ra.data(), x.data(), W, Bp, N, C, 1e-5f);
      cuda::layernorm_fwd_f32(0, b.data(), mb.data(), rb.data(), x.data(), W, Bp, N, C, 1e-5f);
      std::string tag = " N=" + std::to_string(N) + " C=" + std::to_string(C) + " mode=" + std::to_string(mode);
      cmp("layernorm fwd" + tag, b, a); cmp("layernorm mean" + tag, mb, ma); cmp("layernorm rstd" + tag, rb, ra);
      V dxa(n), dxb(n), dwa(C), dwb(C), dba(C), dbb(C);
      cpu::layernorm_bwd_f32(dxa.data(), mode ? dwa.data() : nullptr, mode == 2 ? dba.data() : nullptr, d.data(), x.data(), W, ma.data(), ra.data(), N, C);
      cuda::layernorm_bwd_f32(0, dxb.data(), mode ? dwb.data() : nullptr, mode == 2 ? dbb.data() : nullptr, d.data(), x.data(), W, ma.data(), ra.data(), N, C);
      cmp("layernorm dx" + tag, dxb, dxa, 2e-5); if (mode) cmp("layernorm dw" + tag, dwb, dwa); if (mode == 2) cmp("layernorm db" + tag, dbb, dba);
      if (mode == 2) continue;
      cpu::rmsnorm_fwd_f32(a.data(), ra.data(), x.data(), W, N, C, 1e-6f); cuda::rmsnorm_fwd_f32(0, b.data(), rb.data(), x.data(), W, N, C, 1e-6f);
      cmp("rmsnorm fwd" + tag, b, a); cmp("rmsnorm rstd" + tag, rb, ra);
      cpu::rmsnorm_bwd_f32(dxa.data(), mode ? dwa.data() : nullptr, d.data(), x.data(), W, ra.data(), N, C);
      cuda::rmsnorm_bwd_f32(0, dxb.data(), mode ? dwb.data() : nullptr, d.data(), x.data(), W, ra.data(), N, C);
      cmp("rmsnorm dx" + tag, dxb, dxa, 2e-5); if (mode) cmp("rmsnorm dw" + tag, dwb, dwa);
    }
  }
  if (want("crossentropy")) for (auto [N, Vv] : std::vector<std::pair<int,int>>{{37, 1001}, {3, 9000}, {4, 7}}) {
    size_t n = size_t(N) * Vv; V l = rnd(n, 3); std::vector<int32_t> t(N);
    for (int i = 0; i < N; ++i) t[i] = i % 7 == 3 ? -100 : (i * 131) % Vv;
    V la(N), lb(N), sa(N), sb(N), za(N), zb(N);
    cpu::cross_entropy_fwd_f32(la.data(), sa.data(), za.data(), 1e-4f, l.data(), t.data(), N, Vv, -100);
    cuda::cross_entropy_fwd_f32(0, lb.data(), sb.data(), zb.data(), 1e-4f, l.data(), t.data(), N, Vv, -100);
    std::string tag = " N=" + std::to_string(N) + " V=" + std::to_string(Vv);
    cmp("ce loss" + tag, lb, la); cmp("ce lse" + tag, sb, sa); cmp("ce zloss" + tag, zb, za);
    V gl = rnd(N), gz = rnd(N), da(n), db(n);
    cpu::cross_entropy_bwd_f32(da.data(), l.data(), sa.data(), t.data(), gl.data(), 1, 0.5f, gz.data(), 1, 1e-4f, N, Vv, -100);
    cuda::cross_entropy_bwd_f32(0, db.data(), l.data(), sa.data(), t.data(), gl.data(), 1, 0.5f, gz.data(), 1, 1e-4f, N, Vv, -100);
    cmp("ce dlogits (per-row g, z)" + tag, db, da);
    cpu::cross_entropy_bwd_f32(da.data(), l.data(), sa.data(), t.data(), gl.data(), 0, 0.1f, nullptr, 0, 0, N, Vv, -100);
    cuda::cross_entropy_bwd_f32(0, db.data(), l.data(), sa.data(), t.data(), gl.data(), 0, 0.1f, nullptr, 0, 0, N, Vv, -100);
    cmp("ce dlogits (scalar g)" + tag, db, da);
    t[1] = Vv; bool threw = false; V lb0 = lb;
    try { cuda::cross_entropy_fwd_f32(0, lb.data(), sb.data(), nullptr, 0, l.data(), t.data(), N, Vv, -100); } catch (const olmo::Error& e) { threw = e.code == "INVALID_ARGUMENT"; }
    std::printf("%s ce bad target throws, nothing written\n", threw && lb == lb0 ? "  ok " : "FAIL "); if (!(threw && lb == lb0)) ++fails;
  }
  if (want("reduce") || want("gradclip")) { // reduce
    V x = rnd(70001), a(1), b(1);
    cpu::sum_f32(a.data(), x.data(), 70001, 0.5f); cuda::sum_f32(0, b.data(), x.data(), 70001, 0.5f); cmp("sum", b, a, 1e-6);
    cpu::sum_f32(a.data(), x.data(), 0, 1.f); cuda::sum_f32(0, b.data(), x.data(), 0, 1.f); cmp("sum n=0", b, a, 0);
    V s = {2.5f}, oa(1000), ob(1000);
    cpu::broadcast_scalar_f32(oa.data(), s.data(), 0.3f, 1000); cuda::broadcast_scalar_f32(0, ob.data(), s.data(), 0.3f, 1000); cmp("broadcast", ob, oa, 0);
    V y = rnd(15); const float* xs[] = {x.data(), y.data(), y.data()}; int64_t ns[] = {70001, 15, 0};
    double A = cpu::sum_squares_f32(xs, ns, 3), Bq = cuda::sum_squares_f32(0, xs, ns, 3);
    cmp("sum_squares", V{float(Bq)}, V{float(A)}, 1e-7);
    double G1 = cpu::gradclip_sum_squares_f32(3, xs, ns), G2 = cuda::gradclip_sum_squares_f32(0, 3, xs, ns);
    cmp("gradclip sum_squares", V{float(G2)}, V{float(G1)}, 1e-7);
    V x1 = x, x2 = x, y1 = y, y2 = y; float* p1[] = {x1.data(), y1.data()}; float* p2[] = {x2.data(), y2.data()}; int64_t n2[] = {70001, 15};
    cpu::gradclip_scale_f32(2, p1, n2, 0.37f); cuda::gradclip_scale_f32(0, 2, p2, n2, 0.37f); cmp("gradclip scale", x2, x1, 0); cmp("gradclip scale 2", y2, y1, 0);
  }
  struct AC { int B, T, Tk, NH, NKV, HS; bool causal; };
  if (want("attention")) for (AC c : std::vector<AC>{{2, 37, 37, 4, 4, 16, true}, {1, 70, 70, 6, 2, 64, true}, {2, 5, 41, 4, 1, 32, true}, {1, 33, 50, 2, 2, 80, false},
                              {1, 65, 65, 2, 1, 128, true}, {1, 9, 9, 1, 1, 200, true}, {1, 1, 40, 2, 1, 64, true}, {1, 40, 40, 2, 2, 64, false}}) {
    size_t nq = size_t(c.B) * c.T * c.NH * c.HS, nk = size_t(c.B) * c.Tk * c.NKV * c.HS, nl = size_t(c.B) * c.NH * c.T;
    V q = rnd(nq), k = rnd(nk), v = rnd(nk), d = rnd(nq), oa(nq), ob(nq), la(nl), lb(nl);
    float sc = 1.f / std::sqrt(float(c.HS));
    cpu::attention_fwd_f32(q.data(), k.data(), v.data(), oa.data(), la.data(), c.B, c.T, c.Tk, c.NH, c.NKV, c.HS, sc, c.causal);
    cuda::attention_fwd_f32(0, q.data(), k.data(), v.data(), ob.data(), lb.data(), c.B, c.T, c.Tk, c.NH, c.NKV, c.HS, sc, c.causal);
    char tag[128]; std::snprintf(tag, sizeof tag, " B%d T%d Tk%d NH%d NKV%d HS%d %s", c.B, c.T, c.Tk, c.NH, c.NKV, c.HS, c.causal ? "causal" : "full");
    cmp(std::string("attn out") + tag, ob, oa, 1e-5); cmp(std::string("attn lse") + tag, lb, la, 1e-6);
    V dqa(nq), dqb(nq), dka(nk), dkb(nk), dva(nk), dvb(nk);
    cpu::attention_bwd_f32(q.data(), k.data(), v.data(), oa.data(), la.data(), d.data(), dqa.data(), dka.data(), dva.data(), c.B, c.T, c.Tk, c.NH, c.NKV, c.HS, sc, c.causal);
    cuda::attention_bwd_f32(0, q.data(), k.data(), v.data(), oa.data(), la.data(), d.data(), dqb.data(), dkb.data(), dvb.data(), c.B, c.T, c.Tk, c.NH, c.NKV, c.HS, sc, c.causal);
    cmp(std::string("attn dq") + tag, dqb, dqa, 1e-5); cmp(std::string("attn dk") + tag, dkb, dka, 1e-5); cmp(std::string("attn dv") + tag, dvb, dva, 1e-5);
  }
  // Packed documents (doc_start): lengths chosen to cross the 32/64 tiles of both kernels.
  if (want("attention")) for (AC c : std::vector<AC>{{2, 90, 90, 4, 2, 32, true}, {1, 70, 70, 2, 1, 64, true}, {1, 20, 45, 2, 2, 16, true}}) {
    size_t nq = size_t(c.B) * c.T * c.NH * c.HS, nk = size_t(c.B) * c.Tk * c.NKV * c.HS, nl = size_t(c.B) * c.NH * c.T;
    std::vector<int32_t> ds(size_t(c.B) * c.Tk);
    const int lens[] = {7, 33, 1, 19, 40, 5};
    for (int b = 0; b < c.B; ++b) {
      int start = 0, next = lens[b % 6], li = b;
      for (int p = 0; p < c.Tk; ++p) {
        if (p == next) { start = p; next = p + lens[++li % 6]; }
        ds[size_t(b) * c.Tk + p] = start;
      }
    }
    V q = rnd(nq), k = rnd(nk), v = rnd(nk), d = rnd(nq), oa(nq), ob(nq), la(nl), lb(nl);
    float sc = 1.f / std::sqrt(float(c.HS));
    cpu::attention_fwd_f32(q.data(), k.data(), v.data(), oa.data(), la.data(), c.B, c.T, c.Tk, c.NH, c.NKV, c.HS, sc, true, ds.data());
    cuda::attention_fwd_f32(0, q.data(), k.data(), v.data(), ob.data(), lb.data(), c.B, c.T, c.Tk, c.NH, c.NKV, c.HS, sc, true, ds.data());
    char tag[128]; std::snprintf(tag, sizeof tag, " docs B%d T%d Tk%d NH%d NKV%d HS%d", c.B, c.T, c.Tk, c.NH, c.NKV, c.HS);
    cmp(std::string("attn out") + tag, ob, oa, 1e-5); cmp(std::string("attn lse") + tag, lb, la, 1e-6);
    V dqa(nq), dqb(nq), dka(nk), dkb(nk), dva(nk), dvb(nk);
    cpu::attention_bwd_f32(q.data(), k.data(), v.data(), oa.data(), la.data(), d.data(), dqa.data(), dka.data(), dva.data(), c.B, c.T, c.Tk, c.NH, c.NKV, c.HS, sc, true, ds.data());
    cuda::attention_bwd_f32(0, q.data(), k.data(), v.data(), oa.data(), la.data(), d.data(), dqb.data(), dkb.data(), dvb.data(), c.B, c.T, c.Tk, c.NH, c.NKV, c.HS, sc, true, ds.data());
    cmp(std::string("attn dq") + tag, dqb, dqa, 1e-5); cmp(std::string("attn dk") + tag, dkb, dka, 1e-5); cmp(std::string("attn dv") + tag, dvb, dva, 1e-5);
  }
  // Tensor-core flash attention (attention_bf16.cu) against the CPU fp32 kernel run on the same
  // bf16-rounded q, k, v (and dout). Tolerance, derived: with the inputs rounded identically, the GPU
  // path adds one bf16 rounding of P (forward: O = bf16(P) V / l) or of P and dS (backward: dV =
  // bf16(P)^T dO, dQ = bf16(dS) K, dK = bf16(dS)^T Q); everything else is fp32 with exact bf16 products
  // (summation order only, ~1e-7). bf16 keeps 8 significant bits: the absolute rounding error is
  // uniform over one ulp = 2^-7 * 2^e, so the RMS relative error of a rounding is
  // 2^-7 / sqrt(12) * sqrt(E[1/m^2]) = 2^-7 / sqrt(24) = 1.6e-3 (mantissa m in [1, 2), E[1/m^2] ~ 1/2).
  // O_i = sum_j p_ij d_ij v_j / l has norm-wise relative error 1.6e-3 * sqrt(sum p^2 v^2) / |sum p v|
  // ~ 1.6e-3 for independent v (the same for dq, dk, dv with independent k, q, dO): tolerance 3e-3
  // (~2x). lse is fp32 from the fp32 P: 1e-6 as for the fp32 kernel. Against the unrounded fp32
  // reference, the input roundings add score errors sqrt(2) * 1.6e-3 (scale = 1/sqrt(HS), unit
  // inputs) and 1.6e-3 from v: sqrt(2.25^2 + 1.6^2 + 1.6^2)e-3 = 3.2e-3, tolerance 6e-3 (~2x).
  if (want("flash")) {
    auto rb = [](const V& x) { V y(x.size()); for (size_t i = 0; i < x.size(); ++i) y[i] = bf16_to_f32(f32_to_bf16(x[i])); return y; };
    struct FC { int B, T, Tk, NH, NKV, HS; bool causal; int docs; };
    for (FC c : std::vector<FC>{{1, 70, 70, 2, 1, 64, true, 0}, {1, 33, 80, 2, 2, 64, false, 0}, {1, 20, 90, 2, 1, 128, true, 0},
                                {1, 100, 100, 2, 2, 64, true, 1}, {2, 65, 65, 4, 2, 128, true, 0}}) {
      size_t nq = size_t(c.B) * c.T * c.NH * c.HS, nk = size_t(c.B) * c.Tk * c.NKV * c.HS, nl = size_t(c.B) * c.NH * c.T;
      std::vector<int32_t> ds;
      if (c.docs) {  // documents of lengths 7, 33, 1, 19, 40, 5, ... crossing the 64-key tiles
        ds.resize(size_t(c.B) * c.Tk);
        const int lens[] = {7, 33, 1, 19, 40, 5};
        for (int b = 0; b < c.B; ++b) {
          int start = 0, next = lens[b % 6], li = b;
          for (int p = 0; p < c.Tk; ++p) { if (p == next) { start = p; next = p + lens[++li % 6]; } ds[size_t(b) * c.Tk + p] = start; }
        }
      }
      const int32_t* dsp = c.docs ? ds.data() : nullptr;
      V q = rnd(nq), k = rnd(nk), v = rnd(nk), d = rnd(nq), qr = rb(q), kr = rb(k), vr = rb(v), dr = rb(d);
      V oa(nq), ob(nq), ou(nq), la(nl), lb(nl), lu(nl);
      const float sc = 1.f / std::sqrt(float(c.HS));
      cpu::attention_fwd_f32(qr.data(), kr.data(), vr.data(), oa.data(), la.data(), c.B, c.T, c.Tk, c.NH, c.NKV, c.HS, sc, c.causal, dsp);
      cpu::attention_fwd_f32(q.data(), k.data(), v.data(), ou.data(), lu.data(), c.B, c.T, c.Tk, c.NH, c.NKV, c.HS, sc, c.causal, dsp);
      char tag[128]; std::snprintf(tag, sizeof tag, " B%d T%d Tk%d NH%d NKV%d HS%d %s%s", c.B, c.T, c.Tk, c.NH, c.NKV, c.HS, c.causal ? "causal" : "full", c.docs ? " docs" : "");
      if (!cuda::attention_fwd_bf16(0, q.data(), k.data(), v.data(), ob.data(), lb.data(), c.B, c.T, c.Tk, c.NH, c.NKV, c.HS, sc, c.causal, dsp)) {
        std::printf("FAIL flash fwd%s: not launched\n", tag); ++fails; continue;
      }
      cmp(std::string("flash bf16 out") + tag, ob, oa, 3e-3); cmp(std::string("flash bf16 lse") + tag, lb, la, 1e-6);
      cmp(std::string("flash bf16 out vs unrounded fp32") + tag, ob, ou, 6e-3);
      // bf16-stored q/k/v (amp_bf16 activation storage): tiles copied, not rounded -> bit-identical
      auto bits = [](const V& x) { std::vector<uint16_t> h(x.size()); for (size_t i = 0; i < x.size(); ++i) h[i] = f32_to_bf16(x[i]); return h; };
      const std::vector<uint16_t> qh = bits(q), kh = bits(k), vh = bits(v);
      V oc(nq), lc(nl);
      if (!cuda::attention_fwd_bf16in(0, qh.data(), kh.data(), vh.data(), oc.data(), lc.data(), c.B, c.T, c.Tk, c.NH, c.NKV, c.HS, sc, c.causal, dsp)) {
        std::printf("FAIL flash fwd bf16 in%s: not launched\n", tag); ++fails; continue;
      }
      cmp(std::string("flash bf16-stored q/k/v out = fp32 in") + tag, oc, ob, 0); cmp(std::string("flash bf16-stored q/k/v lse = fp32 in") + tag, lc, lb, 0);
      if (!want("flashbwd")) continue;
      V dqa(nq), dqb(nq), dka(nk), dkb(nk), dva(nk), dvb(nk);
      cpu::attention_bwd_f32(qr.data(), kr.data(), vr.data(), oa.data(), la.data(), dr.data(), dqa.data(), dka.data(), dva.data(), c.B, c.T, c.Tk, c.NH, c.NKV, c.HS, sc, c.causal, dsp);
      if (!cuda::attention_bwd_bf16(0, q.data(), k.data(), v.data(), oa.data(), la.data(), d.data(), dqb.data(), dkb.data(), dvb.data(), c.B, c.T, c.Tk, c.NH, c.NKV, c.HS, sc, c.causal, dsp)) {
        std::printf("FAIL flash bwd%s: not launched\n", tag); ++fails; continue;
      }
      cmp(std::string("flash bf16 dq") + tag, dqb, dqa, 3e-3); cmp(std::string("flash bf16 dk") + tag, dkb, dka, 3e-3); cmp(std::string("flash bf16 dv") + tag, dvb, dva, 3e-3);
      V dqc(nq), dkc(nk), dvc(nk);
      if (!cuda::attention_bwd_bf16in(0, qh.data(), kh.data(), vh.data(), oa.data(), la.data(), d.data(), dqc.data(), dkc.data(), dvc.data(), c.B, c.T, c.Tk, c.NH, c.NKV, c.HS, sc, c.causal, dsp)) {
        std::printf("FAIL flash bwd bf16 in%s: not launched\n", tag); ++fails; continue;
      }
      cmp(std::string("flash bf16-stored q/k/v dq = fp32 in") + tag, dqc, dqb, 0); cmp(std::string("flash bf16-stored q/k/v dk = fp32 in") + tag, dkc, dkb, 0);
      cmp(std::string("flash bf16-stored q/k/v dv = fp32 in") + tag, dvc, dvb, 0);
    }
  }
  if (want("adamw")) { // adamw
    std::vector<int64_t> sz = {70000, 15, 1}; std::vector<V> P, G, M, Vs; for (auto s : sz) { P.push_back(rnd(s)); G.push_back(rnd(s)); M.push_back(V(s, 0)); Vs.push_back(V(s, 0)); }
    auto P2 = P, M2 = M, V2 = Vs; float lr[] = {1e-2f, 2e-3f, 1e-3f}, wd[] = {0.1f, 0, 0.01f};
    auto ptrs = [](std::vector<V>& a) { std::vector<float*> r; for (auto& x : a) r.push_back(x.data()); return r; };
    auto cp = [](std::vector<V>& a) { std::vector<const float*> r; for (auto& x : a) r.push_back(x.data()); return r; };
    for (int step = 1; step <= 3; ++step) {
      cpu::adamw_f32(3, ptrs(P).data(), cp(G).data(), ptrs(M).data(), ptrs(Vs).data(), sz.data(), lr, wd, 0.9f, 0.95f, 1e-8f, step);
      cuda::adamw_f32(0, 3, ptrs(P2).data(), cp(G).data(), ptrs(M2).data(), ptrs(V2).data(), sz.data(), lr, wd, 0.9f, 0.95f, 1e-8f, step);
    }
    for (int i = 0; i < 3; ++i) { cmp("adamw p " + std::to_string(i), P2[i], P[i], 1e-7); cmp("adamw m " + std::to_string(i), M2[i], M[i], 1e-7); cmp("adamw v " + std::to_string(i), V2[i], Vs[i], 1e-7); }
    bool f1 = cuda::adamw_all_finite_f32(0, 3, cp(G).data(), sz.data()); G[0][4567] = INFINITY; bool f2 = cuda::adamw_all_finite_f32(0, 3, cp(G).data(), sz.data());
    G[0][4567] = 0; G[2][0] = NAN; bool f3 = cuda::adamw_all_finite_f32(0, 3, cp(G).data(), sz.data());
    std::printf("%s adamw all_finite %d %d %d\n", f1 && !f2 && !f3 ? "  ok " : "FAIL ", f1, f2, f3); if (!(f1 && !f2 && !f3)) ++fails;
  }
  if (want("embedding")) { // bf16 table gather (the f32 paths are compared below)
    const int Vocab = 50, C = 37, N = 9;
    V w = rnd(size_t(Vocab) * C);
    std::vector<uint16_t> wb(w.size());
    for (size_t i = 0; i < w.size(); ++i) wb[i] = f32_to_bf16(w[i]);
    std::vector<int32_t> ids(N);
    for (int n = 0; n < N; ++n) ids[n] = (n * 17) % Vocab;
    V a(size_t(N) * C), b(size_t(N) * C);
    cpu::embedding_fwd_bf16(a.data(), ids.data(), wb.data(), N, Vocab, C);
    cuda::embedding_fwd_bf16(0, b.data(), ids.data(), wb.data(), N, Vocab, C);
    cmp("embedding fwd bf16", b, a, 0);
  }
  if (want("lowplinear")) { // bf16 and q8_0 weights, M = 1 (GEMV) and M = 3; CPU with float32 activations
    cpu::lowp_set_isa("native", false);
    const int N = 37, K = 160;
    for (int M : {1, 3}) {
      V x = rnd(size_t(M) * K), w = rnd(size_t(N) * K, 0.5f);
      std::vector<uint16_t> wb(w.size());
      for (size_t i = 0; i < w.size(); ++i) wb[i] = f32_to_bf16(w[i]);
      std::vector<BlockQ8_0> wq(size_t(N) * K / 32);
      for (size_t b = 0; b < wq.size(); ++b) {  // llama.cpp's quantize_row_q8_0_ref
        float amax = 0; for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(w[b * 32 + j]));
        const float d = amax / 127, id = d ? 1 / d : 0;
        wq[b].d = f32_to_f16(d);
        for (int j = 0; j < 32; ++j) wq[b].qs[j] = int8_t(std::lround(w[b * 32 + j] * id));
      }
      for (WeightFormat f : {WeightFormat::BF16, WeightFormat::Q8_0}) {
        V a(size_t(M) * N), b2(size_t(M) * N);
        const void* data = f == WeightFormat::BF16 ? static_cast<const void*>(wb.data()) : static_cast<const void*>(wq.data());
        WeightRef ra{f, data, N, a.data(), N}, rb{f, data, N, b2.data(), N};
        cpu::lowp_linear(x.data(), M, K, &ra, 1);
        cuda::lowp_linear(0, x.data(), M, K, &rb, 1);
        cmp(std::string("lowplinear ") + (f == WeightFormat::BF16 ? "bf16" : "q8_0") + " M=" + std::to_string(M), b2, a);
      }
    }
  }
  if (want("gemm")) { // gemm
    int B = 2, M = 67, N = 45, K = 130;
    for (int ta = 0; ta < 2; ++ta) for (int tb = 0; tb < 2; ++tb) {
      V A = rnd(size_t(B) * M * K), Bm = rnd(size_t(B) * K * N), Ca = rnd(size_t(B) * M * N), Cb = Ca;
      int lda = ta ? M : K, ldb = tb ? K : N;
      cpu::gemm_f32(ta, tb, M, N, K, 0.7f, A.data(), lda, M * K, Bm.data(), ldb, K * N, 0.3f, Ca.data(), N, M * N, B);
      cuda::gemm_f32(0, ta, tb, M, N, K, 0.7f, A.data(), lda, M * K, Bm.data(), ldb, K * N, 0.3f, Cb.data(), N, M * N, B);
      cmp("gemm ta=" + std::to_string(ta) + " tb=" + std::to_string(tb), Cb, Ca, 1e-6);
      std::vector<uint16_t> Ah(A.size()), Bh(Bm.size()); V Ar(A.size()), Br(Bm.size());
      for (size_t i = 0; i < A.size(); ++i) { Ah[i] = f32_to_bf16(A[i]); Ar[i] = bf16_to_f32(Ah[i]); }
      for (size_t i = 0; i < Bm.size(); ++i) { Bh[i] = f32_to_bf16(Bm[i]); Br[i] = bf16_to_f32(Bh[i]); }
      cpu::gemm_f32(ta, tb, M, N, K, 1.f, Ar.data(), lda, M * K, Br.data(), ldb, 0, 0.f, Ca.data(), N, M * N, B);
      cuda::gemm_bf16(0, ta, tb, M, N, K, 1.f, Ah.data(), lda, M * K, Bh.data(), ldb, 0, 0.f, Cb.data(), N, M * N, B);
      cmp("gemm_bf16 (shared B) ta=" + std::to_string(ta) + " tb=" + std::to_string(tb), Cb, Ca, 1e-6);
    }
  }
  if (want("gemm_bf16")) { // our tensor-core kernel (gemm_bf16.cu) vs cpu::gemm_bf16, edges off the 64x64x32 tile
    struct GC { int B, M, N, K; float alpha, beta; long sB; };
    for (GC c : std::vector<GC>{{2, 67, 45, 130, 1.f, 0.f, 1}, {1, 17, 83, 40, 0.7f, 0.3f, 1}, {3, 5, 9, 7, 1.f, 1.f, 0}, {1, 130, 70, 33, 1.f, 0.f, 1}})
      for (int ta = 0; ta < 2; ++ta) for (int tb = 0; tb < 2; ++tb) {
        const long M = c.M, N = c.N, K = c.K, sA = M * K, sB = c.sB * K * N, sC = M * N;
        V A = rnd(size_t(c.B) * sA), Bm = rnd(size_t(std::max(1L, c.sB * c.B)) * K * N), Ca = rnd(size_t(c.B) * sC), Cb = Ca;
        std::vector<uint16_t> Ah(A.size()), Bh(Bm.size());
        for (size_t i = 0; i < A.size(); ++i) Ah[i] = f32_to_bf16(A[i]);
        for (size_t i = 0; i < Bm.size(); ++i) Bh[i] = f32_to_bf16(Bm[i]);
        const long lda = ta ? M : K, ldb = tb ? K : N;
        cpu::gemm_bf16(ta, tb, M, N, K, c.alpha, Ah.data(), DType::BF16, lda, sA, Bh.data(), DType::BF16, ldb, sB, c.beta, Ca.data(), N, sC, c.B);
        const bool ran = cuda::gemm_bf16_mma(0, ta, tb, M, N, K, c.alpha, Ah.data(), lda, sA, Bh.data(), ldb, sB, c.beta, Cb.data(), N, sC, c.B);
        char tag[128]; std::snprintf(tag, sizeof tag, "gemm_bf16 mma B%d M%ld N%ld K%ld ta=%d tb=%d a=%.1f b=%.1f%s", c.B, M, N, K, ta, tb, c.alpha, c.beta, c.sB ? "" : " shared B");
        if (!ran) { std::printf("FAIL %s: not launched\n", tag); ++fails; continue; }
        // Both sides multiply the same bf16 values exactly in fp32 and sum in fp32: only the summation
        // order differs (relative error ~ K * 2^-24 at worst, far below 1e-5 for K <= 130).
        cmp(tag, Cb, Ca, 1e-5);
      }
  }
  if (want("elementwise")) { // elementwise
    size_t n = 777; V a = rnd(n), b = rnd(n), oa(n), ob(n);
    cpu::add_f32(oa.data(), a.data(), b.data(), n, 0.5f, -2.f); cuda::add_f32(0, ob.data(), a.data(), b.data(), n, 0.5f, -2.f); cmp("add", ob, oa, 0);
    int64_t shape[] = {7, 3, 37}, strides[] = {1, 7 * 37, 7};
    cpu::copy_strided(oa.data(), a.data(), 3, shape, strides, 4, false); cuda::copy_strided(0, ob.data(), a.data(), 3, shape, strides, 4, false); cmp("copy_strided", ob, oa, 0);
    std::vector<uint16_t> ha(n), hb(n);
    cpu::cast(ha.data(), DType::BF16, a.data(), DType::F32, n); cuda::cast(0, hb.data(), DType::BF16, a.data(), DType::F32, n);
    std::printf("%s cast f32->bf16 bit-exact\n", ha == hb ? "  ok " : "FAIL "); if (ha != hb) ++fails;
  }
  std::printf("%d failure(s)\n", fails);
  return fails != 0;
}
