// Minimal CPU simulator for the olmo CUDA kernels: each block runs as blockDim std::threads,
// __syncthreads is a std::barrier, warp shuffles exchange through a per-warp buffer + barrier.
#pragma once
#include <atomic>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>
#include <algorithm>
#include <cstdio>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __constant__
#define __shared__ static

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};
struct uint3s { unsigned x = 0, y = 0, z = 0; };
struct float4 { float x, y, z, w; };
struct __nv_bfloat16 { uint16_t b; };
inline float __bfloat162float(__nv_bfloat16 h) { uint32_t u = uint32_t(h.b) << 16; float f; std::memcpy(&f, &u, 4); return f; }
inline __nv_bfloat16 __float2bfloat16_rn(float f) {
  uint32_t u; std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return {uint16_t((u >> 16) | 0x40)};
  u += 0x7fffu + ((u >> 16) & 1u);
  return {uint16_t(u >> 16)};
}

namespace cusim {
struct Block {
  int nt;
  std::barrier<> bar;
  std::vector<std::unique_ptr<std::barrier<>>> wbar;
  std::vector<uint64_t> wbuf;
  std::atomic<int> orflag{0};
  explicit Block(int n) : nt(n), bar(n), wbuf(size_t((n + 31) / 32) * 32) {
    for (int w = 0; w < (n + 31) / 32; ++w) wbar.emplace_back(new std::barrier<>(std::min(32, n - w * 32)));
  }
};
inline thread_local uint3s tIdx, bIdx;
inline thread_local dim3 bDim, gDim;
inline thread_local Block* blk = nullptr;
inline thread_local int tlin = 0;
inline thread_local char* dyn = nullptr;
inline std::mutex atomic_mu;
struct Cfg { dim3 g, b; size_t smem; };
inline Cfg cfg(dim3 g, dim3 b, size_t smem = 0) { return {g, b, smem}; }
// One std::thread per CUDA thread of a block; the threads walk the grid's blocks in order, with a
// block-wide barrier between blocks (kernels must not skip barriers: all threads of a block execute
// the same __syncthreads sequence, which olmo's kernels do).
template <class F>
void launch(Cfg c, F&& body) {
  const int nt = int(c.b.x * c.b.y * c.b.z);
  std::vector<char> smem(c.smem + 64, 0);
  Block bs(nt);
  std::vector<std::thread> ts;
  ts.reserve(nt);
  for (int t = 0; t < nt; ++t)
    ts.emplace_back([&, t] {
      tIdx = {unsigned(t % c.b.x), unsigned((t / c.b.x) % c.b.y), unsigned(t / (c.b.x * c.b.y))};
      bDim = c.b;
      gDim = c.g;
      blk = &bs;
      tlin = t;
      dyn = smem.data();
      for (unsigned z = 0; z < c.g.z; ++z)
        for (unsigned y = 0; y < c.g.y; ++y)
          for (unsigned x = 0; x < c.g.x; ++x) {
            bIdx = {x, y, z};
            body();
            bs.bar.arrive_and_wait();
          }
    });
  for (auto& th : ts) th.join();
}
template <class T>
T shfl(T v, int src) {
  const int w = tlin / 32, lane = tlin % 32;
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  blk->wbuf[size_t(w) * 32 + lane] = bits;
  blk->wbar[w]->arrive_and_wait();
  uint64_t r = blk->wbuf[size_t(w) * 32 + (src & 31)];
  blk->wbar[w]->arrive_and_wait();
  T out;
  std::memcpy(&out, &r, sizeof(T));
  return out;
}
}  // namespace cusim

#define threadIdx (cusim::tIdx)
#define blockIdx (cusim::bIdx)
#define blockDim (cusim::bDim)
#define gridDim (cusim::gDim)
inline void __syncthreads() { cusim::blk->bar.arrive_and_wait(); }
inline int __syncthreads_or(int p) {
  if (p) cusim::blk->orflag = 1;
  cusim::blk->bar.arrive_and_wait();
  int r = cusim::blk->orflag;
  cusim::blk->bar.arrive_and_wait();
  return r;
}
template <class T> T __shfl_sync(unsigned, T v, int src) { return cusim::shfl(v, src); }
template <class T> T __shfl_xor_sync(unsigned, T v, int m) { return cusim::shfl(v, (cusim::tlin % 32) ^ m); }
inline float atomicAdd(float* p, float v) { std::lock_guard<std::mutex> l(cusim::atomic_mu); float o = *p; *p = o + v; return o; }
inline int atomicExch(int* p, int v) { std::lock_guard<std::mutex> l(cusim::atomic_mu); int o = *p; *p = v; return o; }
using std::min;
using std::max;
using std::isfinite;

// ---- runtime API stubs (device memory = host memory) ----
enum cudaError_t { cudaSuccess = 0, cudaErrorMemoryAllocation = 2 };
enum cudaMemcpyKind { cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice };
enum cudaDeviceAttr { cudaDevAttrMultiProcessorCount };
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize };
struct cudaDeviceProp { char name[256]; };
inline const char* cudaGetErrorString(cudaError_t) { return "sim error"; }
inline cudaError_t cudaGetLastError() { return cudaSuccess; }
inline cudaError_t cudaSetDevice(int) { return cudaSuccess; }
inline cudaError_t cudaGetDeviceCount(int* n) { *n = 1; return cudaSuccess; }
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int) { std::strcpy(p->name, "cusim"); return cudaSuccess; }
inline cudaError_t cudaDeviceGetAttribute(int* v, cudaDeviceAttr, int) { *v = 3; return cudaSuccess; }
inline cudaError_t cudaMalloc(void** p, size_t n) { *p = std::malloc(n); return *p ? cudaSuccess : cudaErrorMemoryAllocation; }
inline cudaError_t cudaFree(void* p) { std::free(p); return cudaSuccess; }
inline cudaError_t cudaMemcpy(void* d, const void* s, size_t n, cudaMemcpyKind) { std::memcpy(d, s, n); return cudaSuccess; }
inline cudaError_t cudaMemset(void* p, int v, size_t n) { std::memset(p, v, n); return cudaSuccess; }
inline cudaError_t cudaMemsetAsync(void* p, int v, size_t n) { std::memset(p, v, n); return cudaSuccess; }
inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
template <class T> cudaError_t cudaMemcpyToSymbol(T& sym, const void* src, size_t n) { std::memcpy(&sym, src, n); return cudaSuccess; }
template <class K> cudaError_t cudaFuncSetAttribute(K, cudaFuncAttribute, int) { return cudaSuccess; }
