// lowplinear: y = x · Wᵀ with W stored in a low-precision weight format (inference only, no
// backward). x f32 [M,K] (row stride K), W [N,K], y f32 written at y[m*ldy + n] (ldy >= N, so a
// fused call can write into column slices of one output). Accumulation is float32.
//
// Weight formats (the numbers are part of the JS <-> C++ contract, see ops/lowplinear.ts):
//   BF16 = 1: uint16 bfloat16 bits, row-major [N,K].
//   F32 = 0:  float32, row-major [N,K] (C++ callers only: gemm_f32's batch-1 GEMV and decodelayer;
//             the JS lowpLinear binding accepts BF16 and Q8_0).
//   Q8_0 = 8: llama.cpp's Q8_0: K % 32 == 0, each row is K/32 BlockQ8_0 {f16 scale d, int8 q[32]}
//             (34 bytes, packed), value = d * q.
//
// M == 1 (decode) is a GEMV that streams each weight once with the conversion fused into the dot
// product; 1 < M <= 16 runs the same GEMV kernels for every x row per weight row (W read once);
// M > 16 (prefill) is a panel GEMM (cpu/lowplinear_gemm.cc): each thread converts 16 rows x 512
// columns of W into a cache-resident float32 packing buffer and runs an FMA register tile over all x
// rows (never a float32 copy of a whole weight; the scalar/non-x86 path converts 128-row tiles for
// OpenBLAS instead); q8_0 weights with int8 activations take an int8 GEMM instead
// (cpu/lowplinear_gemm_q8.cc); on Intel AMX CPUs both bf16 and q8_0 M > 16 GEMMs run on the tile
// unit (cpu/lowplinear_gemm_amx.cc). Kernels are chosen at run time by CPU features (lowp_isa());
// OLMO_CPU_ISA=avx2|avx512|avx512bf16|scalar caps the choice, OLMO_AMX=0 turns AMX off (tests cover
// every path).
// q8_0 linears (GEMV and GEMM) quantize x per 32-block to int8 and use int8 dot products, as
// llama.cpp does, with one quantizer for every M (prefill and decode multiply the same operands);
// OLMO_Q8_ACT=f32 keeps float32 x against dequantized weights instead (see lowplinear.cc for the
// measurement behind the default).
#pragma once
#include <cstdint>

namespace olmo {

enum class WeightFormat : int { F32 = 0, BF16 = 1, Q8_0 = 8 };

#pragma pack(push, 1)
struct BlockQ8_0 {
  uint16_t d;     // f16 scale
  int8_t qs[32];  // quantized values
};
#pragma pack(pop)
static_assert(sizeof(BlockQ8_0) == 34, "Q8_0 blocks are 34 bytes");

// Bytes of a [N,K] weight in `fmt` (K % 32 == 0 for Q8_0).
inline int64_t weight_bytes(WeightFormat fmt, int64_t N, int64_t K) {
  if (fmt == WeightFormat::F32) return N * K * 4;
  return fmt == WeightFormat::BF16 ? N * K * 2 : N * (K / 32) * int64_t(sizeof(BlockQ8_0));
}

// One weight of a (possibly fused) call: rows [0,n) of W, outputs y[m*ldy + r].
struct WeightRef {
  WeightFormat fmt;
  const void* data;
  int64_t n;
  float* y;
  int64_t ldy;
};

}  // namespace olmo

namespace olmo::cpu {
// All weights share x (fused q/k/v or gate/up: one pass, one thread team).
void lowp_linear(const float* x, int64_t M, int64_t K, const WeightRef* ws, int nw);
// The kernel set in use: "amx", "avx512bf16", "avx512", "avx2" or "scalar", + "+q8act[-vnni]" when q8_0
// uses int8 activations.
const char* lowp_isa();
// Re-selects the kernels with `cap` as OLMO_CPU_ISA would (never above what the CPU has); returns
// the new lowp_isa(). Not thread-safe against running kernels (call it between ops).
const char* lowp_set_isa(const char* cap, bool q8act);
}  // namespace olmo::cpu

namespace olmo::cuda {
void lowp_linear(int dev, const float* x, int64_t M, int64_t K, const WeightRef* ws, int nw);
}  // namespace olmo::cuda
