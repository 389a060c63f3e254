// Minimal CPU simulator for the olmo CUDA kernels: each block runs as blockDim std::threads,
// __syncthreads is a std::barrier, warp shuffles exchange through a per-warp buffer + barrier.
#pragma once
#define OLMO_CUSIM 1
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
#define __align__(n) __attribute__((aligned(n)))

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};
struct uint3s { unsigned x = 0, y = 0, z = 0; };
struct float4 { float x, y, z, w; };
struct __nv_bfloat16 { uint16_t b; };
inline float __bfloat162float(__nv_bfloat16 h) { uint32_t u = uint32_t(h.b) << 16; float f; std::memcpy(&f, &u, 4); return f; }
inline uint16_t __bfloat16_as_ushort(__nv_bfloat16 h) { return h.b; }
inline __nv_bfloat16 __ushort_as_bfloat16(uint16_t u) { return {u}; }
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
  std::vector<uint32_t> mbuf;  // per-warp mma operand exchange: 32 lanes x 6 registers
  std::atomic<int> orflag{0};
  explicit Block(int n) : nt(n), bar(n), wbuf(size_t((n + 31) / 32) * 32), mbuf(size_t((n + 31) / 32) * 32 * 6) {
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
enum cudaDeviceAttr { cudaDevAttrMultiProcessorCount, cudaDevAttrComputeCapabilityMajor };
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize };
struct cudaDeviceProp { char name[256]; };
// Streams exist only as a type (gemm_lt.cu passes the default stream to cuBLASLt, which never loads here).
using cudaStream_t = struct CUstream_st*;
inline const char* cudaGetErrorString(cudaError_t) { return "sim error"; }
inline cudaError_t cudaGetLastError() { return cudaSuccess; }
inline cudaError_t cudaSetDevice(int) { return cudaSuccess; }
inline cudaError_t cudaGetDeviceCount(int* n) { *n = 1; return cudaSuccess; }
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int) { std::strcpy(p->name, "cusim"); return cudaSuccess; }
inline cudaError_t cudaDeviceGetAttribute(int* v, cudaDeviceAttr a, int) { *v = a == cudaDevAttrComputeCapabilityMajor ? 9 : 3; return cudaSuccess; }
inline cudaError_t cudaMalloc(void** p, size_t n) { *p = std::malloc(n); return *p ? cudaSuccess : cudaErrorMemoryAllocation; }
inline cudaError_t cudaFree(void* p) { std::free(p); return cudaSuccess; }
inline cudaError_t cudaMemcpy(void* d, const void* s, size_t n, cudaMemcpyKind) { std::memcpy(d, s, n); return cudaSuccess; }
inline cudaError_t cudaMemset(void* p, int v, size_t n) { std::memset(p, v, n); return cudaSuccess; }
inline cudaError_t cudaMemsetAsync(void* p, int v, size_t n) { std::memset(p, v, n); return cudaSuccess; }
inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
template <class T> cudaError_t cudaMemcpyToSymbol(T& sym, const void* src, size_t n) { std::memcpy(&sym, src, n); return cudaSuccess; }
inline void __trap() { std::abort(); }

// ---- warp-level tensor-core instructions (see native/cuda/mma.cuh for the fragment layouts) ----
// mma.sync m16n8k16 bf16: the lanes publish their A and B registers in the warp's buffer; each lane
// then computes its own four D elements from the whole A and B (products exact in fp32, summed in
// k order in fp32 -- the hardware's internal order/precision may differ by fp32 rounding).
namespace olmo::cuda {
inline float cusim_bf(uint32_t reg, int hi) { return __bfloat162float({uint16_t(hi ? reg >> 16 : reg & 0xffff)}); }
inline void mma_bf16_16816(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]) {
  using namespace cusim;
  const int w = tlin / 32, lane = tlin % 32;
  uint32_t* buf = &blk->mbuf[size_t(w) * 32 * 6];
  for (int r = 0; r < 4; ++r) buf[lane * 6 + r] = a[r];
  buf[lane * 6 + 4] = b[0];
  buf[lane * 6 + 5] = b[1];
  blk->wbar[w]->arrive_and_wait();
  // A[row][k]: row = g or g + 8 (register bit 0), k = 2t + (half) + 8 (register bit 1)
  auto A = [&](int row, int k) {
    const int g = row % 8, hi8 = row / 8, t = (k % 8) / 2, khi = k / 8;
    return cusim_bf(buf[(g * 4 + t) * 6 + hi8 + 2 * khi], k & 1);
  };
  auto B = [&](int k, int n) {
    const int t = (k % 8) / 2, khi = k / 8;
    return cusim_bf(buf[(n * 4 + t) * 6 + 4 + khi], k & 1);
  };
  const int g = lane / 4, t = lane % 4;
  float out[4];
  for (int e = 0; e < 4; ++e) {
    const int row = g + 8 * (e / 2), col = 2 * t + (e & 1);
    float acc = c[e];
    for (int k = 0; k < 16; ++k) acc += A(row, k) * B(k, col);
    out[e] = acc;
  }
  blk->wbar[w]->arrive_and_wait();
  for (int e = 0; e < 4; ++e) d[e] = out[e];
}
// ldmatrix: lane 8m + r publishes the address of row r of matrix m; every lane reads its elements.
template <int NMAT, bool TRANS>
inline void cusim_ldmatrix(uint32_t* r, const void* p) {
  using namespace cusim;
  const int w = tlin / 32, lane = tlin % 32;
  const uint16_t* rows[4][8];
  blk->wbuf[size_t(w) * 32 + lane] = reinterpret_cast<uintptr_t>(p);  // one exchange for all 32 addresses
  blk->wbar[w]->arrive_and_wait();
  for (int m = 0; m < 4; ++m)
    for (int i = 0; i < 8; ++i) rows[m][i] = reinterpret_cast<const uint16_t*>(uintptr_t(blk->wbuf[size_t(w) * 32 + m * 8 + i]));
  blk->wbar[w]->arrive_and_wait();
  for (int m = 0; m < NMAT; ++m) {
    uint16_t lo, hi;
    if (!TRANS) { lo = rows[m][lane / 4][2 * (lane % 4)]; hi = rows[m][lane / 4][2 * (lane % 4) + 1]; }
    else { lo = rows[m][2 * (lane % 4)][lane / 4]; hi = rows[m][2 * (lane % 4) + 1][lane / 4]; }
    r[m] = uint32_t(lo) | (uint32_t(hi) << 16);
  }
}
inline void ldmatrix_x1(uint32_t r[1], const void* p) { cusim_ldmatrix<1, false>(r, p); }
inline void ldmatrix_x2(uint32_t r[2], const void* p) { cusim_ldmatrix<2, false>(r, p); }
inline void ldmatrix_x4(uint32_t r[4], const void* p) { cusim_ldmatrix<4, false>(r, p); }
inline void ldmatrix_x1_trans(uint32_t r[1], const void* p) { cusim_ldmatrix<1, true>(r, p); }
inline void ldmatrix_x2_trans(uint32_t r[2], const void* p) { cusim_ldmatrix<2, true>(r, p); }
inline void ldmatrix_x4_trans(uint32_t r[4], const void* p) { cusim_ldmatrix<4, true>(r, p); }
}  // namespace olmo::cuda
template <class K> cudaError_t cudaFuncSetAttribute(K, cudaFuncAttribute, int) { return cudaSuccess; }
