// parallel_for: an OpenMP loop that does not touch libgomp at all when it runs serially.
//
// `#pragma omp parallel for if (cond)` still enters libgomp when cond is false: GOMP_parallel
// builds a team of one (malloc) and ends it at a team barrier whose last arriver always issues a
// futex-wake system call. On our 2-vCPU VMs that costs ~1.7 µs per loop (bench: an empty
// `parallel for if (false)` in a tight loop, OMP_WAIT_POLICY=passive), and a batch-1 decode step
// runs ~12 small loops per block (norms, rope, clamp, add, swiglu, GEMVs): about 20 µs per block
// of pure overhead on a model whose block math takes a few µs. The serial branch below is a plain
// loop the compiler vectorises like the pragma's body.
#pragma once

#include <cstdint>

namespace olmo::cpu {

template <class Body>
inline void parallel_for(bool parallel, int64_t n, Body&& body) {
  if (!parallel) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) body(i);
    return;
  }
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) body(i);
}

// The same for loops whose iterations are rows (no simd across iterations).
template <class Body>
inline void parallel_for_rows(bool parallel, int64_t n, Body&& body) {
  if (!parallel) {
    for (int64_t i = 0; i < n; ++i) body(i);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) body(i);
}

}  // namespace olmo::cpu
