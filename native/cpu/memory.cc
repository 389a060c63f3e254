// CPU memory for NativeBuffer: 64-byte aligned blocks from a bounded caching allocator.
// Training and decoding allocate the same activation shapes every step; returning freed blocks to
// a per-size free list avoids both malloc cost and the page faults of touching fresh memory
// (a 2048×50304 fp32 logits block is 412 MB). The cache is bounded, and flushed on allocation
// failure, so memory stays deterministic: live bytes are reported separately from cached bytes.
//
// Blocks of kHugeMinBytes and more (weights, logits, KV caches) are 2 MiB aligned and advised
// MADV_HUGEPAGE before anything touches them (THP runs in `madvise` mode on our VMs, so nothing
// gets huge pages unasked): batch-1 decode streams every weight once per token, and with 4 KiB
// pages a 4.7 GB float32 OLMo-1B is 1.15 M pages, a TLB miss (page walk) every 4 KiB of stream.
// OLMO_HUGEPAGES=0 turns it off (64-byte alignment, no advice) for measuring.
#include "olmo/ops/memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

namespace olmo::cpu {

namespace {
std::mutex g_mu;
std::map<size_t, std::vector<void*>> g_free;  // rounded size -> blocks
size_t g_cached = 0;

size_t round_size(size_t n) {
  if (n == 0) return 64;
  if (n < (64u << 10)) return (n + 63) & ~size_t(63);
  return (n + 4095) & ~size_t(4095);
}

size_t cache_limit() {
  static size_t limit = [] {
    if (const char* env = std::getenv("OLMO_CPU_CACHE_BYTES")) return size_t(std::strtoull(env, nullptr, 10));
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    size_t phys = pages > 0 && page > 0 ? size_t(pages) * size_t(page) : (size_t(8) << 30);
    return phys / 4;
  }();
  return limit;
}

constexpr size_t kHugeMinBytes = size_t(4) << 20;
constexpr size_t kHugePage = size_t(2) << 20;

void flush_locked() {
  for (auto& [size, blocks] : g_free)
    for (void* p : blocks) std::free(p);
  g_free.clear();
  g_cached = 0;
}
}  // namespace

bool huge_pages_on() {
  static const bool v = [] {
    const char* e = std::getenv("OLMO_HUGEPAGES");
    return !(e && std::strcmp(e, "0") == 0);
  }();
  return v;
}

void advise_huge_pages(void* p, size_t nbytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (!huge_pages_on() || nbytes < kHugeMinBytes) return;
  // Only whole 2 MiB pages inside [p, p + nbytes) can be huge; a hint, so failure is harmless.
  const uintptr_t lo = (reinterpret_cast<uintptr_t>(p) + kHugePage - 1) & ~(kHugePage - 1);
  const uintptr_t hi = (reinterpret_cast<uintptr_t>(p) + nbytes) & ~(kHugePage - 1);
  if (hi > lo) ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);
#else
  (void)p;
  (void)nbytes;
#endif
}

static int aligned_alloc_block(void** p, size_t rounded) {
  const bool huge = rounded >= kHugeMinBytes && huge_pages_on();
  const int rc = posix_memalign(p, huge ? kHugePage : 64, rounded);
  if (rc == 0 && huge) advise_huge_pages(*p, rounded);  // before the first touch faults pages in
  return rc;
}

void* alloc(size_t nbytes, bool zero) {
  size_t rounded = round_size(nbytes);
  void* p = nullptr;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_free.find(rounded);
    if (it != g_free.end() && !it->second.empty()) {
      p = it->second.back();
      it->second.pop_back();
      g_cached -= rounded;
    }
  }
  if (!p && aligned_alloc_block(&p, rounded) != 0) {
    std::lock_guard<std::mutex> lock(g_mu);
    flush_locked();
    if (aligned_alloc_block(&p, rounded) != 0) return nullptr;
  }
  if (zero) std::memset(p, 0, rounded);
  return p;
}

void release(void* p, size_t nbytes) {
  if (!p) return;
  size_t rounded = round_size(nbytes);
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_cached + rounded <= cache_limit()) {
    g_free[rounded].push_back(p);
    g_cached += rounded;
  } else {
    std::free(p);
  }
}

void empty_cache() {
  std::lock_guard<std::mutex> lock(g_mu);
  flush_locked();
}

size_t cached_bytes() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_cached;
}

}  // namespace olmo::cpu
