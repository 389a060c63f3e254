// streamread: the machine's read-only streaming bandwidth, measured natively (the floor that
// batch-1 decode, which streams every weight once per token, is compared against).
//   stream_read_bandwidth(bytes, threads): GB/s (1e9 bytes/s) of `threads` threads each reading
//     its contiguous share of one `bytes`-sized buffer with wide vector loads (AVX-512, else AVX2,
//     else scalar), median of 5 timings of >= 1 GiB of reads each after a warm-up pass. The buffer
//     gets the pages the NativeBuffer allocator gives big blocks (cpu/memory.cc: huge pages from
//     4 MiB unless OLMO_HUGEPAGES=0, like the float32 / q8_0 weights decode streams) and is WRITTEN before it is read: an
//     untouched allocation maps the kernel's shared zero page, whose "bandwidth" is a cache's.
//     bytes must be in [64 KiB, 64 GiB], threads in [1, 256]; INVALID_ARGUMENT otherwise,
//     OUT_OF_MEMORY when the buffer cannot be allocated.
#pragma once
#include <cstdint>

namespace olmo::cpu {
double stream_read_bandwidth(int64_t bytes, int threads);
}  // namespace olmo::cpu
