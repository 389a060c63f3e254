// streamread: read-only streaming bandwidth (see olmo/ops/streamread.h). The decode benchmarks'
// bandwidth floor divides the weight bytes per token by this. It replaced a JS loop of sumScaled
// calls (a reduction kernel with its own per-call setup and one accumulator chain, measured well
// below what the GEMVs themselves reached on the Intel VM, so "ours / floor" read > 100%).
#include "olmo/ops/streamread.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "olmo/check.h"
#include "olmo/ops/memory.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define OLMO_X86 1
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own _mm*_undefined_* helpers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace olmo::cpu {

namespace {

// Sum of [p, p + n) as 64-bit words (n a multiple of 512 bytes): the value is returned so the
// loads cannot be optimised away. Eight independent accumulators so the adds never limit the
// load rate; no stores, so only read traffic reaches memory.
#ifdef OLMO_X86
__attribute__((target("avx512f"))) uint64_t read_avx512(const char* p, size_t n) {
  __m512i a[8];
  for (auto& v : a) v = _mm512_setzero_si512();
  for (size_t o = 0; o < n; o += 512)
    for (int j = 0; j < 8; ++j) a[j] = _mm512_add_epi64(a[j], _mm512_load_si512(p + o + 64 * j));
  for (int j = 1; j < 8; ++j) a[0] = _mm512_add_epi64(a[0], a[j]);
  return uint64_t(_mm512_reduce_add_epi64(a[0]));
}

__attribute__((target("avx2"))) uint64_t read_avx2(const char* p, size_t n) {
  __m256i a[8];
  for (auto& v : a) v = _mm256_setzero_si256();
  for (size_t o = 0; o < n; o += 256)
    for (int j = 0; j < 8; ++j) a[j] = _mm256_add_epi64(a[j], _mm256_load_si256(reinterpret_cast<const __m256i*>(p + o + 32 * j)));
  for (int j = 1; j < 8; ++j) a[0] = _mm256_add_epi64(a[0], a[j]);
  alignas(32) uint64_t t[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(t), a[0]);
  return t[0] + t[1] + t[2] + t[3];
}
#endif

uint64_t read_scalar(const char* p, size_t n) {
  uint64_t a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  const uint64_t* q = reinterpret_cast<const uint64_t*>(p);
  for (size_t i = 0; i < n / 8; i += 8)
    for (int j = 0; j < 8; ++j) a[j] += q[i + j];
  return a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
}

using ReadFn = uint64_t (*)(const char*, size_t);

ReadFn pick_reader() {
#ifdef OLMO_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return read_avx512;
  if (__builtin_cpu_supports("avx2")) return read_avx2;
#endif
  return read_scalar;
}

}  // namespace

double stream_read_bandwidth(int64_t bytes, int threads) {
  OLMO_CHECK(bytes >= (int64_t(64) << 10) && bytes <= (int64_t(64) << 30), "INVALID_ARGUMENT",
             "streamReadBandwidth: bytes " << bytes, "use a buffer of 64 KiB to 64 GiB");
  OLMO_CHECK(threads >= 1 && threads <= 256, "INVALID_ARGUMENT", "streamReadBandwidth: threads " << threads, "use 1 to 256 threads");
  // Each thread's share a multiple of 512 bytes (one unrolled step of the widest reader).
  const size_t share = size_t(bytes) / size_t(threads) / 512 * 512;
  OLMO_CHECK(share > 0, "INVALID_ARGUMENT", "streamReadBandwidth: " << bytes << " bytes over " << threads << " threads",
             "give each thread at least 512 bytes");
  const size_t total = share * size_t(threads);
  // Not from alloc(): its cache would keep up to 64 GiB after the measurement. Aligned and advised
  // as alloc() does for blocks this big, so the floor is measured on the pages weights get.
  void* mem = nullptr;
  if (posix_memalign(&mem, size_t(2) << 20, total) != 0) mem = nullptr;
  char* buf = static_cast<char*>(mem);
  if (buf) advise_huge_pages(buf, total);
  OLMO_CHECK(buf, "OUT_OF_MEMORY", "streamReadBandwidth: cannot allocate " << total << " bytes", "measure a smaller buffer");
  const ReadFn reader = pick_reader();
  // Written first, by the threads that will read it (first touch: each share is local to its
  // reader on a NUMA machine), with a non-zero pattern so no page stays the shared zero page.
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    if (t < threads) std::memset(buf + size_t(t) * share, 0x5a, share);
  }
  // >= 1 GiB of reads per timing: a pass over a small buffer takes ~1 ms, where the fork/join of
  // the parallel region and timer noise would otherwise show.
  const int passes = int(std::max<int64_t>(1, ((int64_t(1) << 30) + int64_t(total) - 1) / int64_t(total)));
  volatile uint64_t sink = 0;
  auto timed = [&](int reps) {
    const auto t0 = std::chrono::steady_clock::now();
    uint64_t s = 0;
#pragma omp parallel num_threads(threads) reduction(+ : s)
    {
      const int t = omp_get_thread_num();
      if (t < threads)
        for (int r = 0; r < reps; ++r) s += reader(buf + size_t(t) * share, share);
    }
    sink = sink + s;
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  timed(1);  // warm-up: wakes the threads, faults in nothing new (already written)
  std::vector<double> ts;
  for (int i = 0; i < 5; ++i) ts.push_back(timed(passes) / passes);
  std::free(buf);
  std::sort(ts.begin(), ts.end());
  return double(total) / ts[2] / 1e9;
}

}  // namespace olmo::cpu
