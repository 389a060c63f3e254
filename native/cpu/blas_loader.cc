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
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>

#include "olmo/check.h"
#include "env_switch.h"

#ifndef OLMO_OPENBLAS_PATH
#define OLMO_OPENBLAS_PATH ""
#endif

namespace olmo::cpu {
namespace {

struct BlasFns {
  decltype(&::cblas_sgemm) sgemm;
  decltype(&::cblas_sgemv) sgemv;
  int (*get_num_threads)();      // openblas_get_num_threads (null for another CBLAS)
  char* (*get_corename)();       // openblas_get_corename (null for another CBLAS)
  std::string path;
  std::string coretype_forced;   // the OPENBLAS_CORETYPE we loaded it with ("" when OpenBLAS chose)
  void* handle = nullptr;
};

std::atomic<const BlasFns*> g_fns{nullptr};
std::mutex g_load_mu;

// One candidate: dlopen + the symbols we need, or null with the reason appended to `tried`.
BlasFns* open_blas(const char* path, std::ostringstream& tried) {
  void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* why = dlerror();
    tried << "\n  " << path << ": " << (why ? why : "not found");
    return nullptr;
  }
  auto* f = new BlasFns{reinterpret_cast<decltype(&::cblas_sgemm)>(dlsym(h, "cblas_sgemm")),
                        reinterpret_cast<decltype(&::cblas_sgemv)>(dlsym(h, "cblas_sgemv")),
                        reinterpret_cast<int (*)()>(dlsym(h, "openblas_get_num_threads")),
                        reinterpret_cast<char* (*)()>(dlsym(h, "openblas_get_corename")), path, ""};
  if (!f->sgemm || !f->sgemv) {
    tried << "\n  " << path << ": no cblas_sgemm / cblas_sgemv in it";
    delete f;
    dlclose(h);
    return nullptr;
  }
  f->handle = h;
  return f;
}

// A DYNAMIC_ARCH OpenBLAS picks its kernels from the CPU's family/model; a CPU newer than the
// library falls back to "Prescott" (SSE3 kernels). Debian 12's 0.3.21 does that on Intel Emerald
// Rapids (model 207): sgemm ran at ~28 GFLOP per CPU-second instead of ~70-80 with its SkylakeX
// kernels (M = 32, K = 256: bench/model/LOWPREC.md, 2026-12-06), and every float32 GEMM that is not
// ours (training, K < 512 prefill) with it. No AVX2 CPU is a Prescott, so when OpenBLAS says
// Prescott on a CPU with AVX2+FMA and the user did not choose (OPENBLAS_CORETYPE unset), the library
// is reloaded with OPENBLAS_CORETYPE set to the core OpenBLAS itself would pick for these features
// (its constructor reads the variable; the variable is restored right after, so child processes see
// the environment they were given). OLMO_OPENBLAS_CORETYPE_FIX=0 keeps OpenBLAS's own choice.
const char* coretype_for_cpu() {
  if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) return nullptr;
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                      __builtin_cpu_supports("avx512cd");
  if (avx512 && __builtin_cpu_supports("avx512bf16")) return "Cooperlake";
  if (avx512) return "SkylakeX";
  return "Haswell";
}

BlasFns* fix_fallback_core(BlasFns* f, const char* path, std::ostringstream& tried) {
  if (!f->get_corename || std::getenv("OPENBLAS_CORETYPE") || !env_switch_on("OLMO_OPENBLAS_CORETYPE_FIX")) return f;
  const char* core = f->get_corename();
  const char* better = coretype_for_cpu();
  if (!core || std::strcmp(core, "Prescott") != 0 || !better) return f;
  // Unloading runs OpenBLAS's destructor, which joins its thread pool; no call has run yet.
  dlclose(f->handle);
  delete f;
  setenv("OPENBLAS_CORETYPE", better, 1);
  BlasFns* g = open_blas(path, tried);
  unsetenv("OPENBLAS_CORETYPE");
  if (g) g->coretype_forced = better;
  return g;
}

// The library CMake linked against before (the configured file: a carried OpenBLAS outside the
// loader's search path too), then the sonames the dynamic loader would have found for it.
const BlasFns* load_slow() {
  std::lock_guard<std::mutex> lock(g_load_mu);
  if (const BlasFns* f = g_fns.load(std::memory_order_acquire)) return f;
  const char* candidates[] = {OLMO_OPENBLAS_PATH, "libopenblas.so.0", "libopenblas.so"};
  std::ostringstream tried;
  for (const char* path : candidates) {
    if (!path[0]) continue;
    BlasFns* f = open_blas(path, tried);
    if (f) f = fix_fallback_core(f, path, tried);
    if (!f) continue;
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
  if (!f) return {false, "", 0, "", ""};
  return {true, f->path, f->get_num_threads ? f->get_num_threads() : 1,
          f->get_corename && f->get_corename() ? f->get_corename() : "", f->coretype_forced};
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
