// lowplinear GEMM on Intel AMX (M > 16: prefill, batches) for bf16 and q8_0 weights, float32 x and
// float32 outputs (see lowplinear_gemm.h). Compiled with -mamx-tile -mamx-bf16 -mamx-int8 for this
// translation unit only (native/CMakeLists.txt); the vector code carries target attributes, and
// lowplinear.cc calls in only when amx_usable() said yes (CPUID AMX-TILE/BF16/INT8 + the kernel's
// ARCH_REQ_XCOMP_PERM grant), so the file is safe in an OLMO_PORTABLE build on any x86 CPU.
//
// Layout (no weight packing): the WEIGHT is the A operand. A 16-row tile of W rows is loaded
// straight from the weight at its row stride, the activations are the B operand in AMX's "VNNI"
// layout (packed once per call; small), and the float32 / int32 C tile is yᵀ (16 W rows x 16 x
// rows), transposed on the way out. Work items: panels of 32 W rows (two A tiles) of every weight
// of a fused call, over the OpenMP team; the tile configuration is loaded per thread (TileScope).
// bf16 uses the 8 tile registers as C 0-3 (2 W-row tiles x 2 x-row tiles), A 4-5, B 6-7; q8_0 as
// two alternating sets C 0 / A 4 / B 6 and C 1 / A 5 / B 7 (see tile_q8).
//
// bf16: x stays float32 in effect: x = xh + xl with xh = bf16(x), xl = bf16(x − xh) (x − xh is
// exact in float32), and both TDPBF16PS passes accumulate into the same float32 C tile. The part
// of x dropped is x − xh − xl, |·| ≤ 2^-16·|x| (two roundings to 8-bit significands), so every
// product is exact up to that relative residual and the float32 accumulation (TDPBF16PS: a
// float32 FMA chain per output, round to nearest, denormal inputs and outputs flushed to zero).
// Non-finite x differ from the float32 path: x = ±Inf gives xl = NaN (Inf − Inf), so NaN outputs.
//
// q8_0: x quantized per 32-block by the decode GEMV's quantizer (lowplinear.cc), TDPBSSD on one
// block per tile op (A = 16 W rows x the 32 quants of block b: base + 2 bytes in each 34-byte
// block, at the row stride; B = the x block in [k/4][m][4] layout), so each C lane is the exact
// int32 block dot of the VNNI GEMM; the C tiles are stored and, per block, converted and scaled by
// dw[n]·dx[m] into float32 accumulators in order of blocks (only the float32 summation order
// differs from lowplinear_gemm_q8.cc). Two blocks cannot share one TDPBSSD (K = 64): their scales
// differ per (W row, x row), so their int32 dots must stay apart, and a K = 64 op with half of B
// zeroed does no more useful work than a K = 32 one.
//
// Bench: bench/ops/lowplinear-gemm.mjs, lowplinear-gemm-q8.mjs; end to end bench/model/prefill-amx.mjs
// (results in bench/model/LOWPREC.md, "AMX prefill GEMMs").
#include "lowplinear_gemm.h"

#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "olmo/tensor.h"
#include "panel_queue.h"

#if defined(__x86_64__) && defined(__linux__) && defined(__AMX_TILE__) && defined(__AMX_BF16__) && defined(__AMX_INT8__)
#define OLMO_AMX 1
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace olmo::cpu {

#ifdef OLMO_AMX

namespace {

constexpr long kArchReqXcompPerm = 0x1023;  // arch_prctl: request permission for an xstate component
constexpr long kXfeatureXtiledata = 18;     // the AMX tile data component
// Below ~2^20 multiply-adds one thread finishes before a team would have started (as the other GEMMs).
constexpr int64_t kParallelMacs = int64_t(1) << 20;

#define OLMO_AVX512AMX __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

// The 64-byte tile configuration (palette 1): per tile register bytes per row and rows.
struct alignas(64) TileConfig {
  uint8_t palette = 1, start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};
static_assert(sizeof(TileConfig) == 64, "tile config is 64 bytes");

// Loads `cfg` on this thread for the lifetime of the object (tile state is per thread; the
// release returns the thread to the init state so the kernel need not save 8 KiB on switches).
struct TileScope {
  explicit TileScope(const TileConfig& cfg) { _tile_loadconfig(&cfg); }
  ~TileScope() { _tile_release(); }
};

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
template <class T>
using Aligned = std::unique_ptr<T[], FreeDeleter>;
template <class T>
Aligned<T> aligned_zeros(int64_t n) {
  const size_t bytes = std::max<size_t>((size_t(n) * sizeof(T) + 63) / 64 * 64, 64);
  void* p = std::aligned_alloc(64, bytes);
  std::memset(p, 0, bytes);
  return Aligned<T>(static_cast<T*>(p));
}

struct PanelRef {
  int w;       // index into ws
  int64_t r0;  // first row (a multiple of 32 within its weight)
};

// Panels of up to 32 W rows (two A tiles) over every weight of a fused call.
std::vector<PanelRef> make_panels(const WeightRef* ws, int nw, int64_t* rows_total) {
  std::vector<PanelRef> panels;
  *rows_total = 0;
  for (int i = 0; i < nw; ++i) {
    for (int64_t r0 = 0; r0 < ws[i].n; r0 += 32) panels.push_back({i, r0});
    *rows_total += ws[i].n;
  }
  return panels;
}

// y[m0 + m][r0 + n] = c[n][m] for the valid m < mv, n < nv (C tile stored as 16 x 16 floats).
inline void store_transposed(const float* c, const WeightRef& w, int64_t m0, int64_t mv, int64_t r0, int64_t nv) {
  for (int64_t m = 0; m < mv; ++m) {
    float* y = w.y + (m0 + m) * w.ldy + r0;
    for (int64_t n = 0; n < nv; ++n) y[n] = c[n * 16 + m];
  }
}

// ------------------------------------------------------------------ bf16

// x in B-tile form: per 16-row x tile t and 32-column block kb, two 1 KiB tiles (xh, xl), each
// [16 k-pairs][16 rows][2] bf16; rows past M and columns past K are zeros.
OLMO_AVX512AMX void pack_x_bf16(const float* x, int64_t M, int64_t K, int64_t KB, uint16_t* xp, int64_t t0, int64_t t1) {
  alignas(64) uint32_t hi[16][16], lo[16][16];  // [row][k-pair]
  for (int64_t t = t0; t < t1; ++t) {
    for (int64_t kb = 0; kb < KB; ++kb) {
      const int64_t k0 = kb * 32, kc = std::min<int64_t>(32, K - k0);
      const __mmask32 mask = kc == 32 ? ~__mmask32(0) : (__mmask32(1) << kc) - 1;
      for (int m = 0; m < 16; ++m) {
        const int64_t row = t * 16 + m;
        __m512 a = _mm512_setzero_ps(), b = _mm512_setzero_ps();
        if (row < M) {
          a = _mm512_maskz_loadu_ps(__mmask16(mask), x + row * K + k0);
          b = _mm512_maskz_loadu_ps(__mmask16(mask >> 16), x + row * K + k0 + 16);
        }
        // round to nearest even; the residual x − xh is exact in float32
        const __m512bh h = _mm512_cvtne2ps_pbh(b, a);  // [a0..a15, b0..b15]
        const __m512i hv = (__m512i)h;
        const __m512 ah = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_castsi512_si256(hv)), 16));
        const __m512 bh = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(hv, 1)), 16));
        const __m512bh l = _mm512_cvtne2ps_pbh(_mm512_sub_ps(b, bh), _mm512_sub_ps(a, ah));
        _mm512_store_si512(hi[m], hv);
        _mm512_store_si512(lo[m], (__m512i)l);
      }
      uint32_t* dh = reinterpret_cast<uint32_t*>(xp + (t * KB + kb) * 1024);
      uint32_t* dl = dh + 256;
      for (int kp = 0; kp < 16; ++kp)
        for (int m = 0; m < 16; ++m) {
          dh[kp * 16 + m] = hi[m][kp];
          dl[kp * 16 + m] = lo[m][kp];
        }
    }
  }
}

// Bytes ahead of the k block being loaded at which each W row is prefetched (OLMO_AMX_ROW_PREFETCH=0:
// off). Why: a tile load reads 16 (or 32) rows K·2 bytes apart, more concurrent streams than the
// hardware prefetcher is likely to follow when W comes from memory; an earlier attempt found 512 B
// ahead helped. In this session's loaded runs of the cold harness (bench/ops/lowplinear-gemm-cold.cc)
// 256, 512, 1024 B and off measured the same (bench/model/LOWPREC.md, "Cold-weight prefill GEMMs"):
// kept switchable until a quiet measurement decides.
#ifndef OLMO_AMX_ROW_PREFETCH_BYTES  // overridable for the cold harness's sweeps only
#define OLMO_AMX_ROW_PREFETCH_BYTES 512
#endif
constexpr int64_t kRowPrefetchBytes = OLMO_AMX_ROW_PREFETCH_BYTES;

inline bool amx_row_prefetch_on() {
  static const bool v = env_switch_on("OLMO_AMX_ROW_PREFETCH");
  return v;
}

// Where a panel's W bytes are prefetched from, beside its tile math (panel_queue.h).
struct PanelPrefetch {
  const char* rows[2] = {nullptr, nullptr};  // W-row tile i read at its row stride (null: a padded copy)
  int64_t lda[2] = {0, 0};
  int64_t row_bytes = 0;                     // bytes of one W row (prefetch stops at the row's end)
  const char* next = nullptr;                // the thread's next panel (contiguous rows), or null
  int64_t next_bytes = 0;
  int64_t part0 = 0, parts = 1;              // this call's slices of `next`: [part0, part0 + KB) of parts
};

// One C block: NN W-row tiles (A 4, 5) x NM x-row tiles (B 6, 7) over all k blocks. a[i] / lda[i]:
// where W-row tile i's k block kb starts (a[i] + kb·64 bytes) and its row stride in bytes;
// tail[i]: the last k block from a zero-padded copy (K % 32 != 0) or null. xb[j]: x tile j's
// packed blocks. pf: prefetches per k block (rows ahead, then a slice of the next panel); they
// only move cache lines, so the C tiles are the same bits with or without them.
template <int NN, int NM>
void tiles_bf16(const char* const* a, const int64_t* lda, const char* const* tail, int64_t KB, const uint16_t* const* xb,
                float* cbuf, const PanelPrefetch& pf) {
  _tile_zero(0);
  if (NM > 1) _tile_zero(1);
  if (NN > 1) _tile_zero(2);
  if (NN > 1 && NM > 1) _tile_zero(3);
  for (int64_t kb = 0; kb < KB; ++kb) {
    const int64_t ahead = kb * 64 + kRowPrefetchBytes;
    for (int i = 0; i < NN; ++i)
      if (pf.rows[i] && ahead < pf.row_bytes)
        for (int r = 0; r < 16; ++r) _mm_prefetch(pf.rows[i] + r * pf.lda[i] + ahead, _MM_HINT_T0);
    prefetch_slice(pf.next, pf.next_bytes, pf.part0 + kb, pf.parts);
    // The last k block of a full W-row tile comes from its zero-padded copy when K % 32 != 0 (a
    // load at the row stride would read the next row's first columns, or past the weight).
    const bool last = kb == KB - 1;
    _tile_loadd(4, last && tail[0] ? tail[0] : a[0] + kb * 64, last && tail[0] ? 64 : lda[0]);
    if (NN > 1) _tile_loadd(5, last && tail[1] ? tail[1] : a[1] + kb * 64, last && tail[1] ? 64 : lda[1]);
    for (int part = 0; part < 2; ++part) {  // xh, then xl
      _tile_loadd(6, xb[0] + kb * 1024 + part * 512, 64);
      if (NM > 1) _tile_loadd(7, xb[1] + kb * 1024 + part * 512, 64);
      _tile_dpbf16ps(0, 4, 6);
      if (NM > 1) _tile_dpbf16ps(1, 4, 7);
      if (NN > 1) _tile_dpbf16ps(2, 5, 6);
      if (NN > 1 && NM > 1) _tile_dpbf16ps(3, 5, 7);
    }
  }
  _tile_stored(0, cbuf, 64);
  if (NM > 1) _tile_stored(1, cbuf + 256, 64);
  if (NN > 1) _tile_stored(2, cbuf + 512, 64);
  if (NN > 1 && NM > 1) _tile_stored(3, cbuf + 768, 64);
}

void gemm_bf16(const float* x, int64_t M, int64_t K, const WeightRef* ws, int nw) {
  const int64_t KB = (K + 31) / 32, MT = (M + 15) / 16;
  Aligned<uint16_t> xp = aligned_zeros<uint16_t>(MT * KB * 1024);
  int64_t rows_total = 0;
  const std::vector<PanelRef> panels = make_panels(ws, nw, &rows_total);
  const int64_t np = int64_t(panels.size());
  TileConfig cfg;
  for (int i = 0; i < 8; ++i) cfg.rows[i] = 16, cfg.colsb[i] = 64;
  PanelQueue queue(np);
  const bool claim_ahead = gemm_claim_ahead_on(), row_prefetch = amx_row_prefetch_on();
#pragma omp parallel if (M * rows_total * K >= kParallelMacs)
  {
#pragma omp for schedule(static)
    for (int64_t t = 0; t < MT; ++t) pack_x_bf16(x, M, K, KB, xp.get(), t, t + 1);
    TileScope scope(cfg);
    alignas(64) float cbuf[4 * 256];
    // A last W-row tile of < 16 rows: its rows (all of K, zero-padded to 16 rows x KB·32 columns).
    Aligned<uint16_t> part = aligned_zeros<uint16_t>(16 * KB * 32);
    // The last k block of both W-row tiles when K % 32 != 0, zero-padded to 32 columns.
    Aligned<uint16_t> tailbuf = aligned_zeros<uint16_t>(2 * 16 * 32);
    for (PanelCursor cur(queue, claim_ahead); cur.current() >= 0; cur.advance()) {
      const int64_t p = cur.current();
      const WeightRef& w = ws[panels[size_t(p)].w];
      PanelPrefetch pf;
      pf.row_bytes = K * 2;
      if (cur.ahead() >= 0) {
        const PanelRef& q = panels[size_t(cur.ahead())];
        pf.next = reinterpret_cast<const char*>(static_cast<const uint16_t*>(ws[q.w].data) + q.r0 * K);
        pf.next_bytes = std::min<int64_t>(32, ws[q.w].n - q.r0) * K * 2;
        pf.parts = ((MT + 1) / 2) * KB;  // one slice per k block of every tiles_bf16 call below
      }
      const uint16_t* wd = static_cast<const uint16_t*>(w.data);
      const int64_t r0 = panels[size_t(p)].r0, rows = std::min<int64_t>(32, w.n - r0);
      const int nn = rows > 16 ? 2 : 1;
      const char* a[2];
      int64_t lda[2];
      const char* tail[2] = {nullptr, nullptr};
      for (int i = 0; i < nn; ++i) {
        const int64_t rr0 = r0 + 16 * i, rv = std::min<int64_t>(16, w.n - rr0);
        if (rv == 16) {
          a[i] = reinterpret_cast<const char*>(wd + rr0 * K);
          lda[i] = K * 2;
          if (row_prefetch) pf.rows[i] = a[i], pf.lda[i] = lda[i];
          if (K % 32) {
            uint16_t* tb = tailbuf.get() + i * 512;
            std::memset(tb, 0, 1024);
            for (int r = 0; r < 16; ++r) std::memcpy(tb + r * 32, wd + (rr0 + r) * K + (KB - 1) * 32, size_t(K % 32) * 2);
            tail[i] = reinterpret_cast<const char*>(tb);
          }
        } else {
          std::memset(part.get(), 0, size_t(16 * KB * 32) * 2);
          for (int64_t r = 0; r < rv; ++r) std::memcpy(part.get() + r * KB * 32, wd + (rr0 + r) * K, size_t(K) * 2);
          a[i] = reinterpret_cast<const char*>(part.get());
          lda[i] = KB * 64;
          tail[i] = nullptr;  // the padded rows already hold zeros past K
        }
      }
      for (int64_t t = 0; t < MT; t += 2) {
        const int nm = t + 1 < MT ? 2 : 1;
        const uint16_t* xb[2] = {xp.get() + t * KB * 1024, xp.get() + (t + nm - 1) * KB * 1024};
        pf.part0 = (t / 2) * KB;
        if (nn == 2 && nm == 2) tiles_bf16<2, 2>(a, lda, tail, KB, xb, cbuf, pf);
        else if (nn == 2) tiles_bf16<2, 1>(a, lda, tail, KB, xb, cbuf, pf);
        else if (nm == 2) tiles_bf16<1, 2>(a, lda, tail, KB, xb, cbuf, pf);
        else tiles_bf16<1, 1>(a, lda, tail, KB, xb, cbuf, pf);
        // Rows already read by this call: prefetching them again on the next x tiles only costs.
        pf.rows[0] = pf.rows[1] = nullptr;
        for (int i = 0; i < nn; ++i)
          for (int j = 0; j < nm; ++j) {
            const int64_t m0 = (t + j) * 16;
            store_transposed(cbuf + (i * 2 + j) * 256, w, m0, std::min<int64_t>(16, M - m0), r0 + 16 * i,
                             std::min<int64_t>(16, rows - 16 * i));
          }
      }
    }
  }
}

// ------------------------------------------------------------------ q8_0

// One W-row tile (a: its first quant byte, block 0 + 2; lda: row stride) x one x-row tile (xq:
// its packed blocks, 512 bytes each; xs: its scales [nb][16]) over all nb blocks; dw: the 16 W
// rows' scales [nb][32] (this tile's at dw[b·32 + n]). Out: c[n][m] = Σ_b float(dot_b[n][m])·dw·dx,
// summed in order of blocks. Blocks alternate between two tile sets (C 0 / A 4 / B 6 and C 1 / A
// 5 / B 7), so the next block's TDPBSSD runs while this one's int32 tile is scaled; the 16
// float32 accumulator rows stay in registers. Measured against a 2 x 2 tile block (A and B tiles
// reused by 4 TDPBSSD, accumulators in L1): 0.37 vs 0.43 ms for N = K = 2048, M = 32, one thread
// (standalone harness, 2026-12-06, Emerald Rapids) — the scale pass, not the tile unit, is the
// bound (the 2 x 2 block without any scale pass: 0.26 ms).
// acc[n] += float(c[n]) · (dw[b·32 + n] · dx[b]) for the 16 rows of one stored int32 C tile.
OLMO_AVX512AMX inline __attribute__((always_inline)) void scale_q8(__m512 (&acc)[16], int64_t b, const int32_t* cc, const float* dw,
                                                                  const float* xs) {
  const __m512 sx = _mm512_load_ps(xs + b * 16);
  for (int n = 0; n < 16; ++n) {
    // dw·dx: both f16 values (11-bit significands), so the float32 product is exact.
    const __m512 sc = _mm512_mul_ps(sx, _mm512_set1_ps(dw[b * 32 + n]));
    acc[n] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(cc + n * 16)), sc, acc[n]);
  }
}

// pf / pf_bytes: a slice of the thread's next W panel, prefetched into L2 a few lines per block
// pair (the panel's first touch would otherwise be panel_scales' demand misses: ~25% of the time
// at N = K = 2048 in a perf profile). Measured with W from memory (4 copies rotated, M = 32, one
// thread, 9 alternated rounds, load ~5.5): CPU per call 1.06x (2048 x 2048), 1.23x (16384 x 2048)
// and 1.10x (2048 x 8192) faster than without it; small's q8_0 prefill 1.03x.
OLMO_AVX512AMX void tile_q8(const char* a, int64_t lda, int64_t nb, const float* dw, const int8_t* xq, const float* xs,
                            float* c, const char* pf, int64_t pf_bytes) {
  const int64_t pf_step = nb >= 2 ? (pf_bytes / (nb / 2) + 63) / 64 * 64 : pf_bytes;
  int64_t pf_done = 0;
  alignas(64) int32_t cb[2][256];
  __m512 acc[16];
  for (int n = 0; n < 16; ++n) acc[n] = _mm512_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    for (const int64_t e = std::min(pf_bytes, pf_done + pf_step); pf_done < e; pf_done += 64) _mm_prefetch(pf + pf_done, _MM_HINT_T1);
    _tile_zero(0);
    _tile_loadd(4, a + b * 34, lda);
    _tile_loadd(6, xq + b * 512, 64);
    _tile_dpbssd(0, 4, 6);
    _tile_stored(0, cb[0], 64);
    _tile_zero(1);
    _tile_loadd(5, a + (b + 1) * 34, lda);
    _tile_loadd(7, xq + (b + 1) * 512, 64);
    _tile_dpbssd(1, 5, 7);
    _tile_stored(1, cb[1], 64);
    scale_q8(acc, b, cb[0], dw, xs);
    scale_q8(acc, b + 1, cb[1], dw, xs);
  }
  for (; pf_done < pf_bytes; pf_done += 64) _mm_prefetch(pf + pf_done, _MM_HINT_T1);
  if (b < nb) {
    _tile_zero(0);
    _tile_loadd(4, a + b * 34, lda);
    _tile_loadd(6, xq + b * 512, 64);
    _tile_dpbssd(0, 4, 6);
    _tile_stored(0, cb[0], 64);
    scale_q8(acc, b, cb[0], dw, xs);
  }
  for (int n = 0; n < 16; ++n) _mm512_store_ps(c + n * 16, acc[n]);
}

// x tiles: per 16-row tile t and block b, [8 dword rows][16 x rows][4 bytes] at xp + (t·nb + b)·512
// and the 16 float32 scales at xsc + (t·nb + b)·16; rows past M stay zero (zero-filled buffers).
OLMO_AVX512AMX void pack_x_q8(const BlockQ8_0* xq, int64_t m, int64_t nb, int8_t* xp, float* xsc) {
  const int64_t t = m / 16, l = m % 16;
  for (int64_t b = 0; b < nb; ++b) {
    const BlockQ8_0& blk = xq[m * nb + b];
    int8_t* dst = xp + (t * nb + b) * 512 + l * 4;
    for (int d = 0; d < 8; ++d) std::memcpy(dst + d * 64, blk.qs + 4 * d, 4);
    xsc[(t * nb + b) * 16 + l] = _cvtsh_ss(blk.d);
  }
}

// The scales of W rows [r0, r0 + rows) as float32, dw[b·32 + r] (rows past `rows`: 0). Per block b
// one masked gather of 16 rows' scales (a dword at each row's block b: its f16 scale and the
// first two quants, truncated back to the scale by vpmovdw), one vcvtph2ps and one store per 16
// rows, instead of 32 scalar loads and converts per block: the same float32 values (f16 -> f32
// is exact either way). The gather offsets are int32: 15 rows of a weight (< 2^31 bytes) apart.
OLMO_AVX512AMX void panel_scales(const BlockQ8_0* wd, int64_t r0, int64_t rows, int64_t nb, float* dw) {
  const int64_t row_bytes = nb * int64_t(sizeof(BlockQ8_0));
  const __m512i offs = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                          _mm512_set1_epi32(int32_t(row_bytes)));
  for (int h = 0; h < 2; ++h) {
    const int64_t rv = std::clamp<int64_t>(rows - 16 * h, 0, 16);
    const __mmask16 valid = rv == 16 ? __mmask16(0xFFFF) : __mmask16((1u << rv) - 1);
    if (!valid) {
      for (int64_t b = 0; b < nb; ++b) _mm512_store_ps(dw + b * 32 + 16 * h, _mm512_setzero_ps());
      continue;
    }
    const char* base = reinterpret_cast<const char*>(wd + (r0 + 16 * h) * nb);
    for (int64_t b = 0; b < nb; ++b) {
      const __m512i d = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), valid, offs, base + b * sizeof(BlockQ8_0), 1);
      _mm512_store_ps(dw + b * 32 + 16 * h, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(d)));
    }
  }
}

void gemm_q8(const BlockQ8_0* xq, int64_t M, int64_t K, const WeightRef* ws, int nw) {
  const int64_t nb = K / 32, MT = (M + 15) / 16, row_bytes = nb * int64_t(sizeof(BlockQ8_0));
  // x tiles: [MT][nb][8 dword rows][16 x rows][4 bytes], scales [MT][nb][16] (zeros past M).
  Aligned<int8_t> xp = aligned_zeros<int8_t>(MT * nb * 512);
  Aligned<float> xsc = aligned_zeros<float>(MT * nb * 16);
  int64_t rows_total = 0;
  const std::vector<PanelRef> panels = make_panels(ws, nw, &rows_total);
  const int64_t np = int64_t(panels.size());
  // Panels are claimed one ahead (panel_queue.h): a thread knows its next panel and prefetches it.
  PanelQueue queue(np);
  const bool claim_ahead = gemm_claim_ahead_on();
  TileConfig cfg;
  for (int i = 0; i < 2; ++i) cfg.rows[i] = 16, cfg.colsb[i] = 64;  // C: 16 x 16 int32
  for (int i = 4; i < 6; ++i) cfg.rows[i] = 16, cfg.colsb[i] = 32;  // A: 16 W rows x 32 quants
  for (int i = 6; i < 8; ++i) cfg.rows[i] = 8, cfg.colsb[i] = 64;   // B: 8 dwords x 16 x rows
#pragma omp parallel if (M * rows_total * K >= kParallelMacs)
  {
#pragma omp for schedule(static)
    for (int64_t m = 0; m < M; ++m) pack_x_q8(xq, m, nb, xp.get(), xsc.get());
    TileScope scope(cfg);
    alignas(64) float cbuf[256];
    Aligned<float> dw = aligned_zeros<float>(nb * 32);
    // A last W-row tile of < 16 rows, zero-padded to 16 rows (zero blocks: scale 0, quants 0).
    Aligned<char> part = aligned_zeros<char>(16 * row_bytes);
    for (PanelCursor cur(queue, claim_ahead); cur.current() >= 0; cur.advance()) {
      const int64_t p = cur.current();
      const WeightRef& w = ws[panels[size_t(p)].w];
      const BlockQ8_0* wd = static_cast<const BlockQ8_0*>(w.data);
      // The thread's next panel, prefetched in slices by the tile calls below.
      const char* next = nullptr;
      int64_t next_bytes = 0;
      if (cur.ahead() >= 0) {
        const PanelRef& q = panels[size_t(cur.ahead())];
        next = reinterpret_cast<const char*>(static_cast<const BlockQ8_0*>(ws[q.w].data) + q.r0 * nb);
        next_bytes = std::min<int64_t>(32, ws[q.w].n - q.r0) * row_bytes;
      }
      const int64_t r0 = panels[size_t(p)].r0, rows = std::min<int64_t>(32, w.n - r0);
      const int nn = rows > 16 ? 2 : 1;
      panel_scales(wd, r0, rows, nb, dw.get());
      const char* a[2];
      int64_t lda[2];
      for (int i = 0; i < nn; ++i) {
        const int64_t rr0 = r0 + 16 * i, rv = std::min<int64_t>(16, w.n - rr0);
        const char* base = reinterpret_cast<const char*>(wd + rr0 * nb);
        if (rv < 16) {
          std::memset(part.get(), 0, size_t(16 * row_bytes));
          std::memcpy(part.get(), base, size_t(rv * row_bytes));
          base = part.get();
        }
        a[i] = base + 2;  // the quants of block 0 (after its f16 scale)
        lda[i] = row_bytes;
      }
      const int64_t calls = nn * MT, slice = (next_bytes / calls + 63) / 64 * 64;
      for (int i = 0; i < nn; ++i)
        for (int64_t t = 0; t < MT; ++t) {
          const int64_t o = std::min(next_bytes, (i * MT + t) * slice), e = std::min(next_bytes, o + slice);
          tile_q8(a[i], lda[i], nb, dw.get() + 16 * i, xp.get() + t * nb * 512, xsc.get() + t * nb * 16, cbuf, next + o, e - o);
          store_transposed(cbuf, w, t * 16, std::min<int64_t>(16, M - t * 16), r0 + 16 * i, std::min<int64_t>(16, rows - 16 * i));
        }
    }
  }
}

}  // namespace

bool amx_usable() {
  static const bool ok = [] {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    const bool amx_bf16 = d & (1u << 22), amx_tile = d & (1u << 24), amx_int8 = d & (1u << 25);
    if (!(amx_bf16 && amx_tile && amx_int8)) return false;
    // The tile data state is off until the process asks for it (Linux 5.16+; the kernel traps the
    // first tile instruction otherwise). The grant is process-wide (Documentation/arch/x86/
    // xstate.rst: ARCH_GET_XCOMP_PERM reports "the process wide permitted feature bitmap"), so
    // every thread, OpenMP's included whenever created, may then use the tiles; the tile
    // configuration itself is per thread (TileScope). The request fails, and we fall back, e.g.
    // when a thread's sigaltstack is too small for the larger signal frame.
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
  }();
  return ok;
}

bool lowp_gemm_bf16_amx(const float* x, int64_t M, int64_t K, const WeightRef* ws, int nw) {
  if (!amx_usable()) return false;
  gemm_bf16(x, M, K, ws, nw);
  return true;
}

bool lowp_gemm_q8_amx(const BlockQ8_0* xq, int64_t M, int64_t K, const WeightRef* ws, int nw) {
  if (!amx_usable()) return false;
  gemm_q8(xq, M, K, ws, nw);
  return true;
}

#else  // no AMX in this build (compiler without -mamx-*, non-x86, non-Linux)

bool amx_usable() { return false; }
bool lowp_gemm_bf16_amx(const float*, int64_t, int64_t, const WeightRef*, int) { return false; }
bool lowp_gemm_q8_amx(const BlockQ8_0*, int64_t, int64_t, const WeightRef*, int) { return false; }

#endif

}  // namespace olmo::cpu
