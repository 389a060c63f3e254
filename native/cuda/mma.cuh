// Warp-level tensor-core primitives (sm_80+): mma.sync m16n8k16 bf16 x bf16 -> f32 and ldmatrix.
// One header so that the kernels (gemm_bf16.cu, attention_bf16.cu) and the CUDA simulator
// (native/cuda/sim/cusim.h, which implements the same functions on the CPU) share one definition.
//
// Fragment layouts (PTX ISA, "Matrix Fragments for mma.m16n8k16 with floating point type"), per lane
// with g = lane / 4 (groupID) and t = lane % 4 (threadID_in_group); a 32-bit register holds two bf16,
// the lower-indexed element in the low 16 bits:
//   A (16x16, row-major)  a[0] = A[g][2t..2t+1]     a[1] = A[g+8][2t..2t+1]
//                         a[2] = A[g][2t+8..2t+9]   a[3] = A[g+8][2t+8..2t+9]
//   B (16x8,  "col")      b[0] = B[2t..2t+1][g]     b[1] = B[2t+8..2t+9][g]
//   C, D (16x8, f32)      c[0..1] = C[g][2t..2t+1]  c[2..3] = C[g+8][2t..2t+1]
// ldmatrix.m8n8.x{1,2,4}.b16 (PTX "ldmatrix"): lanes 8m..8m+7 give the shared-memory addresses of
//   the 8 rows (8 consecutive b16 = 16 bytes each) of matrix m; lane l receives in r[m] the elements
//   (row l/4, cols 2(l%4), 2(l%4)+1) of matrix m, or with .trans (rows 2(l%4), 2(l%4)+1 of col l/4).
//   So .x4 on a row-major 16x16 tile with lane l pointing at row l%16, col 8(l/16) yields exactly an
//   A fragment; .x2 on an [n][k] (k contiguous) tile yields a B fragment; .x2.trans on a [k][n]
//   (n contiguous) tile yields a B fragment too. Addresses must be 16-byte aligned.
// The C++ wrappers: mma_bf16_16816(d, a, b, c) computes d = A B + c (d may alias c).
#pragma once
#include <cstdint>

#include "common.cuh"

namespace olmo::cuda {

// Two floats rounded to bf16 (nearest even) packed as an mma operand register (lo = first).
__device__ __forceinline__ uint32_t pack_bf16x2(float lo, float hi) {
  const uint32_t l = __bfloat16_as_ushort(__float2bfloat16_rn(lo)), h = __bfloat16_as_ushort(__float2bfloat16_rn(hi));
  return l | (h << 16);
}

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
__device__ __forceinline__ void mma_bf16_16816(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};\n"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]), "f"(c[3]));
}
__device__ __forceinline__ void ldmatrix_x1(uint32_t r[1], const void* p) {
  const unsigned s = unsigned(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x1.shared.b16 {%0}, [%1];\n" : "=r"(r[0]) : "r"(s));
}
__device__ __forceinline__ void ldmatrix_x2(uint32_t r[2], const void* p) {
  const unsigned s = unsigned(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];\n" : "=r"(r[0]), "=r"(r[1]) : "r"(s));
}
__device__ __forceinline__ void ldmatrix_x4(uint32_t r[4], const void* p) {
  const unsigned s = unsigned(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(s));
}
__device__ __forceinline__ void ldmatrix_x1_trans(uint32_t r[1], const void* p) {
  const unsigned s = unsigned(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x1.trans.shared.b16 {%0}, [%1];\n" : "=r"(r[0]) : "r"(s));
}
__device__ __forceinline__ void ldmatrix_x2_trans(uint32_t r[2], const void* p) {
  const unsigned s = unsigned(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0,%1}, [%2];\n" : "=r"(r[0]), "=r"(r[1]) : "r"(s));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t r[4], const void* p) {
  const unsigned s = unsigned(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(s));
}
#define OLMO_HAVE_MMA 1
#elif defined(OLMO_CUSIM)
// The simulator (cusim.h) defines mma_bf16_16816 and ldmatrix_* in olmo::cuda.
#define OLMO_HAVE_MMA 1
#else
// Host pass and pre-sm_80 device passes: the kernels are compiled but never launched there
// (the host checks the device's compute capability first); trap if one ever is.
__device__ __forceinline__ void mma_bf16_16816(float*, const uint32_t*, const uint32_t*, const float*) { __trap(); }
__device__ __forceinline__ void ldmatrix_x1(uint32_t*, const void*) { __trap(); }
__device__ __forceinline__ void ldmatrix_x2(uint32_t*, const void*) { __trap(); }
__device__ __forceinline__ void ldmatrix_x4(uint32_t*, const void*) { __trap(); }
__device__ __forceinline__ void ldmatrix_x1_trans(uint32_t*, const void*) { __trap(); }
__device__ __forceinline__ void ldmatrix_x2_trans(uint32_t*, const void*) { __trap(); }
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t*, const void*) { __trap(); }
#define OLMO_HAVE_MMA 0
#endif

// Host: whether device `dev` has the sm_80+ tensor-core instructions above (cached per device).
inline bool has_mma(int dev) {
  static int cache[64] = {};  // 0 unknown, 1 no, 2 yes
  if (dev < 0 || dev >= 64) return false;
  if (!cache[dev]) {
    int major = 0;
    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess) { cudaGetLastError(); major = 0; }
    cache[dev] = major >= 8 ? 2 : 1;
  }
  return cache[dev] == 2;
}

}  // namespace olmo::cuda
