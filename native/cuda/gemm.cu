// gemm on CUDA. Two backends:
//   1. cuBLAS, loaded at run time with dlopen (never linked, so the addon builds and loads without
//      it): OLMO_CUBLAS_PATH (a libcublas.so.* file or a folder holding one), then the loader path
//      (libcublas.so.13 / .12), the CUDA toolkit folders, and pip/conda installs
//      (site-packages/nvidia/{cu13,cublas}/lib, $CONDA_PREFIX/lib). OLMO_CUBLAS=0 disables it.
//      fp32 GEMMs use cublasSgemmStridedBatched with the default (IEEE fp32) math mode;
//      OLMO_CUBLAS_TF32=1 opts into TF32 tensor cores. bf16 GEMMs use cublasGemmStridedBatchedEx
//      (bf16 inputs, fp32 output, CUBLAS_COMPUTE_32F).
//   2. For bf16 on sm_80+ without cuBLAS: our mma.sync tensor-core kernel (gemm_bf16.cu).
//   3. A built-in shared-memory tiled kernel (64x64 tiles, 4x4 outputs per thread, fp32
//      accumulation), used when cuBLAS is absent or returns an error. Templated on the input type
//      (float or bf16).
// Row-major C = op(A) op(B) is computed as the column-major C^T = op(B)^T op(A)^T.
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <glob.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "common.cuh"
#include "olmo/check.h"
#include "olmo/ops/gemm.h"

namespace olmo::cuda {

namespace {
// ---------------------------------------------------------------------------------------------
// Built-in tiled kernel.
constexpr int TILE = 64, KT = 16, TPT = 4;  // TILE x TILE outputs per block, 16 threads x 16 threads

template <class TIn>
__global__ void gemm_kernel(bool ta, bool tb, int M, int N, int K, float alpha, const TIn* __restrict__ A,
                            long lda, long sA, const TIn* __restrict__ B, long ldb, long sB, float beta,
                            float* __restrict__ C, long ldc, long sC) {
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
      float* out = C + (long)r * ldc + c;
      *out = alpha * acc[i][j] + (beta == 0.f ? 0.f : beta * *out);
    }
  }
}

template <class TIn>
void tiled(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const TIn* A, int64_t lda, int64_t strideA,
           const TIn* B, int64_t ldb, int64_t strideB, float beta, float* C, int64_t ldc, int64_t strideC, int64_t batch) {
  OLMO_CHECK(batch < 65536, "SHAPE_MISMATCH", "cuda gemm: batch " << batch << " exceeds 65535", "reshape the batch");
  dim3 grid(unsigned((N + TILE - 1) / TILE), unsigned((M + TILE - 1) / TILE), unsigned(batch)), block(16, 16);
  gemm_kernel<TIn><<<grid, block>>>(transA, transB, int(M), int(N), int(K), alpha, A, lda, strideA, B, ldb, strideB, beta, C, ldc, strideC);
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
  std::string path;
  CreateFn create = nullptr;
  SetMathFn set_math = nullptr;
  SgemmBatchedFn sgemm = nullptr;
  GemmBatchedExFn gemm_ex = nullptr;
  Handle handles[64] = {};
  bool failed[64] = {};
  std::mutex mu;
};

bool env_on(const char* name, bool dflt) {
  const char* v = std::getenv(name);
  if (!v || !*v) return dflt;
  return !(v[0] == '0' || v[0] == 'n' || v[0] == 'N' || v[0] == 'f' || v[0] == 'F');
}

void* try_open(const std::string& p, std::string* used) {
  void* h = dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (h) *used = p;
  return h;
}

void* open_cublas(std::string* used) {
  const char* names[] = {"libcublas.so.13", "libcublas.so.12", "libcublas.so"};
  if (const char* env = std::getenv("OLMO_CUBLAS_PATH"); env && *env) {
    std::string p(env);
    if (void* h = try_open(p, used)) return h;
    for (const char* n : names)
      if (void* h = try_open(p + "/" + n, used)) return h;
  }
  for (const char* n : names)
    if (void* h = try_open(n, used)) return h;
  std::vector<std::string> patterns = {
      "/usr/local/cuda/lib64/libcublas.so.1[0-9]*", "/usr/local/cuda/targets/*/lib/libcublas.so.1[0-9]*",
      "/usr/local/cuda-1[0-9]*/lib64/libcublas.so.1[0-9]*", "/usr/lib/*-linux-gnu/libcublas.so.1[0-9]*",
  };
  std::vector<std::string> roots = {"/usr/local/lib/python3*/dist-packages", "/usr/local/lib/python3*/site-packages",
                                    "/usr/lib/python3*/dist-packages", "/usr/lib/python3/dist-packages", "/opt/conda/lib/python3*/site-packages"};
  if (const char* home = std::getenv("HOME")) roots.push_back(std::string(home) + "/.local/lib/python3*/site-packages");
  if (const char* venv = std::getenv("VIRTUAL_ENV")) roots.push_back(std::string(venv) + "/lib/python3*/site-packages");
  if (const char* conda = std::getenv("CONDA_PREFIX")) {
    roots.push_back(std::string(conda) + "/lib/python3*/site-packages");
    patterns.push_back(std::string(conda) + "/lib/libcublas.so.1[0-9]*");
  }
  for (const auto& r : roots) {
    patterns.push_back(r + "/nvidia/cu13/lib/libcublas.so.13*");
    patterns.push_back(r + "/nvidia/cublas/lib/libcublas.so.1[0-9]*");
  }
  for (const auto& pat : patterns) {
    glob_t g{};
    if (glob(pat.c_str(), 0, nullptr, &g) == 0) {
      // Highest version first (glob sorts ascending).
      for (size_t i = g.gl_pathc; i-- > 0;) {
        if (void* h = try_open(g.gl_pathv[i], used)) {
          globfree(&g);
          return h;
        }
      }
    }
    globfree(&g);
  }
  return nullptr;
}

Cublas& cublas() {
  static Cublas* c = [] {
    auto* s = new Cublas();  // never destroyed: handles may outlive static destruction order
    if (!env_on("OLMO_CUBLAS", true)) return s;
    s->lib = open_cublas(&s->path);
    if (!s->lib) return s;
    s->create = reinterpret_cast<CreateFn>(dlsym(s->lib, "cublasCreate_v2"));
    s->set_math = reinterpret_cast<SetMathFn>(dlsym(s->lib, "cublasSetMathMode"));
    s->sgemm = reinterpret_cast<SgemmBatchedFn>(dlsym(s->lib, "cublasSgemmStridedBatched"));
    s->gemm_ex = reinterpret_cast<GemmBatchedExFn>(dlsym(s->lib, "cublasGemmStridedBatchedEx"));
    if (!s->create || !s->sgemm) {
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
}  // namespace

const char* gemm_backend(int dev) {
  cudaSetDevice(dev);
  return handle_for(dev) ? "cublas" : "tiled";
}

std::string cublas_path() { return cublas().path; }

void gemm_f32(int dev, bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
              const float* A, int64_t lda, int64_t strideA, const float* B, int64_t ldb, int64_t strideB,
              float beta, float* C, int64_t ldc, int64_t strideC, int64_t batch) {
  if (M == 0 || N == 0 || batch == 0) return;
  cudaSetDevice(dev);
  if (Handle h = handle_for(dev); h && fits_int(lda) && fits_int(ldb) && fits_int(ldc) && fits_int(batch) && K > 0) {
    int st = cublas().sgemm(h, transB ? OP_T : OP_N, transA ? OP_T : OP_N, int(N), int(M), int(K), &alpha, B, int(ldb), strideB, A,
                            int(lda), strideA, &beta, C, int(ldc), strideC, int(batch));
    if (st == 0) {
      OLMO_CUDA_LAUNCH_CHECK("gemm (cublas)");
      return;
    }
    cudaGetLastError();  // fall back to the built-in kernel
  }
  tiled<float>(transA, transB, M, N, K, alpha, A, lda, strideA, B, ldb, strideB, beta, C, ldc, strideC, batch);
}

void gemm_bf16(int dev, bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
               const uint16_t* A, int64_t lda, int64_t strideA, const uint16_t* B, int64_t ldb, int64_t strideB,
               float beta, float* C, int64_t ldc, int64_t strideC, int64_t batch) {
  if (M == 0 || N == 0 || batch == 0) return;
  cudaSetDevice(dev);
  // OLMO_CUDA_GEMM_BF16=mma|tiled skips cuBLAS and forces one built-in kernel (tests, parity checks).
  const std::string forced = gemm_bf16_forced();
  Handle h = forced.empty() ? handle_for(dev) : nullptr;
  if (h && cublas().gemm_ex && fits_int(lda) && fits_int(ldb) && fits_int(ldc) && fits_int(batch) && K > 0) {
    int st = cublas().gemm_ex(h, transB ? OP_T : OP_N, transA ? OP_T : OP_N, int(N), int(M), int(K), &alpha, B, R_16BF, int(ldb),
                              strideB, A, R_16BF, int(lda), strideA, &beta, C, R_32F, int(ldc), strideC, int(batch), COMPUTE_32F,
                              GEMM_DEFAULT);
    if (st == 0) {
      OLMO_CUDA_LAUNCH_CHECK("gemm_bf16 (cublas)");
      return;
    }
    cudaGetLastError();
  }
  // Our tensor-core kernel (gemm_bf16.cu) on sm_80+, else the fp32-FMA tiled kernel.
  if (forced != "tiled" && gemm_bf16_mma(dev, transA, transB, M, N, K, alpha, A, lda, strideA, B, ldb, strideB, beta, C, ldc, strideC, batch))
    return;
  tiled<__nv_bfloat16>(transA, transB, M, N, K, alpha, reinterpret_cast<const __nv_bfloat16*>(A), lda, strideA,
                       reinterpret_cast<const __nv_bfloat16*>(B), ldb, strideB, beta, C, ldc, strideC, batch);
}

}  // namespace olmo::cuda
