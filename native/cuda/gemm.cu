// gemm on CUDA. Backends (OLMO_CUDA_GEMM=auto|lt|cublas|tiled picks one; see gemm_lt.cuh):
//   0. cuBLASLt for bf16 GEMMs (gemm_lt.cu): heuristic-chosen tensor-core algorithm + workspace.
//   1. cuBLAS, loaded at run time with dlopen (never linked, so the addon builds and loads without
//      it; dynlib.cu): OLMO_CUBLAS_PATH (a libcublas.so.* file or a folder holding one), then the loader
//      path (libcublas.so.13 / .12), the CUDA toolkit folders, and pip/conda installs
//      (site-packages/nvidia/{cu13,cublas}/lib, $CONDA_PREFIX/lib). OLMO_CUBLAS=0 disables it.
//      fp32 GEMMs use cublasSgemmStridedBatched with the default (IEEE fp32) math mode;
//      OLMO_CUBLAS_TF32=1 opts into TF32 tensor cores. bf16 GEMMs use cublasGemmStridedBatchedEx
//      (bf16 inputs, fp32 or bf16 output, CUBLAS_COMPUTE_32F).
//   2. For bf16 (fp32 output) on sm_80+ without cuBLAS(Lt): our mma.sync tensor-core kernel
//      (gemm_bf16.cu); OLMO_CUDA_GEMM_BF16=mma|tiled skips the libraries and forces one kernel.
//   3. A built-in shared-memory tiled kernel (64x64 tiles, 4x4 outputs per thread, fp32
//      accumulation), used when cuBLAS is absent or returns an error. Templated on the input type
//      (float or bf16) and the output type (float, or bf16 rounded once from the fp32 result).
// Row-major C = op(A) op(B) is computed as the column-major C^T = op(B)^T op(A)^T.
#include <cuda_runtime.h>
#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <type_traits>

#include "common.cuh"
#include "dynlib.cuh"
#include "gemm_lt.cuh"
#include "olmo/check.h"
#include "olmo/ops/gemm.h"

namespace olmo::cuda {

namespace {
// ---------------------------------------------------------------------------------------------
// Built-in tiled kernel.
constexpr int TILE = 64, KT = 16, TPT = 4;  // TILE x TILE outputs per block, 16 threads x 16 threads

__device__ __forceinline__ void store_out(float* p, float v) { *p = v; }
__device__ __forceinline__ void store_out(__nv_bfloat16* p, float v) { *p = __float2bfloat16_rn(v); }

template <class TIn, class TOut = float>
__global__ void gemm_kernel(bool ta, bool tb, int M, int N, int K, float alpha, const TIn* __restrict__ A,
                            long lda, long sA, const TIn* __restrict__ B, long ldb, long sB, float beta,
                            TOut* __restrict__ C, long ldc, long sC) {
  __shared__ float As[KT][TILE + 1];
  __shared__ float Bs[KT][TILE + 1];
  const long b = blockIdx.z;
  A += b * sA; B += b * sB; C += b * sC;
  const int row0 = blockIdx.y * TILE, col0 = blockIdx.x * TILE;
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * 16 + tx;
  float acc[TPT][TPT] = {};
  for (int k0 = 0; k0 < K; k0 += KT) {
    for (int i = tid; i < KT * TILE; i += 256) {
      int kk = i / TILE, mm = i % TILE;
      int r = row0 + mm, k = k0 + kk;
      As[kk][mm] = (r < M && k < K) ? to_f32(ta ? A[(long)k * lda + r] : A[(long)r * lda + k]) : 0.f;
      int c = col0 + mm;
      Bs[kk][mm] = (c < N && k < K) ? to_f32(tb ? B[(long)c * ldb + k] : B[(long)k * ldb + c]) : 0.f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < KT; ++kk) {
      float a[TPT], bb[TPT];
#pragma unroll
      for (int i = 0; i < TPT; ++i) a[i] = As[kk][ty * TPT + i];
#pragma unroll
      for (int j = 0; j < TPT; ++j) bb[j] = Bs[kk][tx * TPT + j];
#pragma unroll
      for (int i = 0; i < TPT; ++i)
#pragma unroll
        for (int j = 0; j < TPT; ++j) acc[i][j] += a[i] * bb[j];
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < TPT; ++i) {
    int r = row0 + ty * TPT + i;
    if (r >= M) continue;
#pragma unroll
    for (int j = 0; j < TPT; ++j) {
      int c = col0 + tx * TPT + j;
      if (c >= N) continue;
      TOut* out = C + (long)r * ldc + c;
      store_out(out, alpha * acc[i][j] + (beta == 0.f ? 0.f : beta * to_f32(*out)));
    }
  }
}

template <class TIn, class TOut = float>
void tiled(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const TIn* A, int64_t lda, int64_t strideA,
           const TIn* B, int64_t ldb, int64_t strideB, float beta, TOut* C, int64_t ldc, int64_t strideC, int64_t batch) {
  OLMO_CHECK(batch < 65536, "SHAPE_MISMATCH", "cuda gemm: batch " << batch << " exceeds 65535", "reshape the batch");
  dim3 grid(unsigned((N + TILE - 1) / TILE), unsigned((M + TILE - 1) / TILE), unsigned(batch)), block(16, 16);
  gemm_kernel<TIn, TOut><<<grid, block>>>(transA, transB, int(M), int(N), int(K), alpha, A, lda, strideA, B, ldb, strideB, beta, C, ldc, strideC);
  OLMO_CUDA_LAUNCH_CHECK("gemm launch");
}

// ---------------------------------------------------------------------------------------------
// cuBLAS through dlopen. Only the handful of entry points used here are declared.
using Handle = void*;
using CreateFn = int (*)(Handle*);
using SetMathFn = int (*)(Handle, int);
using SgemmBatchedFn = int (*)(Handle, int, int, int, int, int, const float*, const float*, int, long long, const float*, int,
                               long long, const float*, float*, int, long long, int);
using GemmBatchedExFn = int (*)(Handle, int, int, int, int, int, const void*, const void*, int, int, long long, const void*, int, int,
                                long long, const void*, void*, int, int, long long, int, int, int);
constexpr int OP_N = 0, OP_T = 1, R_32F = 0, R_16BF = 14, COMPUTE_32F = 68, GEMM_DEFAULT = -1, TF32_MATH = 3;

struct Cublas {
  void* lib = nullptr;
  std::string path, reason;
  CreateFn create = nullptr;
  SetMathFn set_math = nullptr;
  SgemmBatchedFn sgemm = nullptr;
  GemmBatchedExFn gemm_ex = nullptr;
  Handle handles[64] = {};
  bool failed[64] = {};
  std::mutex mu;
};

Cublas& cublas() {
  static Cublas* c = [] {
    auto* s = new Cublas();  // never destroyed: handles may outlive static destruction order
    if (!env_on("OLMO_CUBLAS", true)) return s;
    std::string searched;
    s->lib = open_cuda_library("libcublas", "OLMO_CUBLAS_PATH", &s->path, &searched);
    if (!s->lib) {
      s->reason = "libcublas.so.* not found (searched " + searched + ")";
      return s;
    }
    s->create = reinterpret_cast<CreateFn>(dlsym(s->lib, "cublasCreate_v2"));
    s->set_math = reinterpret_cast<SetMathFn>(dlsym(s->lib, "cublasSetMathMode"));
    s->sgemm = reinterpret_cast<SgemmBatchedFn>(dlsym(s->lib, "cublasSgemmStridedBatched"));
    s->gemm_ex = reinterpret_cast<GemmBatchedExFn>(dlsym(s->lib, "cublasGemmStridedBatchedEx"));
    if (!s->create || !s->sgemm) {
      s->reason = s->path + " lacks cublasCreate_v2 / cublasSgemmStridedBatched";
      s->path.clear();
      dlclose(s->lib);
      s->lib = nullptr;
    }
    return s;
  }();
  return *c;
}

// The cuBLAS handle of device `dev` (created on first use), or nullptr when cuBLAS is unusable.
Handle handle_for(int dev) {
  Cublas& c = cublas();
  if (!c.lib || dev < 0 || dev >= 64) return nullptr;
  std::lock_guard<std::mutex> lock(c.mu);
  if (c.handles[dev] || c.failed[dev]) return c.handles[dev];
  Handle h = nullptr;
  if (c.create(&h) != 0 || !h) {
    c.failed[dev] = true;
    return nullptr;
  }
  if (c.set_math && env_on("OLMO_CUBLAS_TF32", false)) c.set_math(h, TF32_MATH);
  c.handles[dev] = h;
  return h;
}

bool fits_int(int64_t x) { return x >= 0 && x < (int64_t(1) << 31); }

std::string cublas_reason() {
  if (!env_on("OLMO_CUBLAS", true)) return "disabled by OLMO_CUBLAS=0";
  if (!cublas().lib) return cublas().reason;
  return "cublasCreate failed or a symbol is missing in " + cublas().path;
}

// How often cuBLASLt ran a bf16 GEMM and how often it handed one on (the last reason kept), so a
// GPU run can tell whether the tensor-core path was really taken.
std::mutex stats_mu;
GemmStats stats;
void count(bool lt_ran, const std::string& why) {
  std::lock_guard<std::mutex> lock(stats_mu);
  if (lt_ran) ++stats.lt_calls;
  else { ++stats.lt_fallbacks; stats.last_fallback = why; }
}
}  // namespace

const char* gemm_backend(int dev) {
  cudaSetDevice(dev);
  return gemm_choice() != GemmChoice::Tiled && handle_for(dev) ? "cublas" : "tiled";
}

const char* gemm_bf16_backend(int dev) {
  GemmChoice c = gemm_choice();
  if (c == GemmChoice::Tiled) return "tiled";
  if (c != GemmChoice::Cublas && cublaslt_status().loaded) return "lt";
  cudaSetDevice(dev);
  return handle_for(dev) && cublas().gemm_ex ? "cublas" : "tiled";
}

std::string cublas_path() { return cublas().path; }

GemmLibraries gemm_libraries() {
  GemmLibraries g;
  g.choice = gemm_choice_name(gemm_choice());
  const LtStatus& l = cublaslt_status();
  g.lt_loaded = l.loaded; g.lt_path = l.path; g.lt_reason = l.reason; g.lt_version = l.version;
  g.cublas_loaded = cublas().lib != nullptr; g.cublas_path = cublas().path;
  if (!g.cublas_loaded) g.cublas_reason = cublas_reason();
  return g;
}

GemmStats gemm_stats() {
  std::lock_guard<std::mutex> lock(stats_mu);
  return stats;
}

void gemm_f32(int dev, bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
              const float* A, int64_t lda, int64_t strideA, const float* B, int64_t ldb, int64_t strideB,
              float beta, float* C, int64_t ldc, int64_t strideC, int64_t batch) {
  if (M == 0 || N == 0 || batch == 0) return;
  cudaSetDevice(dev);
  const GemmChoice choice = gemm_choice();
  Handle h = choice == GemmChoice::Tiled ? nullptr : handle_for(dev);
  OLMO_CHECK(h || choice != GemmChoice::Cublas, "CUDA_UNAVAILABLE", "OLMO_CUDA_GEMM=cublas but cuBLAS is not usable: " << cublas_reason(),
             "set OLMO_CUBLAS_PATH to the folder holding libcublas.so.*, or unset OLMO_CUDA_GEMM");
  if (h && fits_int(lda) && fits_int(ldb) && fits_int(ldc) && fits_int(batch) && K > 0) {
    int st = cublas().sgemm(h, transB ? OP_T : OP_N, transA ? OP_T : OP_N, int(N), int(M), int(K), &alpha, B, int(ldb), strideB, A,
                            int(lda), strideA, &beta, C, int(ldc), strideC, int(batch));
    if (st == 0) {
      OLMO_CUDA_LAUNCH_CHECK("gemm (cublas)");
      return;
    }
    cudaGetLastError();  // fall back to the built-in kernel
    OLMO_CHECK(choice != GemmChoice::Cublas, "CUDA_ERROR", "cublasSgemmStridedBatched returned status " << st, "");
  }
  tiled<float>(transA, transB, M, N, K, alpha, A, lda, strideA, B, ldb, strideB, beta, C, ldc, strideC, batch);
}

namespace {
// bf16 operands, fp32 accumulation, C float32 or bf16: cuBLASLt -> cuBLAS GemmEx -> tiled, as
// OLMO_CUDA_GEMM allows (a forced backend that cannot run raises instead of falling back).
template <class TOut>
void gemm_bf16_any(int dev, bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const uint16_t* A,
                   int64_t lda, int64_t strideA, const uint16_t* B, int64_t ldb, int64_t strideB, float beta, TOut* C,
                   int64_t ldc, int64_t strideC, int64_t batch) {
  if (M == 0 || N == 0 || batch == 0) return;
  cudaSetDevice(dev);
  constexpr bool c_bf16 = !std::is_same<TOut, float>::value;
  // OLMO_CUDA_GEMM_BF16=mma|tiled skips cuBLAS(Lt) and forces one built-in kernel (tests, parity checks).
  const std::string forced = gemm_bf16_forced();
  const GemmChoice choice = forced.empty() ? gemm_choice() : GemmChoice::Tiled;
  if (choice == GemmChoice::Auto || choice == GemmChoice::Lt) {
    std::string why;
    if (lt_gemm_bf16(dev, transA, transB, M, N, K, alpha, A, lda, strideA, B, ldb, strideB, beta, C, c_bf16, ldc, strideC, batch,
                     &why)) {
      count(true, "");
      OLMO_CUDA_LAUNCH_CHECK("gemm_bf16 (cublasLt)");
      return;
    }
    count(false, why);
    if (choice == GemmChoice::Lt) {
      OLMO_CHECK(cublaslt_status().loaded, "CUDA_UNAVAILABLE", "OLMO_CUDA_GEMM=lt but cuBLASLt is not usable: " << why,
                 "set OLMO_CUBLASLT_PATH to the folder holding libcublasLt.so.*, or unset OLMO_CUDA_GEMM");
      OLMO_FAIL("CUDA_ERROR", "OLMO_CUDA_GEMM=lt: cuBLASLt cannot run this GEMM (M=" << M << " N=" << N << " K=" << K << " batch=" << batch
                                  << "): " << why, "unset OLMO_CUDA_GEMM to let it fall back to cuBLAS GemmEx");
    }
  }
  if (choice != GemmChoice::Tiled) {
    Handle h = handle_for(dev);
    OLMO_CHECK((h && cublas().gemm_ex) || choice != GemmChoice::Cublas, "CUDA_UNAVAILABLE",
               "OLMO_CUDA_GEMM=cublas but cuBLAS GemmEx is not usable: " << cublas_reason(),
               "set OLMO_CUBLAS_PATH to the folder holding libcublas.so.*, or unset OLMO_CUDA_GEMM");
    if (h && cublas().gemm_ex && fits_int(lda) && fits_int(ldb) && fits_int(ldc) && fits_int(batch) && K > 0) {
      int st = cublas().gemm_ex(h, transB ? OP_T : OP_N, transA ? OP_T : OP_N, int(N), int(M), int(K), &alpha, B, R_16BF, int(ldb),
                                strideB, A, R_16BF, int(lda), strideA, &beta, C, c_bf16 ? R_16BF : R_32F, int(ldc), strideC,
                                int(batch), COMPUTE_32F, GEMM_DEFAULT);
      if (st == 0) {
        OLMO_CUDA_LAUNCH_CHECK("gemm_bf16 (cublas)");
        return;
      }
      cudaGetLastError();
      OLMO_CHECK(choice != GemmChoice::Cublas, "CUDA_ERROR", "cublasGemmStridedBatchedEx returned status " << st, "");
    }
  }
  // Our tensor-core kernel (gemm_bf16.cu, fp32 output) on sm_80+, else the fp32-FMA tiled kernel.
  if constexpr (!c_bf16) {
    if (forced != "tiled" && gemm_bf16_mma(dev, transA, transB, M, N, K, alpha, A, lda, strideA, B, ldb, strideB, beta, C, ldc,
                                           strideC, batch))
      return;
  }
  using OutT = typename std::conditional<c_bf16, __nv_bfloat16, float>::type;
  tiled<__nv_bfloat16, OutT>(transA, transB, M, N, K, alpha, reinterpret_cast<const __nv_bfloat16*>(A), lda, strideA,
                             reinterpret_cast<const __nv_bfloat16*>(B), ldb, strideB, beta, reinterpret_cast<OutT*>(C), ldc,
                             strideC, batch);
}
}  // namespace

void gemm_bf16(int dev, bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
               const uint16_t* A, int64_t lda, int64_t strideA, const uint16_t* B, int64_t ldb, int64_t strideB,
               float beta, float* C, int64_t ldc, int64_t strideC, int64_t batch) {
  gemm_bf16_any<float>(dev, transA, transB, M, N, K, alpha, A, lda, strideA, B, ldb, strideB, beta, C, ldc, strideC, batch);
}

void gemm_bf16_out_bf16(int dev, bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
                        const uint16_t* A, int64_t lda, int64_t strideA, const uint16_t* B, int64_t ldb, int64_t strideB,
                        float beta, uint16_t* C, int64_t ldc, int64_t strideC, int64_t batch) {
  gemm_bf16_any<uint16_t>(dev, transA, transB, M, N, K, alpha, A, lda, strideA, B, ldb, strideB, beta, C, ldc, strideC, batch);
}

}  // namespace olmo::cuda
