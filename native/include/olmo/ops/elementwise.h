// elementwise: fp32 unless noted; all pointers contiguous, n elements, out may alias an input.
//   add_f32:   out = alpha * a + beta * b        (add, sub, axpy, in-place gradient accumulation)
//   mul_f32:   out = a * b
//   scale_f32: out = s * a
//   fill_f32:  out = value
//   copy_strided: out (contiguous) = gather of a strided view; elem_size 1/2/4/8 bytes, any dtype.
//     With scatter=true the direction flips: the strided view is written from contiguous `src`.
//   cast: between float32, bfloat16, int32, uint16, uint32 (bf16 round-to-nearest-even)
//   round_bf16 (CPU only): out = bf16 values held in float32 (f32 -> bf16 -> f32) — amp_bf16's GEMM
//     operands on CPUs without AVX512-BF16, where sgemm reads them directly (native/cpu/gemm_bf16.cc)
#pragma once
#include <cstdint>

#include "olmo/tensor.h"

namespace olmo::cpu {
void add_f32(float* out, const float* a, const float* b, int64_t n, float alpha, float beta);
void mul_f32(float* out, const float* a, const float* b, int64_t n);
void scale_f32(float* out, const float* a, float s, int64_t n);
void fill_f32(float* out, float value, int64_t n);
void copy_strided(void* out, const void* src, int ndim, const int64_t* shape, const int64_t* strides, int64_t elem_size, bool scatter);
void cast(void* out, DType out_dtype, const void* src, DType src_dtype, int64_t n);
void round_bf16(float* out, const float* src, int64_t n);
}  // namespace olmo::cpu

namespace olmo::cuda {
void add_f32(int dev, float* out, const float* a, const float* b, int64_t n, float alpha, float beta);
void mul_f32(int dev, float* out, const float* a, const float* b, int64_t n);
void scale_f32(int dev, float* out, const float* a, float s, int64_t n);
void fill_f32(int dev, float* out, float value, int64_t n);
void copy_strided(int dev, void* out, const void* src, int ndim, const int64_t* shape, const int64_t* strides, int64_t elem_size, bool scatter);
void cast(int dev, void* out, DType out_dtype, const void* src, DType src_dtype, int64_t n);
}  // namespace olmo::cuda
