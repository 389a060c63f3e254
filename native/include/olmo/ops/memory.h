// Device memory and transfers. CPU memory is 64-byte aligned (AVX-512 friendly) and zeroed on
// request; CUDA memory comes from cudaMalloc (never managed memory).
#pragma once
#include <cstddef>
#include <string>

namespace olmo::cpu {
void* alloc(size_t nbytes, bool zero);  // returns nullptr when the allocation fails
void release(void* p, size_t nbytes);    // back to the bounded cache (or the OS)
void empty_cache();                      // returns every cached block to the OS
size_t cached_bytes();
// Transparent huge pages for big blocks (see cpu/memory.cc): alloc() applies it to blocks of 4 MiB
// and more; mapped weight files and other large buffers may ask for it too. A no-op when
// OLMO_HUGEPAGES=0, below 4 MiB, or off Linux.
bool huge_pages_on();
void advise_huge_pages(void* p, size_t nbytes);
}  // namespace olmo::cpu

namespace olmo::cuda {
int device_count();  // 0 when no driver / no GPU (never throws)
std::string device_name(int dev);
void* alloc(int dev, size_t nbytes, bool zero);  // nullptr on OOM
void release(int dev, void* p);
void copy_h2d(int dev, void* dst, const void* src, size_t n);
void copy_d2h(int dev, void* dst, const void* src, size_t n);
void copy_d2d(int dev, void* dst, const void* src, size_t n);
void memset_zero(int dev, void* p, size_t n);
void synchronize(int dev);
}  // namespace olmo::cuda
