// work_pool (see work_pool.h): claimed chunks, spinning-then-sleeping helpers.
//
// Protocol. `state` = epoch << 32 | next chunk index. The caller writes the job's fields, zeroes
// `done`, then stores state = (epoch + 1, 0). Everyone claims chunk i by CAS (e, i) -> (e, i + 1)
// and, after running it, increments `done`; once done == chunks the caller closes the job (state =
// (e, kClosed)) and returns. A successful CAS on (e, i < chunks) proves job e was still open when
// the claimer read its fields (indices only grow within an epoch, epochs only grow: no ABA), and
// the next job's fields are written only after the close, hence those fields were job e's; a
// claimer that read fields of a newer job fails its CAS and retries.
// Sleeping: a helper reads wake_seq, announces itself in `sleepers`, re-checks state and only then
// futex-waits on wake_seq; the caller publishes state, bumps wake_seq and wakes when sleepers > 0.
// All of those are sequentially consistent, so either the caller sees the sleeper or the sleeper
// sees the new job (no lost wake-up), and a stale wake_seq makes futex_wait return at once.
#include "work_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace olmo::cpu {

namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void futex_wait(std::atomic<uint32_t>* word, uint32_t expected) {
#if defined(__linux__)
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
#else
  while (word->load() == expected) std::this_thread::yield();
#endif
}

void futex_wake_all(std::atomic<uint32_t>* word) {
#if defined(__linux__)
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
#endif
}

// How long the caller spins for a helper's last chunk before sleeping (a chunk is <= 128 KiB of
// weights: a few µs unless the helper was preempted).
constexpr int64_t kCallerSpinNs = 20000;

// The longest a helper spins inside a burst between two jobs (a decode block's serial work between
// its GEMVs is a few µs; this only bounds a caller that stalls inside a burst).
constexpr int64_t kBurstSpinNs = 200000;

// Index part of `state` once a job is over: no chunk count reaches it (jobs with more chunks run serially).
constexpr uint32_t kClosed = 0xFFFFFFFFu;

struct Pool {
  alignas(64) std::atomic<uint64_t> state{0};
  alignas(64) std::atomic<uint32_t> done{0};  // chunks finished (a futex word: the caller may sleep on it)
  std::atomic<int> caller_waiting{0};
  alignas(64) std::atomic<uint32_t> wake_seq{0};
  std::atomic<int> sleepers{0};
  // The job (written by the caller before it publishes the epoch; see the protocol above).
  std::atomic<ChunkFn> fn{nullptr};
  std::atomic<void*> ctx{nullptr};
  std::atomic<int64_t> n{0}, chunk{1}, chunks{0};
  std::mutex submit;
  int helpers = 0;
  int64_t spin_ns = 0;  // see work_pool.h: spinning helpers measured slower on the loaded shared machine
  alignas(64) std::atomic<int> bursts{0};  // live PoolBurst scopes (see work_pool.h)

  // Claims and runs chunks of job `epoch` until it has none left (or a newer job replaced it).
  void run_chunks(uint32_t epoch) {
    uint64_t s = state.load(std::memory_order_acquire);
    for (;;) {
      if (uint32_t(s >> 32) != epoch) return;
      const int64_t nch = chunks.load(std::memory_order_relaxed), total = n.load(std::memory_order_relaxed);
      const int64_t ck = chunk.load(std::memory_order_relaxed);
      ChunkFn f = fn.load(std::memory_order_relaxed);
      void* c = ctx.load(std::memory_order_relaxed);
      const int64_t i = int64_t(uint32_t(s));
      if (i >= nch) return;
      if (!state.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
      f(c, i * ck, std::min(total, (i + 1) * ck));
      // The last chunk wakes a caller that went to sleep waiting for it (seq_cst pairs with the
      // caller's caller_waiting store + done re-check: one of the two sees the other).
      if (int64_t(done.fetch_add(1, std::memory_order_seq_cst)) + 1 == nch && caller_waiting.load(std::memory_order_seq_cst)) futex_wake_all(&done);
      s = state.load(std::memory_order_acquire);
    }
  }

  [[noreturn]] void helper_loop() {
    uint32_t seen = uint32_t(state.load(std::memory_order_acquire) >> 32);
    bool spin = false;  // a new helper sleeps until the first job that wakes it
    for (;;) {
      int64_t t0 = spin ? now_ns() : now_ns() - spin_ns - 1;
      uint64_t s;
      for (int spins = 0;; ++spins) {
        s = state.load(std::memory_order_acquire);
        if (uint32_t(s >> 32) != seen) break;
        // Inside a burst the next job follows within a block's serial work: spin for it (up to
        // kBurstSpinNs since the last job or wake-up) instead of sleeping.
        if ((spins & 63) == 0 && now_ns() - t0 > (bursts.load(std::memory_order_relaxed) > 0 ? std::max(spin_ns, kBurstSpinNs) : spin_ns)) {
          const uint32_t w = wake_seq.load(std::memory_order_seq_cst);
          sleepers.fetch_add(1, std::memory_order_seq_cst);
          if (uint32_t(state.load(std::memory_order_seq_cst) >> 32) == seen) futex_wait(&wake_seq, w);
          sleepers.fetch_sub(1, std::memory_order_seq_cst);
          t0 = now_ns();
          continue;
        }
        cpu_relax();
        // Now and then let another runnable process have this CPU (a shared machine): spinning
        // keeps the helper ready for the next GEMV, not the CPU from everyone else.
        if ((spins & 1023) == 1023) std::this_thread::yield();
      }
      seen = uint32_t(s >> 32);
      run_chunks(seen);
      spin = true;
    }
  }
};

Pool* pool() {
  static Pool* p = [] {
    Pool* q = new Pool();  // never destroyed: helpers run until the process exits
#ifdef _OPENMP
    q->helpers = std::max(0, omp_get_max_threads() - 1);
#endif
    if (const char* e = std::getenv("OLMO_POOL_SPIN_US")) q->spin_ns = int64_t(std::atof(e) * 1000);
    for (int i = 0; i < q->helpers; ++i) std::thread([q] { q->helper_loop(); }).detach();
    return q;
  }();
  return p;
}

}  // namespace

PoolBurst::PoolBurst() {
  Pool* p = pool();
  if (p->helpers == 0) return;
  p->bursts.fetch_add(1, std::memory_order_seq_cst);
  // Wake sleeping helpers now, so that their wake-up overlaps the caller's serial work before the
  // burst's first job; they then spin (helper_loop) until it is published.
  if (p->sleepers.load(std::memory_order_seq_cst) > 0) {
    p->wake_seq.fetch_add(1, std::memory_order_seq_cst);
    futex_wake_all(&p->wake_seq);
  }
}

PoolBurst::~PoolBurst() {
  Pool* p = pool();
  if (p->helpers == 0) return;
  p->bursts.fetch_sub(1, std::memory_order_seq_cst);
}

void pool_run(int64_t n, int64_t chunk, bool wake, ChunkFn fn, void* ctx) {
  if (n <= 0) return;
  chunk = std::max<int64_t>(1, chunk);
  Pool* p = pool();
  const int64_t nch = (n + chunk - 1) / chunk;
  if (p->helpers == 0 || nch <= 1 || nch >= int64_t(kClosed)) {
    fn(ctx, 0, n);
    return;
  }
  std::unique_lock<std::mutex> lock(p->submit, std::try_to_lock);
  if (!lock.owns_lock() || (!wake && p->sleepers.load(std::memory_order_relaxed) >= p->helpers)) {
    fn(ctx, 0, n);  // pool busy (another thread's job), or nobody awake for a short job
    return;
  }
  p->fn.store(fn, std::memory_order_relaxed);
  p->ctx.store(ctx, std::memory_order_relaxed);
  p->n.store(n, std::memory_order_relaxed);
  p->chunk.store(chunk, std::memory_order_relaxed);
  p->chunks.store(nch, std::memory_order_relaxed);
  p->done.store(0, std::memory_order_relaxed);
  const uint32_t epoch = uint32_t(p->state.load(std::memory_order_relaxed) >> 32) + 1;
  p->state.store(uint64_t(epoch) << 32, std::memory_order_seq_cst);
  if (wake) {
    p->wake_seq.fetch_add(1, std::memory_order_seq_cst);
    if (p->sleepers.load(std::memory_order_seq_cst) > 0) futex_wake_all(&p->wake_seq);
  }
  p->run_chunks(epoch);
  // Only chunks a helper has claimed are still running: wait for those — spinning briefly, then
  // asleep on `done`, so that a helper preempted mid-chunk by another process (a shared machine)
  // can get this CPU instead of the caller burning it.
  const int64_t t0 = now_ns();
  for (int spins = 0; int64_t(p->done.load(std::memory_order_acquire)) < nch; ++spins) {
    if ((spins & 63) == 63 && now_ns() - t0 > kCallerSpinNs) {
      p->caller_waiting.store(1, std::memory_order_seq_cst);
      for (uint32_t d; int64_t(d = p->done.load(std::memory_order_seq_cst)) < nch;) futex_wait(&p->done, d);
      p->caller_waiting.store(0, std::memory_order_relaxed);
      break;
    }
    cpu_relax();
  }
  // Close the job before the next one's fields are written (the exchange's acquire keeps those
  // writes after it): a helper that read (epoch, chunks) — exhausted — and then the NEXT job's
  // larger chunk count must fail its CAS instead of claiming a chunk of the next job under this
  // job's epoch, which would run that chunk twice (found by a stress test of random job sizes).
  p->state.exchange((uint64_t(epoch) << 32) | kClosed, std::memory_order_acq_rel);
}

int64_t pool_self_check(int jobs, uint32_t seed) {
  auto run = [](int jobs, uint32_t seed) {
    std::mt19937 rng(seed);
    int64_t bad = 0;
    std::optional<PoolBurst> burst;  // runs of jobs inside a burst: helpers spin between them
    for (int j = 0; j < jobs; ++j) {
      if (j % 50 == 0) {
        if (rng() & 1) burst.emplace();
        else burst.reset();
      }
      const int64_t n = 1 + int64_t(rng() % 5000), chunk = 1 + int64_t(rng() % 300);
      const bool wake = (rng() & 1) != 0;
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      pool_for(n, chunk, wake, [&](int64_t i) { hits[size_t(i)].fetch_add(1, std::memory_order_relaxed); });
      for (int64_t i = 0; i < n; ++i) bad += hits[size_t(i)].load(std::memory_order_relaxed) != 1;
      if (j % 997 == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 400));  // helpers fall asleep
    }
    return bad;
  };
  int64_t bad_other = 0;
  std::thread other([&] { bad_other = run(jobs / 2, seed + 1); });
  const int64_t bad = run(jobs, seed);
  other.join();
  return bad + bad_other;
}

}  // namespace olmo::cpu
