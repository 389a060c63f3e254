// cuBLASLt for bf16 x bf16 -> fp32-accumulate GEMMs (the tensor-core path of amp_bf16), loaded at
// run time like cuBLAS (dynlib.cuh): the addon never links it and builds without its header, so the
// few types and enum values used are declared here. They are the cuBLASLt ABI of CUDA 11.x-13.x,
// from cublasLt.h / cublas_api.h / library_types.h:
//   cublasLtMatmulDescAttributes_t   CUBLASLT_MATMUL_DESC_TRANSA = 3, CUBLASLT_MATMUL_DESC_TRANSB = 4
//   cublasLtMatrixLayoutAttribute_t  CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT = 5 (int32_t),
//                                    CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET = 6 (int64_t)
//   cublasLtMatmulPreferenceAttributes_t  CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES = 1 (uint64_t),
//                                    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_{A,B,C,D}_BYTES = 5, 6, 7, 8 (uint32_t)
//   cublasLtMatmulAlgo_t { uint64_t data[8]; }
//   cublasLtMatmulHeuristicResult_t { cublasLtMatmulAlgo_t algo; size_t workspaceSize;
//                                     cublasStatus_t state; float wavesCount; int reserved[4]; }
//   cublasComputeType_t CUBLAS_COMPUTE_32F = 68; cudaDataType CUDA_R_32F = 0, CUDA_R_16BF = 14;
//   cublasOperation_t CUBLAS_OP_N = 0, CUBLAS_OP_T = 1; cublasStatus_t CUBLAS_STATUS_SUCCESS = 0.
// Row-major C = op(A) op(B) is the column-major C^T = op(B)^T op(A)^T, as in gemm.cu.
// One plan per (shape, layout, strides, output dtype, operand alignment): descriptors + the
// heuristic's best algorithm, cached, so steady-state calls do no heuristic query. One workspace per
// device (OLMO_CUBLASLT_WORKSPACE_MB, default 32); every call runs on the device's legacy default
// stream like the other kernels, so calls on one device never use the workspace concurrently.
#include "gemm_lt.cuh"

#include <cuda_runtime.h>
#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>

#include "dynlib.cuh"
#include "olmo/check.h"

namespace olmo::cuda {

GemmChoice gemm_choice() {
  const char* v = std::getenv("OLMO_CUDA_GEMM");
  if (!v || !*v || !std::strcmp(v, "auto")) return GemmChoice::Auto;
  if (!std::strcmp(v, "lt")) return GemmChoice::Lt;
  if (!std::strcmp(v, "cublas")) return GemmChoice::Cublas;
  if (!std::strcmp(v, "tiled")) return GemmChoice::Tiled;
  OLMO_FAIL("INVALID_ARGUMENT", "OLMO_CUDA_GEMM='" << v << "' is not a CUDA GEMM backend",
            "set OLMO_CUDA_GEMM to one of: auto, lt, cublas, tiled (or unset it)");
}

const char* gemm_choice_name(GemmChoice c) {
  switch (c) {
    case GemmChoice::Lt: return "lt";
    case GemmChoice::Cublas: return "cublas";
    case GemmChoice::Tiled: return "tiled";
    default: return "auto";
  }
}

namespace {
constexpr int OP_N = 0, OP_T = 1, R_32F = 0, R_16BF = 14, COMPUTE_32F = 68;
constexpr int DESC_TRANSA = 3, DESC_TRANSB = 4, LAYOUT_BATCH_COUNT = 5, LAYOUT_BATCH_STRIDE = 6;
constexpr int PREF_MAX_WORKSPACE = 1, PREF_ALIGN_A = 5, PREF_ALIGN_B = 6, PREF_ALIGN_C = 7, PREF_ALIGN_D = 8;

struct Algo { uint64_t data[8]; };
struct HeuristicResult {
  Algo algo;
  size_t workspaceSize;
  int state;
  float wavesCount;
  int reserved[4];
};
static_assert(sizeof(HeuristicResult) == 96, "cublasLtMatmulHeuristicResult_t is 96 bytes");

using CreateFn = int (*)(void**);
using DescCreateFn = int (*)(void**, int, int);
using SetAttrFn = int (*)(void*, int, const void*, size_t);
using LayoutCreateFn = int (*)(void**, int, uint64_t, uint64_t, int64_t);
using DestroyFn = int (*)(void*);
using HeuristicFn = int (*)(void*, void*, void*, void*, void*, void*, void*, int, HeuristicResult*, int*);
using MatmulFn = int (*)(void*, void*, const void*, const void*, void*, const void*, void*, const void*, const void*, void*,
                         void*, void*, const Algo*, void*, size_t, cudaStream_t);
using VersionFn = size_t (*)();

struct Lt {
  LtStatus status;
  void* lib = nullptr;
  CreateFn create = nullptr;
  DescCreateFn desc_create = nullptr;
  SetAttrFn desc_set = nullptr, layout_set = nullptr, pref_set = nullptr;
  LayoutCreateFn layout_create = nullptr;
  CreateFn pref_create = nullptr;
  DestroyFn pref_destroy = nullptr, desc_destroy = nullptr, layout_destroy = nullptr;
  HeuristicFn heuristic = nullptr;
  MatmulFn matmul = nullptr;
};

template <class F>
bool sym(Lt& s, F* f, const char* name, std::string* missing) {
  *f = reinterpret_cast<F>(dlsym(s.lib, name));
  if (!*f && missing->empty()) *missing = name;
  return *f != nullptr;
}

Lt& lt() {
  static Lt* s = [] {
    auto* l = new Lt();  // never destroyed: handles may outlive static destruction order
    if (!env_on("OLMO_CUBLASLT", true)) {
      l->status.reason = "disabled by OLMO_CUBLASLT=0";
      return l;
    }
    std::string searched;
    l->lib = open_cuda_library("libcublasLt", "OLMO_CUBLASLT_PATH", &l->status.path, &searched);
    if (!l->lib) {
      l->status.reason = "libcublasLt.so.* not found (searched " + searched + ")";
      return l;
    }
    std::string missing;
    bool ok = sym(*l, &l->create, "cublasLtCreate", &missing) & sym(*l, &l->desc_create, "cublasLtMatmulDescCreate", &missing) &
              sym(*l, &l->desc_set, "cublasLtMatmulDescSetAttribute", &missing) &
              sym(*l, &l->layout_create, "cublasLtMatrixLayoutCreate", &missing) &
              sym(*l, &l->layout_set, "cublasLtMatrixLayoutSetAttribute", &missing) &
              sym(*l, &l->pref_create, "cublasLtMatmulPreferenceCreate", &missing) &
              sym(*l, &l->pref_set, "cublasLtMatmulPreferenceSetAttribute", &missing) &
              sym(*l, &l->pref_destroy, "cublasLtMatmulPreferenceDestroy", &missing) &
              sym(*l, &l->desc_destroy, "cublasLtMatmulDescDestroy", &missing) &
              sym(*l, &l->layout_destroy, "cublasLtMatrixLayoutDestroy", &missing) &
              sym(*l, &l->heuristic, "cublasLtMatmulAlgoGetHeuristic", &missing) & sym(*l, &l->matmul, "cublasLtMatmul", &missing);
    if (!ok) {
      l->status.reason = l->status.path + " lacks " + missing + " (not a cuBLASLt library?)";
      l->status.path.clear();
      dlclose(l->lib);
      l->lib = nullptr;
      return l;
    }
    if (auto v = reinterpret_cast<VersionFn>(dlsym(l->lib, "cublasLtGetVersion"))) l->status.version = v();
    l->status.loaded = true;
    return l;
  }();
  return *s;
}

struct Device {
  void* handle = nullptr;
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
  bool failed = false;
};

// A plan: what cublasLtMatmul needs for one call signature; `ok` false caches "no algorithm".
struct Plan {
  bool ok = false;
  void *desc = nullptr, *a = nullptr, *b = nullptr, *c = nullptr;
  Algo algo{};
  size_t workspace = 0;
};
using PlanKey = std::tuple<int, bool, bool, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                           int64_t, bool, int>;

std::mutex mu;
Device devices[64];
std::map<PlanKey, Plan> plans;  // bounded: cleared (descriptors destroyed) past 4096 entries

void destroy(Plan& p) {
  if (p.desc) lt().desc_destroy(p.desc);
  for (void* l : {p.a, p.b, p.c})
    if (l) lt().layout_destroy(l);
  p = Plan{};
}

// Largest power of two (<= 256) dividing the address: the alignment the heuristic may assume.
uint32_t alignment(const void* p) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  uint32_t al = 256;
  while (al > 1 && (a % al) != 0) al >>= 1;
  return al;
}

Device* device_state(int dev, std::string* why) {
  Device& d = devices[dev];
  if (d.failed) { *why = "cublasLtCreate failed on this device"; return nullptr; }
  if (d.handle) return &d;
  if (lt().create(&d.handle) != 0 || !d.handle) {
    d.failed = true;
    *why = "cublasLtCreate failed";
    return nullptr;
  }
  const char* mb = std::getenv("OLMO_CUBLASLT_WORKSPACE_MB");
  size_t bytes = size_t(mb && *mb ? std::strtoull(mb, nullptr, 10) : 32) << 20;
  if (bytes && cudaMalloc(&d.workspace, bytes) == cudaSuccess) d.workspace_bytes = bytes;
  else { cudaGetLastError(); d.workspace = nullptr; }  // run without workspace rather than not at all
  return &d;
}

void set_batch(void* layout, int64_t batch, int64_t stride) {
  if (batch <= 1) return;
  int32_t n = int32_t(batch);
  lt().layout_set(layout, LAYOUT_BATCH_COUNT, &n, sizeof(n));
  lt().layout_set(layout, LAYOUT_BATCH_STRIDE, &stride, sizeof(stride));
}
}  // namespace

const LtStatus& cublaslt_status() { return lt().status; }

bool lt_gemm_bf16(int dev, bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const uint16_t* A,
                  int64_t lda, int64_t strideA, const uint16_t* B, int64_t ldb, int64_t strideB, float beta, void* C,
                  bool c_bf16, int64_t ldc, int64_t strideC, int64_t batch, std::string* why) {
  Lt& L = lt();
  if (!L.lib) { *why = L.status.reason; return false; }
  if (dev < 0 || dev >= 64) { *why = "device index out of range"; return false; }
  if (K == 0) { *why = "K = 0"; return false; }
  // A stride-0 (broadcast) operand over a batch is left to GemmEx, which documents it.
  if (batch > 1 && (strideA == 0 || strideB == 0 || strideC == 0)) { *why = "broadcast batch operand"; return false; }
  if (batch >= (int64_t(1) << 31)) { *why = "batch exceeds int32"; return false; }
  std::lock_guard<std::mutex> lock(mu);
  Device* d = device_state(dev, why);
  if (!d) return false;
  const uint32_t alA = alignment(A), alB = alignment(B), alC = alignment(C);
  PlanKey key{dev, transA, transB, M, N, K, lda, ldb, ldc, batch > 1 ? strideA : 0, batch > 1 ? strideB : 0,
              batch > 1 ? strideC : 0, batch, c_bf16, int(alA | (alB << 9) | (alC << 18))};
  auto it = plans.find(key);
  if (it == plans.end()) {
    if (plans.size() >= 4096) {  // shapes are few in training; this bounds pathological callers
      for (auto& kv : plans) destroy(kv.second);
      plans.clear();
    }
    Plan p;
    const int cty = c_bf16 ? R_16BF : R_32F;
    // Lt's A = our B, Lt's B = our A (column-major view of the row-major product).
    int opA = transB ? OP_T : OP_N, opB = transA ? OP_T : OP_N;
    bool ok = L.desc_create(&p.desc, COMPUTE_32F, R_32F) == 0 &&
              L.desc_set(p.desc, DESC_TRANSA, &opA, sizeof(opA)) == 0 && L.desc_set(p.desc, DESC_TRANSB, &opB, sizeof(opB)) == 0 &&
              L.layout_create(&p.a, R_16BF, uint64_t(transB ? K : N), uint64_t(transB ? N : K), ldb) == 0 &&
              L.layout_create(&p.b, R_16BF, uint64_t(transA ? M : K), uint64_t(transA ? K : M), lda) == 0 &&
              L.layout_create(&p.c, cty, uint64_t(N), uint64_t(M), ldc) == 0;
    if (ok) {
      set_batch(p.a, batch, strideB);
      set_batch(p.b, batch, strideA);
      set_batch(p.c, batch, strideC);
      void* pref = nullptr;
      uint64_t ws = d->workspace_bytes;
      ok = L.pref_create(&pref) == 0 && L.pref_set(pref, PREF_MAX_WORKSPACE, &ws, sizeof(ws)) == 0 &&
           L.pref_set(pref, PREF_ALIGN_A, &alB, sizeof(alB)) == 0 && L.pref_set(pref, PREF_ALIGN_B, &alA, sizeof(alA)) == 0 &&
           L.pref_set(pref, PREF_ALIGN_C, &alC, sizeof(alC)) == 0 && L.pref_set(pref, PREF_ALIGN_D, &alC, sizeof(alC)) == 0;
      HeuristicResult r{};
      int n = 0;
      ok = ok && L.heuristic(d->handle, p.desc, p.a, p.b, p.c, p.c, pref, 1, &r, &n) == 0 && n > 0 && r.state == 0;
      if (pref) L.pref_destroy(pref);
      if (ok) {
        p.ok = true;
        p.algo = r.algo;
        p.workspace = r.workspaceSize;
      }
    }
    if (!p.ok) destroy(p);  // cached as "no algorithm" without descriptors
    it = plans.emplace(key, p).first;
  }
  const Plan& p = it->second;
  if (!p.ok) { *why = "no cuBLASLt algorithm for this shape/alignment"; return false; }
  int st = L.matmul(d->handle, p.desc, &alpha, B, p.a, A, p.b, &beta, C, p.c, C, p.c, &p.algo, d->workspace, p.workspace,
                    cudaStream_t(0));
  if (st != 0) {
    cudaGetLastError();
    *why = "cublasLtMatmul returned status " + std::to_string(st);
    return false;
  }
  return true;
}

}  // namespace olmo::cuda
