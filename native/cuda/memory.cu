// CUDA memory for NativeBuffer. Errors become olmo::Error("CUDA_ERROR"), never aborts.
#include <cuda_runtime.h>

#include "olmo/check.h"
#include "olmo/ops/memory.h"
#include "common.cuh"

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

namespace olmo::cuda {

// Grow-only per-thread, per-device scratch (see common.cuh). cudaFree of the old block synchronises
// the device, so a kernel still reading it finishes first.
void* scratch(int dev, size_t nbytes) {
  struct Slot { void* p = nullptr; size_t n = 0; };
  thread_local Slot slots[64];
  OLMO_CHECK(dev >= 0 && dev < 64, "CUDA_ERROR", "scratch: device index " << dev, "");
  Slot& s = slots[dev];
  if (s.n >= nbytes && s.p) return s.p;
  CUDA_OK(cudaSetDevice(dev));
  if (s.p) cudaFree(s.p);
  s.p = nullptr;
  s.n = 0;
  size_t want = nbytes < 4096 ? 4096 : nbytes;
  cudaError_t e = cudaMalloc(&s.p, want);
  if (e != cudaSuccess) {
    cudaGetLastError();
    s.p = nullptr;
    OLMO_FAIL("OUT_OF_MEMORY", "cuda scratch: cannot allocate " << want << " bytes on cuda:" << dev, "free GPU memory or reduce the batch");
  }
  s.n = want;
  return s.p;
}

int sm_count(int dev) {
  static int cache[64] = {};
  if (dev < 0 || dev >= 64) return 108;
  if (!cache[dev]) {
    int n = 0;
    if (cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess || n <= 0) { cudaGetLastError(); n = 108; }
    cache[dev] = n;
  }
  return cache[dev];
}

}  // namespace olmo::cuda
