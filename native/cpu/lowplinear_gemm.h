// lowplinear's M > 16 GEMM kernels (prefill, batches), private to native/cpu: lowplinear.cc picks
// one by CPU features / OLMO_CPU_ISA and calls it; lowplinear_gemm.cc holds the float32 ones,
// lowplinear_gemm_q8.cc the int8 ones.
#pragma once
#include <cstdint>

#include "olmo/ops/lowplinear.h"

namespace olmo::cpu {

// y = x · Wᵀ for every weight in ws (float32 x [M,K]), float32 accumulation. Each thread converts a
// panel of W (kGemmPanelRows rows × up to kGemmPanelK columns, a few dozen KiB, cache-resident) to
// float32 and multiplies every x row against it with an FMA register tile; the exact float32 x
// meets the exact widened weight, as in the GEMV kernels. Only on x86 builds (false elsewhere: the
// caller falls back to its portable path).
bool lowp_gemm_f32_avx512(const float* x, int64_t M, int64_t K, const WeightRef* ws, int nw);
bool lowp_gemm_f32_avx2(const float* x, int64_t M, int64_t K, const WeightRef* ws, int nw);

// q8_0 weights with int8 activations (lowplinear_gemm_q8.cc): xq = x quantized per row and 32-block
// by the decode GEMV's quantizer (M rows of K/32 blocks), every ws[i] in WeightFormat::Q8_0. The
// int32 block dots are those of the GEMV on the same row; only the float32 summation order
// differs. vnni512 needs AVX512-VNNI (+ BW, VL); avx2 is the maddubs form. False on non-x86 builds.
bool lowp_gemm_q8_vnni512(const BlockQ8_0* xq, int64_t M, int64_t K, const WeightRef* ws, int nw);
bool lowp_gemm_q8_avx2(const BlockQ8_0* xq, int64_t M, int64_t K, const WeightRef* ws, int nw);

// Intel AMX (lowplinear_gemm_amx.cc). amx_usable(): CPUID has AMX-TILE, AMX-BF16 and AMX-INT8 and
// the kernel granted this process the tile data state (arch_prctl ARCH_REQ_XCOMP_PERM, asked once);
// false in builds without AMX support. bf16: every ws[i] WeightFormat::BF16, x split into two
// bf16 halves (x − xh − xl ≤ 2^-16·|x| dropped), float32 accumulation. q8_0: as the int8 GEMMs
// above (same xq, the same exact int32 block dots; only the float32 summation order differs).
// False when AMX is not usable (the caller falls back).
bool amx_usable();
bool lowp_gemm_bf16_amx(const float* x, int64_t M, int64_t K, const WeightRef* ws, int nw);
bool lowp_gemm_q8_amx(const BlockQ8_0* xq, int64_t M, int64_t K, const WeightRef* ws, int nw);

}  // namespace olmo::cpu
