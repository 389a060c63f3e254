// The float32 outer-product GEMM pieces shared by lowplinear_gemm.cc (bf16 / q8_0 / f32 weights,
// converted panel by panel) and gemm_f32_panel.cc (float32 weights read in place): the register
// tile, the x row blocks with their x^T / y-buffer layout, the weight panel list and the y write-out.
// One copy, so both GEMMs keep the same summation order (gemm_f32_panel's outputs equal
// lowplinear_gemm's bit for bit, which matmul.test.ts checks).
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "olmo/ops/lowplinear.h"

namespace olmo::cpu {

// One register tile: NN W rows (LDW floats apart) x MZ vectors of x rows over kc columns.
// Expanded inside each ISA's tile() (so it compiles with that function's target attribute); the
// enclosing function provides xt (this row block's x^T from column k0 on: MZ * VL floats per k,
// 64-byte aligned), w (the tile's first W row), kc, yb (NN rows of MZ * VL floats, stored on the
// first k block, added to on later ones: `add`). VEC / SET1 / FMA / LOAD / STORE / ADD / ZERO: the
// ISA's intrinsics; CONSTRAINT: the asm register class ("v" zmm, "x" ymm); LDW: the W row stride
// (a compile-time constant for a converted panel, the weight's K when read in place).
#define OLMO_F32_OUTER_TILE(VEC, VL, LOAD, STORE, SET1, FMA, ADD, ZERO, CONSTRAINT, LDW)              \
  VEC acc[NN * MZ];                                                                                  \
  _Pragma("GCC unroll 32") for (int i = 0; i < NN * MZ; ++i) acc[i] = ZERO();                        \
  _Pragma("GCC unroll 2") for (int64_t k = 0; k < kc; ++k) {                                         \
    VEC xv[MZ];                                                                                      \
    for (int z = 0; z < MZ; ++z) xv[z] = LOAD(xt + k * (MZ * VL) + z * VL);                          \
    for (int n = 0; n < NN; ++n) {                                                                   \
      /* one broadcast per W row and k, kept in a register for its MZ FMAs (without the asm GCC  */  \
      /* folds it into each FMA as a memory operand: MZ loads instead of one) */                    \
      VEC b = SET1(w[n * (LDW) + k]);                                                                \
      asm("" : "+" CONSTRAINT(b));                                                                   \
      for (int z = 0; z < MZ; ++z) acc[n * MZ + z] = FMA(xv[z], b, acc[n * MZ + z]);                 \
    }                                                                                                \
  }                                                                                                  \
  /* yb rows are MZ * VL floats: accumulator i goes to yb + i * VL */                                 \
  if (add) {                                                                                         \
    _Pragma("GCC unroll 32") for (int i = 0; i < NN * MZ; ++i)                                       \
      STORE(yb + i * VL, ADD(LOAD(yb + i * VL), acc[i]));                                            \
  } else {                                                                                           \
    _Pragma("GCC unroll 32") for (int i = 0; i < NN * MZ; ++i) STORE(yb + i * VL, acc[i]);           \
  }

namespace outer_tiles {

// A block of x rows: [m0, m0 + mz * VL) (rows past M are zeros in x^T, their outputs dropped).
struct RowBlock {
  int64_t m0;
  int mz;        // vectors per k: 2, or 1 for a last block of <= VL rows
  int64_t xoff;  // first float of its x^T (K * mz * VL floats, k-major)
  int64_t yoff;  // first float of its panel_rows x (mz * VL) tile in a thread's y buffer
};

struct PanelRef {
  int w;       // index into ws
  int64_t r0;  // first W row
};

// Row blocks of two vectors (one for a last block of <= VL rows), with the floats their x^T and
// a thread's y buffer need in all.
inline std::vector<RowBlock> row_blocks(int64_t M, int64_t K, int VL, int64_t panel_rows, int64_t& xt_floats,
                                        int64_t& yb_floats) {
  std::vector<RowBlock> blocks;
  xt_floats = 0;
  yb_floats = 0;
  for (int64_t m0 = 0; m0 < M;) {
    const int mz = M - m0 <= VL ? 1 : 2;
    blocks.push_back({m0, mz, xt_floats, yb_floats});
    xt_floats += K * mz * VL;
    yb_floats += panel_rows * mz * VL;
    m0 += mz * VL;
  }
  return blocks;
}

// Work items: panels of panel_rows rows of every weight (a fused call's weights share one pass);
// rows_total: all weights' rows.
inline std::vector<PanelRef> weight_panels(const WeightRef* ws, int nw, int64_t panel_rows, int64_t& rows_total) {
  std::vector<PanelRef> panels;
  rows_total = 0;
  for (int i = 0; i < nw; ++i) {
    for (int64_t r0 = 0; r0 < ws[i].n; r0 += panel_rows) panels.push_back({i, r0});
    rows_total += ws[i].n;
  }
  return panels;
}

// y[m][r0 + n] = ybuf[n][m - m0] for the valid rows of both (rows of the panel, M of x).
inline void write_panel_y(const std::vector<RowBlock>& blocks, const float* ybuf, int VL, int64_t M, const WeightRef& w,
                          int64_t r0, int64_t rows) {
  for (const RowBlock& b : blocks) {
    const int64_t mw = b.mz * VL, mv = std::min<int64_t>(mw, M - b.m0);
    const float* yb = ybuf + b.yoff;
    for (int64_t m = 0; m < mv; ++m) {
      float* y = w.y + (b.m0 + m) * w.ldy + r0;
      for (int64_t n = 0; n < rows; ++n) y[n] = yb[n * mw + m];
    }
  }
}

}  // namespace outer_tiles
}  // namespace olmo::cpu
