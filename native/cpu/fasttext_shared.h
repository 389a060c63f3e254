// The token records that the fastText models of one process share (internal to native/cpu/fasttext.cc).
//
// Why: a fresh model's largest cost is its first pass over a corpus's distinct tokens (each new token's
// character n-grams hashed and looked up in the pruned bucket table, ~1 us a token), and `olmo data tag
// --processes N` paid it once per worker thread. Models loaded from the same bytes now share their
// parsed tables (FastTextModel::load's registry) and this second-level cache of token records: a thread
// whose own cache misses copies the record another thread already worked out instead of recomputing it.
// The records are the same [length, feature count, kind, features..., token bytes] either way, so the
// scores do not depend on which thread computed what.
//
// Concurrency: fixed capacity and insert-only, so nothing ever moves. A lookup takes no lock: a slot is
// published with a release store after its record is written, and read with an acquire load. Inserts
// take the mutex (a thread re-probes under it, so a token is stored once). When full, inserts stop
// (each thread's own cache keeps working).
#pragma once
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>

#include <sys/mman.h>

#include "fasttext_util.h"

namespace olmo::cpu::ft {

class SharedTokens {
 public:
  static constexpr size_t kSlots = size_t(1) << 19;  // 4 MB: zero pages until a slot is written
  static constexpr size_t kArenaWords = size_t(16) << 20;  // 64 MB of address space, touched as records are added

  SharedTokens() {
    // anonymous mappings: zero pages that cost nothing until a slot or record is written (calloc could
    // take these sizes from the heap once glibc's mmap threshold has grown, and then clear them)
    slots_ = static_cast<std::atomic<uint64_t>*>(map(kSlots * sizeof(uint64_t)));
    arena_ = static_cast<int32_t*>(map(kArenaWords * sizeof(int32_t)));
    if (!slots_ || !arena_) {
      unmap();
      throw std::bad_alloc();
    }
  }
  ~SharedTokens() { unmap(); }
  SharedTokens(const SharedTokens&) = delete;
  SharedTokens& operator=(const SharedTokens&) = delete;

  // The record of token tok[0, n) with hash h, or nullptr.
  const int32_t* find(const char* tok, size_t n, uint32_t h) const {
    for (uint64_t i = h & (kSlots - 1);; i = (i + 1) & (kSlots - 1)) {
      const uint64_t v = slots_[i].load(std::memory_order_acquire);
      if (v == 0) return nullptr;
      if (uint32_t(v >> 32) != h) continue;
      const int32_t* rec = arena_ + (uint32_t(v) - 1);
      if (size_t(rec[0]) == n && tok_eq(reinterpret_cast<const char*>(rec + 3 + rec[1]), tok, n)) return rec;
    }
  }

  // Stores a copy of rec (`words` int32 words) under hash h, unless it is there already or the cache is full.
  void insert(const int32_t* rec, size_t words, uint32_t h) {
    std::lock_guard<std::mutex> lock(mu_);
    if (records_ >= kSlots / 2 || used_ + words > kArenaWords) return;
    const size_t n = size_t(rec[0]);
    uint64_t i = h & (kSlots - 1);
    for (;; i = (i + 1) & (kSlots - 1)) {
      const uint64_t v = slots_[i].load(std::memory_order_relaxed);
      if (v == 0) break;
      if (uint32_t(v >> 32) != h) continue;
      const int32_t* r = arena_ + (uint32_t(v) - 1);
      if (size_t(r[0]) == n && std::memcmp(r + 3 + r[1], rec + 3 + rec[1], n) == 0) return;  // another thread was first
    }
    std::memcpy(arena_ + used_, rec, words * sizeof(int32_t));
    slots_[i].store((uint64_t(h) << 32) | uint64_t(used_ + 1), std::memory_order_release);
    used_ += words;
    ++records_;
  }

 private:
  static void* map(size_t bytes) {
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
  }
  void unmap() {
    if (slots_) ::munmap(static_cast<void*>(slots_), kSlots * sizeof(uint64_t));
    if (arena_) ::munmap(arena_, kArenaWords * sizeof(int32_t));
    slots_ = nullptr;
    arena_ = nullptr;
  }
  std::atomic<uint64_t>* slots_ = nullptr;
  int32_t* arena_ = nullptr;
  std::mutex mu_;
  size_t used_ = 0, records_ = 0;  // guarded by mu_
};

}  // namespace olmo::cpu::ft
