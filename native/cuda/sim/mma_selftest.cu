// Self-test of the simulator's tensor-core instructions (cusim.h) against the PTX ISA's fragment
// tables written out independently here, and against a plain matrix product (compare.cpp "mma").
// Simulator-only (lives in sim/, not built into the addon).
#include <cstdint>

#include "mma.cuh"

namespace olmo::cuda {
namespace {
__device__ uint16_t bits(const __nv_bfloat16& h) { return __bfloat16_as_ushort(h); }
__device__ uint32_t two(const __nv_bfloat16* p) { return uint32_t(bits(p[0])) | (uint32_t(bits(p[1])) << 16); }

// A [16][16] row-major, Bkn [16][8] (n contiguous), Bnk [8][16] (k contiguous), all bf16.
// out_hand / out_ld: D = A B (16x8 row-major) from hand-built fragments / from ldmatrix fragments.
// ld_regs[lane][0..3]: the ldmatrix.x4 registers of A (non-trans); ld_regs[lane][4..5]: x2.trans of
// Bkn; ld_regs[lane][6]: x1 of Bnk; ld_regs[lane][7]: x1.trans of Bkn.
__global__ void mma_selftest_k(const __nv_bfloat16* A, const __nv_bfloat16* Bkn, const __nv_bfloat16* Bnk, float* out_hand,
                               float* out_ld, float* out_ld_trans, uint32_t* ld_regs) {
  __shared__ __nv_bfloat16 As[16][24];  // padded rows (48 bytes, 16-byte aligned)
  __shared__ __nv_bfloat16 Bks[16][16];
  __shared__ __nv_bfloat16 Bns[8][24];
  const int lane = threadIdx.x, g = lane / 4, t = lane % 4;
  for (int i = lane; i < 256; i += 32) As[i / 16][i % 16] = A[i];
  for (int i = lane; i < 128; i += 32) { Bks[i / 8][i % 8] = Bkn[i]; Bns[i / 16][i % 16] = Bnk[i]; }
  __syncthreads();
  // 1. Fragments straight from the PTX table (global memory, no ldmatrix).
  uint32_t a[4] = {two(A + g * 16 + 2 * t), two(A + (g + 8) * 16 + 2 * t), two(A + g * 16 + 2 * t + 8), two(A + (g + 8) * 16 + 2 * t + 8)};
  uint32_t b[2];
  {
    const __nv_bfloat16 b0[2] = {Bkn[(2 * t) * 8 + g], Bkn[(2 * t + 1) * 8 + g]};
    const __nv_bfloat16 b1[2] = {Bkn[(2 * t + 8) * 8 + g], Bkn[(2 * t + 9) * 8 + g]};
    b[0] = two(b0);
    b[1] = two(b1);
  }
  float c[4] = {0, 0, 0, 0}, d[4];
  mma_bf16_16816(d, a, b, c);
  out_hand[g * 8 + 2 * t] = d[0];
  out_hand[g * 8 + 2 * t + 1] = d[1];
  out_hand[(g + 8) * 8 + 2 * t] = d[2];
  out_hand[(g + 8) * 8 + 2 * t + 1] = d[3];
  // 2. ldmatrix: A with .x4 (lane -> row lane%16, col 8*(lane/16)); B from [n][k] with .x2
  //    (lane -> row lane%8, col 8*((lane/8)%2)) and from [k][n] with .x2.trans (lane -> row lane%16).
  uint32_t la[4], lb[2], lbt[2], l1, l1t;
  ldmatrix_x4(la, &As[lane % 16][8 * (lane / 16)]);
  ldmatrix_x2(lb, &Bns[lane % 8][8 * ((lane / 8) % 2)]);
  ldmatrix_x2_trans(lbt, &Bks[lane % 16][0]);
  ldmatrix_x1(&l1, &Bns[lane % 8][0]);
  ldmatrix_x1_trans(&l1t, &Bks[lane % 8][0]);
  for (int r = 0; r < 4; ++r) ld_regs[lane * 8 + r] = la[r];
  ld_regs[lane * 8 + 4] = lbt[0];
  ld_regs[lane * 8 + 5] = lbt[1];
  ld_regs[lane * 8 + 6] = l1;
  ld_regs[lane * 8 + 7] = l1t;
  float e[4] = {1, 1, 1, 1};  // accumulate onto C = 1 to check the c operand too
  mma_bf16_16816(e, la, lb, e);
  float f[4] = {0, 0, 0, 0};
  mma_bf16_16816(f, la, lbt, f);
  for (int i = 0; i < 4; ++i) {
    const int row = g + 8 * (i / 2), col = 2 * t + (i & 1);
    out_ld[row * 8 + col] = e[i];
    out_ld_trans[row * 8 + col] = f[i];
  }
}
}  // namespace

void mma_selftest(const uint16_t* A, const uint16_t* Bkn, const uint16_t* Bnk, float* out_hand, float* out_ld, float* out_ld_trans,
                  uint32_t* ld_regs) {
  mma_selftest_k<<<1, 32>>>(reinterpret_cast<const __nv_bfloat16*>(A), reinterpret_cast<const __nv_bfloat16*>(Bkn),
                            reinterpret_cast<const __nv_bfloat16*>(Bnk), out_hand, out_ld, out_ld_trans, ld_regs);
}
}  // namespace olmo::cuda
