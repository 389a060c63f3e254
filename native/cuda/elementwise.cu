// elementwise on CUDA: grid-stride loops, same semantics as native/cpu/elementwise.cc.
#include <cstdint>

#include "common.cuh"
#include "olmo/ops/elementwise.h"

namespace olmo::cuda {

namespace {
__global__ void add_k(float* out, const float* a, const float* b, int64_t n, float alpha, float beta) {
  OLMO_CUDA_FOR(i, n) out[i] = alpha * a[i] + beta * b[i];
}
__global__ void mul_k(float* out, const float* a, const float* b, int64_t n) { OLMO_CUDA_FOR(i, n) out[i] = a[i] * b[i]; }
__global__ void scale_k(float* out, const float* a, float s, int64_t n) { OLMO_CUDA_FOR(i, n) out[i] = s * a[i]; }
__global__ void fill_k(float* out, float v, int64_t n) { OLMO_CUDA_FOR(i, n) out[i] = v; }

struct Dims { int nd; int64_t shape[16]; int64_t strides[16]; };

template <class T>
__global__ void copy_strided_k(T* out, const T* src, Dims d, int64_t n, bool scatter) {
  OLMO_CUDA_FOR(i, n) {
    int64_t rem = i, off = 0;
    for (int k = d.nd - 1; k >= 0; --k) { off += (rem % d.shape[k]) * d.strides[k]; rem /= d.shape[k]; }
    if (scatter) out[off] = src[i];
    else out[i] = src[off];
  }
}

__device__ float load_f32(const void* p, int d, int64_t i) {
  switch (d) {
    case 0: return static_cast<const float*>(p)[i];
    case 1: return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
    case 2: return float(static_cast<const int32_t*>(p)[i]);
    case 3: return float(static_cast<const uint16_t*>(p)[i]);
    default: return float(static_cast<const uint32_t*>(p)[i]);
  }
}
__device__ int64_t load_int(const void* p, int d, int64_t i) {
  switch (d) {
    case 2: return static_cast<const int32_t*>(p)[i];
    case 3: return static_cast<const uint16_t*>(p)[i];
    default: return static_cast<const uint32_t*>(p)[i];
  }
}
__global__ void cast_k(void* out, int od, const void* src, int sd, int64_t n) {
  bool ints = sd >= 2 && od >= 2;
  OLMO_CUDA_FOR(i, n) {
    if (ints) {
      int64_t v = load_int(src, sd, i);
      if (od == 2) static_cast<int32_t*>(out)[i] = int32_t(v);
      else if (od == 3) static_cast<uint16_t*>(out)[i] = uint16_t(v);
      else static_cast<uint32_t*>(out)[i] = uint32_t(v);
      continue;
    }
    float v = load_f32(src, sd, i);
    switch (od) {
      case 0: static_cast<float*>(out)[i] = v; break;
      case 1: static_cast<__nv_bfloat16*>(out)[i] = __float2bfloat16_rn(v); break;
      case 2: static_cast<int32_t*>(out)[i] = int32_t(v); break;
      case 3: static_cast<uint16_t*>(out)[i] = uint16_t(v); break;
      default: static_cast<uint32_t*>(out)[i] = uint32_t(v); break;
    }
  }
}
}  // namespace

void add_f32(int dev, float* out, const float* a, const float* b, int64_t n, float alpha, float beta) {
  cudaSetDevice(dev); add_k<<<grid_for(n), 256>>>(out, a, b, n, alpha, beta); OLMO_CUDA_LAUNCH_CHECK("add");
}
void mul_f32(int dev, float* out, const float* a, const float* b, int64_t n) {
  cudaSetDevice(dev); mul_k<<<grid_for(n), 256>>>(out, a, b, n); OLMO_CUDA_LAUNCH_CHECK("mul");
}
void scale_f32(int dev, float* out, const float* a, float s, int64_t n) {
  cudaSetDevice(dev); scale_k<<<grid_for(n), 256>>>(out, a, s, n); OLMO_CUDA_LAUNCH_CHECK("scale");
}
void fill_f32(int dev, float* out, float value, int64_t n) {
  cudaSetDevice(dev); fill_k<<<grid_for(n), 256>>>(out, value, n); OLMO_CUDA_LAUNCH_CHECK("fill");
}
void copy_strided(int dev, void* out, const void* src, int ndim, const int64_t* shape, const int64_t* strides, int64_t es, bool scatter) {
  Dims d{};
  d.nd = ndim;
  int64_t n = 1;
  for (int i = 0; i < ndim; ++i) { d.shape[i] = shape[i]; d.strides[i] = strides[i]; n *= shape[i]; }
  cudaSetDevice(dev);
  switch (es) {
    case 1: copy_strided_k<<<grid_for(n), 256>>>(static_cast<uint8_t*>(out), static_cast<const uint8_t*>(src), d, n, scatter); break;
    case 2: copy_strided_k<<<grid_for(n), 256>>>(static_cast<uint16_t*>(out), static_cast<const uint16_t*>(src), d, n, scatter); break;
    case 4: copy_strided_k<<<grid_for(n), 256>>>(static_cast<uint32_t*>(out), static_cast<const uint32_t*>(src), d, n, scatter); break;
    default: copy_strided_k<<<grid_for(n), 256>>>(static_cast<uint64_t*>(out), static_cast<const uint64_t*>(src), d, n, scatter); break;
  }
  OLMO_CUDA_LAUNCH_CHECK("copy_strided");
}
void cast(int dev, void* out, DType od, const void* src, DType sd, int64_t n) {
  cudaSetDevice(dev); cast_k<<<grid_for(n), 256>>>(out, int(od), src, int(sd), n); OLMO_CUDA_LAUNCH_CHECK("cast");
}

}  // namespace olmo::cuda
