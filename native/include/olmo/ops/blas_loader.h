// blas_loader: OpenBLAS is loaded on the first BLAS call, not when the addon loads (CPU only).
//
// Why: the Debian/Ubuntu OpenBLAS is the pthreads build; its library constructor starts the BLAS
// thread pool, and the pool's threads spin (sched_yield) for ~0.1 s before they sleep. Linked into
// the addon, every process that loads it paid that — 55-85 ms of CPU on the 2-core dev VM — also
// `olmo data tag`, which never calls BLAS (bench/data/RESULTS.md section 4). native/cpu/blas_loader.cc
// defines the two CBLAS entry points the kernels call (cblas_sgemm, cblas_sgemv) as trampolines
// that dlopen OpenBLAS once and jump to it, so the kernels' code and OpenBLAS's own behaviour
// (thread count from OPENBLAS_NUM_THREADS / GOTO_NUM_THREADS / OMP_NUM_THREADS / the cores, read
// by OpenBLAS when it loads) stay as they were; only the moment of loading moves.
#pragma once
#include <string>

namespace olmo::cpu {

struct BlasState {
  bool loaded;      // OpenBLAS has been loaded (a BLAS call happened, or blas_load())
  std::string path; // the file dlopen'ed ("" before)
  int threads;      // openblas_get_num_threads() once loaded, else 0
  std::string core; // openblas_get_corename() once loaded (its kernels: "SkylakeX", "Haswell", ...), else ""
  std::string coreForced; // the OPENBLAS_CORETYPE the loader set because OpenBLAS fell back to
                          // Prescott on an AVX2 CPU (blas_loader.cc), else ""
};

// Loads OpenBLAS now if it is not loaded yet (the trampolines call this). NATIVE_UNAVAILABLE, with
// every path tried and dlerror(), when it cannot be loaded.
void blas_load();
BlasState blas_state();

}  // namespace olmo::cpu
