// work_pool: parallel loops for latency-bound work (the batch-1 GEMVs of a decode step), where the
// calling thread never waits for a helper thread to wake up.
//
// Why not OpenMP: a libgomp region is fork-join. The caller wakes the team (a futex system call with
// OMP_WAIT_POLICY=passive, which native.ts sets), splits the rows statically and then waits at the
// join barrier for every thread — so a helper that the kernel schedules late (the other vCPU busy
// with another process, or just the ~10 µs futex wake-up) stalls the whole GEMV, ~12 times per
// block and once per LM head. Here work is CLAIMED: the caller publishes a job and starts taking
// chunks of rows itself at once; helpers take chunks from the same counter when they arrive, and
// the caller waits only for chunks that a helper has already claimed and is running. A helper that
// is late finds the job exhausted and goes back to waiting. The caller, once its own chunks are
// done, spins briefly for a helper's last chunk and then sleeps (a helper preempted mid-chunk on a
// loaded machine then gets a CPU instead of a spinning caller keeping it).
//
// Helpers sleep on a futex as soon as a job is exhausted by default. OLMO_POOL_SPIN_US=N makes them
// spin (pause, yielding the CPU now and then) for N µs first, so back-to-back jobs skip the wake-up;
// on the shared 2-vCPU machine at load 2.5-6 that made tiny decode steps up to 2x slower (f32,
// 20-50 µs spins; bench/model/decode-breakdown.mjs, 4 alternated rounds, 2026-12-05): a helper that
// spins is charged the CPU time, so the scheduler runs it late when it holds a claimed chunk.
//
// Results do not depend on which thread runs a chunk: callers give every index its own output.
// Helpers: OMP_NUM_THREADS - 1 (omp_get_max_threads() at first use), started on first use.
#pragma once

#include <cstdint>
#include <type_traits>

namespace olmo::cpu {

using ChunkFn = void (*)(void* ctx, int64_t begin, int64_t end);

// Runs fn(ctx, b, e) for consecutive chunks [b, e) of `chunk` indices covering [0, n), on the
// calling thread and any helpers that join. wake = false: only helpers that are awake (spinning)
// join — for jobs too short to be worth a futex wake-up. Runs everything on the calling thread when
// there are no helpers, when n <= chunk, or while another thread is using the pool (the addon may
// be called from worker threads).
void pool_run(int64_t n, int64_t chunk, bool wake, ChunkFn fn, void* ctx);

// Self-check for tests (tensor-cuda test/work-pool.test.ts through the addon's workPoolCheck): runs
// `jobs` jobs of random sizes / chunks / wake flags from the calling thread and, concurrently, half
// as many from a second thread (which runs serially while the pool is busy), pausing now and then
// so helpers go to sleep, and running stretches of 50 jobs inside a PoolBurst (helpers spinning
// between jobs); returns how many indices did not run exactly once (0 when correct).
int64_t pool_self_check(int jobs, uint32_t seed);

// A burst of jobs in quick succession (a decode block: four GEMVs with a few µs of serial work
// between them). While one is alive, helpers that run out of work spin for the next job instead of
// going to sleep, so each job after the first skips the futex wake-up, and jobs submitted with
// wake = false (too short to pay a wake-up) find an awake helper. Constructing one also wakes
// sleeping helpers at once, overlapping their wake-up with the caller's work before the first job.
// The spinning is bounded by the block's own serial work (the burst ends with the block), unlike
// OLMO_POOL_SPIN_US, which keeps helpers spinning after every job; decodelayer.cc still opens
// bursts only with OLMO_POOL_BURST=1 (measured slower at load 7-9, not yet measured quiet).
struct PoolBurst {
  PoolBurst();
  ~PoolBurst();
  PoolBurst(const PoolBurst&) = delete;
  PoolBurst& operator=(const PoolBurst&) = delete;
};

template <class Body>
inline void pool_for(int64_t n, int64_t chunk, bool wake, Body&& body) {
  auto trampoline = [](void* ctx, int64_t b, int64_t e) {
    Body& f = *static_cast<std::remove_reference_t<Body>*>(ctx);
    for (int64_t i = b; i < e; ++i) f(i);
  };
  pool_run(n, chunk, wake, trampoline, const_cast<void*>(static_cast<const void*>(&body)));
}

}  // namespace olmo::cpu
