// Work distribution for the prefill GEMMs (lowplinear_gemm_amx.cc, lowplinear_gemm_q8.cc): the
// weight panels of a call are handed out by one atomic counter, and every thread claims its NEXT
// panel before it computes the current one ("claim ahead"), so it always knows which weight bytes
// it will read next and can prefetch them while the current panel's tile math runs.
//
// Why not `omp for schedule(dynamic, chunk)` with a prefetch inside the chunk: in a 32-row prefill
// the weights come from cold memory (they do not stay in cache between layers), so the kernels
// wait on weight reads; a chunk's first panel was never prefetched, and chunks of up to 4 panels
// left the last thread finishing alone (tiny's 256-row weights are 8-11 panels for 2 threads). A
// claimed-ahead panel costs at most one panel of imbalance at the end, and every panel but a
// thread's first is prefetched. Which thread computes a panel never changes its result (each
// output element is computed by exactly one panel, in a fixed order), so the outputs are the same
// bits as with any other schedule.
//
// OLMO_GEMM_CLAIM_AHEAD=0 turns the next-panel prefetch off (panels are still claimed from the
// counter, one at a time): for A/B measurements and tests of the plain path.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "env_switch.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace olmo::cpu {

// Read once per process (the kernels call it once per GEMM call, outside their loops).
inline bool gemm_claim_ahead_on() {
  static const bool v = env_switch_on("OLMO_GEMM_CLAIM_AHEAD");
  return v;
}

// One shared counter over panels [0, n), handed out in runs of `grain` consecutive panels. Shared by
// the team (declare it before the parallel region); each thread walks its panels with a PanelCursor.
class PanelQueue {
 public:
  PanelQueue(int64_t n, int64_t grain = 1) : n_(n), grain_(std::max<int64_t>(1, grain)) {}
  // The first panel of the next unclaimed run, or -1 when all are taken.
  int64_t claim() {
    const int64_t p = next_.fetch_add(grain_, std::memory_order_relaxed);
    return p < n_ ? p : -1;
  }
  int64_t run_end(int64_t first) const { return std::min(n_, first + grain_); }

 private:
  std::atomic<int64_t> next_{0};
  const int64_t n_, grain_;
};

// A thread's walk: `current()` is the panel to compute, `ahead()` the one it computes after it
// (-1: none): the next panel of its run, or the first of the run it claimed when it started its
// run's last panel. With claim-ahead off, ahead() is always -1 and runs are claimed only when the
// current one is done (a plain dynamic schedule).
class PanelCursor {
 public:
  PanelCursor(PanelQueue& q, bool claim_ahead) : q_(q), ahead_on_(claim_ahead) {
    cur_ = q_.claim();
    end_ = cur_ >= 0 ? q_.run_end(cur_) : -1;
    claim_next_if_last();
  }
  int64_t current() const { return cur_; }
  int64_t ahead() const { return !ahead_on_ || cur_ < 0 ? -1 : cur_ + 1 < end_ ? cur_ + 1 : next_run_; }
  void advance() {
    if (++cur_ < end_) {
      claim_next_if_last();
      return;
    }
    cur_ = ahead_on_ ? next_run_ : q_.claim();
    next_run_ = -1;
    end_ = cur_ >= 0 ? q_.run_end(cur_) : -1;
    claim_next_if_last();
  }

 private:
  void claim_next_if_last() {
    if (ahead_on_ && cur_ >= 0 && cur_ + 1 == end_) next_run_ = q_.claim();
  }
  PanelQueue& q_;
  const bool ahead_on_;
  int64_t cur_ = -1, end_ = -1, next_run_ = -1;
};

// Prefetches the part-th of `parts` equal, 64-byte-rounded slices of [p, p + bytes) into L2: a
// kernel calls it once per step of its current panel (part = step, parts = steps), so the next
// panel's bytes arrive spread over the current panel's work instead of in one burst that would
// compete with the current panel's own loads.
inline void prefetch_slice(const char* p, int64_t bytes, int64_t part, int64_t parts) {
#if defined(__x86_64__) || defined(__i386__)
  if (!p || bytes <= 0 || parts <= 0) return;
  const int64_t slice = (bytes / parts + 64) / 64 * 64;
  int64_t o = part * slice;
  const int64_t e = part == parts - 1 ? bytes : std::min<int64_t>(bytes, o + slice);
  for (; o < e; o += 64) _mm_prefetch(p + o, _MM_HINT_T1);
#else
  (void)p, (void)bytes, (void)part, (void)parts;
#endif
}

}  // namespace olmo::cpu
