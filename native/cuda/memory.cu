// CUDA memory for NativeBuffer. Errors become olmo::Error("CUDA_ERROR"), never aborts.
#include <cuda_runtime.h>

#include "olmo/check.h"
#include "olmo/ops/memory.h"

namespace olmo::cuda {

#define CUDA_OK(expr)                                                                       \
  do {                                                                                      \
    cudaError_t e_ = (expr);                                                                \
    OLMO_CHECK(e_ == cudaSuccess, "CUDA_ERROR", #expr << ": " << cudaGetErrorString(e_), \
               "check the device index and free GPU memory");                              \
  } while (0)

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return 0;
  }
  return n;
}

std::string device_name(int dev) {
  cudaDeviceProp p;
  CUDA_OK(cudaGetDeviceProperties(&p, dev));
  return p.name;
}

void* alloc(int dev, size_t nbytes, bool zero) {
  CUDA_OK(cudaSetDevice(dev));
  void* p = nullptr;
  if (cudaMalloc(&p, nbytes ? nbytes : 1) != cudaSuccess) {
    cudaGetLastError();
    return nullptr;
  }
  if (zero) CUDA_OK(cudaMemset(p, 0, nbytes));
  return p;
}

void release(int dev, void* p) {
  cudaSetDevice(dev);
  cudaFree(p);
}

void copy_h2d(int dev, void* dst, const void* src, size_t n) { CUDA_OK(cudaSetDevice(dev)); CUDA_OK(cudaMemcpy(dst, src, n, cudaMemcpyHostToDevice)); }
void copy_d2h(int dev, void* dst, const void* src, size_t n) { CUDA_OK(cudaSetDevice(dev)); CUDA_OK(cudaMemcpy(dst, src, n, cudaMemcpyDeviceToHost)); }
void copy_d2d(int dev, void* dst, const void* src, size_t n) { CUDA_OK(cudaSetDevice(dev)); CUDA_OK(cudaMemcpy(dst, src, n, cudaMemcpyDeviceToDevice)); }
void memset_zero(int dev, void* p, size_t n) { CUDA_OK(cudaSetDevice(dev)); CUDA_OK(cudaMemset(p, 0, n)); }
void synchronize(int dev) { CUDA_OK(cudaSetDevice(dev)); CUDA_OK(cudaDeviceSynchronize()); }

}  // namespace olmo::cuda
