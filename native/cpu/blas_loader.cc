// OpenBLAS loaded on first use (olmo/ops/blas_loader.h says why). The kernels call cblas_sgemm /
// cblas_sgemv as before; this file defines those two symbols (hidden: they never interpose on another
// library's BLAS in the process) and forwards each call to the library dlopen'ed by the first one.
// Adding a call to another CBLAS function means adding its trampoline here: the addon does not link
// OpenBLAS, so an undefined cblas_* symbol would only fail when the addon loads
// (packages/tensor-cuda/test/blas-loader.test.ts checks the built addon for such symbols).
#include "olmo/ops/blas_loader.h"

#include <cblas.h>
#include <dlfcn.h>

#include <atomic>
#include <mutex>
#include <sstream>

#include "olmo/check.h"

#ifndef OLMO_OPENBLAS_PATH
#define OLMO_OPENBLAS_PATH ""
#endif

namespace olmo::cpu {
namespace {

struct BlasFns {
  decltype(&::cblas_sgemm) sgemm;
  decltype(&::cblas_sgemv) sgemv;
  int (*get_num_threads)();  // openblas_get_num_threads (null for another CBLAS)
  std::string path;
};

std::atomic<const BlasFns*> g_fns{nullptr};
std::mutex g_load_mu;

// The library CMake linked against before (the configured file: a carried OpenBLAS outside the
// loader's search path too), then the sonames the dynamic loader would have found for it.
const BlasFns* load_slow() {
  std::lock_guard<std::mutex> lock(g_load_mu);
  if (const BlasFns* f = g_fns.load(std::memory_order_acquire)) return f;
  const char* candidates[] = {OLMO_OPENBLAS_PATH, "libopenblas.so.0", "libopenblas.so"};
  std::ostringstream tried;
  for (const char* path : candidates) {
    if (!path[0]) continue;
    void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char* why = dlerror();
      tried << "\n  " << path << ": " << (why ? why : "not found");
      continue;
    }
    auto* f = new BlasFns{reinterpret_cast<decltype(&::cblas_sgemm)>(dlsym(h, "cblas_sgemm")),
                          reinterpret_cast<decltype(&::cblas_sgemv)>(dlsym(h, "cblas_sgemv")),
                          reinterpret_cast<int (*)()>(dlsym(h, "openblas_get_num_threads")), path};
    if (!f->sgemm || !f->sgemv) {
      tried << "\n  " << path << ": no cblas_sgemm / cblas_sgemv in it";
      delete f;
      dlclose(h);
      continue;
    }
    // the handle stays open for the life of the process (OpenBLAS's threads run its code)
    g_fns.store(f, std::memory_order_release);
    return f;
  }
  OLMO_FAIL("NATIVE_UNAVAILABLE", "could not load OpenBLAS for a CPU matrix multiply; tried:" << tried.str(),
            "install it (apt-get install -y libopenblas0) or rebuild the addon against the OpenBLAS you have");
}

inline const BlasFns& fns() {
  const BlasFns* f = g_fns.load(std::memory_order_acquire);
  return f ? *f : *load_slow();
}

}  // namespace

void blas_load() { (void)fns(); }

BlasState blas_state() {
  const BlasFns* f = g_fns.load(std::memory_order_acquire);
  if (!f) return {false, "", 0};
  return {true, f->path, f->get_num_threads ? f->get_num_threads() : 1};
}

}  // namespace olmo::cpu

extern "C" {

__attribute__((visibility("hidden"))) void cblas_sgemm(OPENBLAS_CONST enum CBLAS_ORDER order, OPENBLAS_CONST enum CBLAS_TRANSPOSE transA,
                                                       OPENBLAS_CONST enum CBLAS_TRANSPOSE transB, OPENBLAS_CONST blasint M,
                                                       OPENBLAS_CONST blasint N, OPENBLAS_CONST blasint K, OPENBLAS_CONST float alpha,
                                                       OPENBLAS_CONST float* A, OPENBLAS_CONST blasint lda, OPENBLAS_CONST float* B,
                                                       OPENBLAS_CONST blasint ldb, OPENBLAS_CONST float beta, float* C,
                                                       OPENBLAS_CONST blasint ldc) {
  olmo::cpu::fns().sgemm(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

__attribute__((visibility("hidden"))) void cblas_sgemv(OPENBLAS_CONST enum CBLAS_ORDER order, OPENBLAS_CONST enum CBLAS_TRANSPOSE trans,
                                                       OPENBLAS_CONST blasint m, OPENBLAS_CONST blasint n, OPENBLAS_CONST float alpha,
                                                       OPENBLAS_CONST float* a, OPENBLAS_CONST blasint lda, OPENBLAS_CONST float* x,
                                                       OPENBLAS_CONST blasint incx, OPENBLAS_CONST float beta, float* y,
                                                       OPENBLAS_CONST blasint incy) {
  olmo::cpu::fns().sgemv(order, trans, m, n, alpha, a, lda, x, incx, beta, y, incy);
}

}  // extern "C"
