// Binding for native/cpu/gemm.cc and native/cuda/gemm.cu.
#include "olmo/ops/gemm.h"

#include <vector>

#include "args.h"
#include "registry.h"

namespace olmo::addon {

// Elements spanned by `batch` row-major matrices of rows x cols with leading dim ld.
static int64_t extent(int64_t batch, int64_t stride, int64_t rows, int64_t cols, int64_t ld) {
  if (batch == 0 || rows == 0 || cols == 0) return 0;
  return (batch - 1) * stride + (rows - 1) * ld + cols;
}

// gemm(transA, transB, M, N, K, alpha, A, offA, lda, strideA, B, offB, ldb, strideB,
//      beta, C, offC, ldc, strideC, batch)
static Napi::Value Gemm(const Napi::CallbackInfo& info) {
  bool ta = arg_bool(info, 0), tb = arg_bool(info, 1);
  int64_t M = arg_i64(info, 2), N = arg_i64(info, 3), K = arg_i64(info, 4);
  float alpha = float(arg_f64(info, 5));
  int64_t lda = arg_i64(info, 8), sA = arg_i64(info, 9);
  int64_t ldb = arg_i64(info, 12), sB = arg_i64(info, 13);
  float beta = float(arg_f64(info, 14));
  int64_t ldc = arg_i64(info, 17), sC = arg_i64(info, 18), batch = arg_i64(info, 19);
  OLMO_CHECK(M >= 0 && N >= 0 && K >= 0 && batch >= 0, "SHAPE_MISMATCH", "gemm: negative dimension", "");
  OLMO_CHECK(lda >= (ta ? M : K) && ldb >= (tb ? K : N) && ldc >= N, "SHAPE_MISMATCH", "gemm: leading dimension too small", "");
  OLMO_CHECK(M < (1LL << 31) && N < (1LL << 31) && K < (1LL << 31), "SHAPE_MISMATCH", "gemm: dimension exceeds 2^31", "split the matmul");
  int da, db, dc;
  const float* A = arg_ptr<float>(info, 6, extent(batch, sA, ta ? K : M, ta ? M : K, lda), &da);
  const float* B = arg_ptr<float>(info, 10, extent(batch, sB, tb ? N : K, tb ? K : N, ldb), &db);
  float* C = arg_ptr<float>(info, 15, extent(batch, sC, M, N, ldc), &dc);
  int dev = same_device({da, db, dc});
  OLMO_DISPATCH(dev, gemm_f32, ta, tb, M, N, K, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC, batch);
  return info.Env().Undefined();
}

// linearF32(x, xOff, M, K, weights) with weights = [[w, wOff, N, y, yOff, ldy], ...] (float32 buffers,
// byte offsets): y_i[m*ldy_i + r] = sum_k x[m*K + k] * W_i[r, k] for every weight in one call (CPU
// only: the fused q/k/v and gate/up linears of an inference forward; see cpu::linear_f32).
static Napi::Value LinearF32(const Napi::CallbackInfo& info) {
  const int64_t M = arg_i64(info, 2), K = arg_i64(info, 3);
  OLMO_CHECK(M >= 0 && K >= 0 && M < (1LL << 31) && K < (1LL << 31), "SHAPE_MISMATCH", "linearF32: bad dimensions M=" << M << " K=" << K, "");
  int dx = 0;
  const float* x = arg_ptr<float>(info, 0, M * K, &dx);
  OLMO_CHECK(info.Length() > 4 && info[4].IsArray(), "INVALID_ARGUMENT", "linearF32: weights must be an array", "");
  Napi::Array arr = info[4].As<Napi::Array>();
  OLMO_CHECK(arr.Length() <= 64, "INVALID_ARGUMENT", "linearF32: " << arr.Length() << " weights in one call (at most 64)", "");
  std::vector<WeightRef> ws;
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value v = arr.Get(i);
    OLMO_CHECK(v.IsArray() && v.As<Napi::Array>().Length() == 6, "INVALID_ARGUMENT",
               "linearF32: weight entry " << i << " must be [w, wOff, N, y, yOff, ldy]", "");
    Napi::Array e = v.As<Napi::Array>();
    for (uint32_t j : {1u, 2u, 4u, 5u})
      OLMO_CHECK(e.Get(j).IsNumber(), "INVALID_ARGUMENT", "linearF32: weight entry " << i << " field " << j << " is not a number", "");
    const int64_t N = e.Get(2u).As<Napi::Number>().Int64Value(), ldy = e.Get(5u).As<Napi::Number>().Int64Value();
    OLMO_CHECK(N >= 0 && N < (1LL << 31) && ldy >= N && ldy < (1LL << 40), "SHAPE_MISMATCH", "linearF32: weight " << i << " has N=" << N << " ldy=" << ldy, "");
    auto buf_of = [&](uint32_t j, int64_t count, int* dev) -> float* {
      Napi::Value b = e.Get(j);
      OLMO_CHECK(NativeBuffer::IsInstance(b), "INVALID_ARGUMENT", "linearF32: weight entry " << i << " field " << j << " is not a NativeBuffer", "");
      NativeBuffer* nb = Napi::ObjectWrap<NativeBuffer>::Unwrap(b.As<Napi::Object>());
      OLMO_CHECK(!nb->freed(), "TENSOR_DISPOSED", "linearF32: storage was freed", "the tensor was disposed");
      const int64_t off = e.Get(j + 1).As<Napi::Number>().Int64Value();
      OLMO_CHECK(off >= 0 && off % 4 == 0, "INVALID_ARGUMENT", "linearF32: offset " << off << " is not a float32 offset", "");
      OLMO_CHECK(uint64_t(off) + uint64_t(count) * 4 <= nb->nbytes(), "SHAPE_MISMATCH",
                 "linearF32: " << count << " floats at byte " << off << " exceed a buffer of " << nb->nbytes() << " bytes", "");
      *dev = nb->device();
      return reinterpret_cast<float*>(static_cast<char*>(nb->data()) + off);
    };
    int dw = 0, dy = 0;
    const float* w = buf_of(0u, N * K, &dw);
    float* y = buf_of(3u, M == 0 || N == 0 ? 0 : (M - 1) * ldy + N, &dy);
    OLMO_CHECK(dw == dx && dy == dx, "DEVICE_MISMATCH", "linearF32: tensors on different devices", "move them with .to(device) first");
    ws.push_back(WeightRef{WeightFormat::F32, w, N, y, ldy});
  }
  OLMO_CHECK(dx < 0, "DEVICE_MISMATCH", "linearF32: CPU only", "on CUDA use one linear() per weight");
  cpu::linear_f32(x, M, K, ws.data(), int(ws.size()));
  return info.Env().Undefined();
}

// gemmBf16(transA, transB, M, N, K, alpha, A, offA, dtypeA, lda, strideA, B, offB, dtypeB, ldb, strideB,
//          beta, C, offC, ldc, strideC, batch[, dtypeC[, aRounded, bRounded]]): bf16-rounded operands, fp32
// accumulation; C float32 (default), or bfloat16 on CUDA (dtypeC = bfloat16: rounded once from the fp32
// result). aRounded / bRounded (CPU): that float32 operand holds bf16 values already (roundBf16).
// CPU takes float32 or bfloat16 operands; CUDA takes bfloat16 (the TS layer casts first).
static Napi::Value GemmBf16(const Napi::CallbackInfo& info) {
  bool ta = arg_bool(info, 0), tb = arg_bool(info, 1);
  int64_t M = arg_i64(info, 2), N = arg_i64(info, 3), K = arg_i64(info, 4);
  float alpha = float(arg_f64(info, 5));
  int64_t adt = arg_i64(info, 8), lda = arg_i64(info, 9), sA = arg_i64(info, 10);
  int64_t bdt = arg_i64(info, 13), ldb = arg_i64(info, 14), sB = arg_i64(info, 15);
  float beta = float(arg_f64(info, 16));
  int64_t ldc = arg_i64(info, 19), sC = arg_i64(info, 20), batch = arg_i64(info, 21);
  OLMO_CHECK(M >= 0 && N >= 0 && K >= 0 && batch >= 0, "SHAPE_MISMATCH", "gemmBf16: negative dimension", "");
  OLMO_CHECK(lda >= (ta ? M : K) && ldb >= (tb ? K : N) && ldc >= N, "SHAPE_MISMATCH", "gemmBf16: leading dimension too small", "");
  OLMO_CHECK(M < (1LL << 31) && N < (1LL << 31) && K < (1LL << 31), "SHAPE_MISMATCH", "gemmBf16: dimension exceeds 2^31", "split the matmul");
  auto okDt = [](int64_t d) { return d == int64_t(DType::F32) || d == int64_t(DType::BF16); };
  OLMO_CHECK(okDt(adt) && okDt(bdt), "DTYPE_UNSUPPORTED", "gemmBf16: operands must be float32 or bfloat16", "");
  int da, db, dc;
  const void* A = arg_bytes(info, 6, extent(batch, sA, ta ? K : M, ta ? M : K, lda), dtype_size(DType(adt)), &da);
  const void* B = arg_bytes(info, 11, extent(batch, sB, tb ? N : K, tb ? K : N, ldb), dtype_size(DType(bdt)), &db);
  const int64_t cdt = info.Length() > 22 && !info[22].IsUndefined() ? arg_i64(info, 22) : int64_t(DType::F32);
  OLMO_CHECK(okDt(cdt), "DTYPE_UNSUPPORTED", "gemmBf16: C must be float32 or bfloat16", "");
  void* Cv = arg_bytes(info, 17, extent(batch, sC, M, N, ldc), dtype_size(DType(cdt)), &dc);
  float* C = static_cast<float*>(Cv);
  int dev = same_device({da, db, dc});
  OLMO_CHECK(cdt == int64_t(DType::F32) || dev >= 0, "DTYPE_UNSUPPORTED", "gemmBf16: a bfloat16 C is CUDA-only",
             "use a float32 C on the CPU");
  if (dev < 0) {
    const bool ar = info.Length() > 23 && arg_bool(info, 23), br = info.Length() > 24 && arg_bool(info, 24);
    cpu::gemm_bf16(ta, tb, M, N, K, alpha, A, DType(adt), lda, sA, B, DType(bdt), ldb, sB, beta, C, ldc, sC, batch, ar, br);
  } else {
#ifdef OLMO_WITH_CUDA
    OLMO_CHECK(adt == int64_t(DType::BF16) && bdt == int64_t(DType::BF16), "DTYPE_UNSUPPORTED",
               "gemmBf16 on CUDA: operands must be bfloat16", "cast them with .to('bfloat16') first");
    if (cdt == int64_t(DType::BF16))
      cuda::gemm_bf16_out_bf16(dev, ta, tb, M, N, K, alpha, static_cast<const uint16_t*>(A), lda, sA,
                               static_cast<const uint16_t*>(B), ldb, sB, beta, static_cast<uint16_t*>(Cv), ldc, sC, batch);
    else
      cuda::gemm_bf16(dev, ta, tb, M, N, K, alpha, static_cast<const uint16_t*>(A), lda, sA, static_cast<const uint16_t*>(B),
                      ldb, sB, beta, C, ldc, sC, batch);
#else
    cuda_unavailable("gemm_bf16");
#endif
  }
  return info.Env().Undefined();
}

static Napi::Value GemmBf16Isa(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), cpu::gemm_bf16_isa());
}

// cudaGemmInfo([dev]): which CUDA GEMM libraries loaded (and why not), the OLMO_CUDA_GEMM choice,
// and with a device index the fp32 / bf16 backends in use there plus cuBLASLt call counts. Needs no
// GPU without `dev`; INVALID_ARGUMENT on a bad OLMO_CUDA_GEMM; CUDA_UNAVAILABLE without a CUDA build.
static Napi::Value CudaGemmInfo(const Napi::CallbackInfo& info) {
#ifdef OLMO_WITH_CUDA
  Napi::Env env = info.Env();
  cuda::GemmLibraries g = cuda::gemm_libraries();
  Napi::Object o = Napi::Object::New(env);
  o.Set("choice", g.choice);
  Napi::Object lt = Napi::Object::New(env);
  lt.Set("loaded", g.lt_loaded);
  lt.Set("path", g.lt_path);
  lt.Set("reason", g.lt_reason);
  lt.Set("version", double(g.lt_version));
  o.Set("cublasLt", lt);
  Napi::Object cb = Napi::Object::New(env);
  cb.Set("loaded", g.cublas_loaded);
  cb.Set("path", g.cublas_path);
  cb.Set("reason", g.cublas_reason);
  o.Set("cublas", cb);
  if (info.Length() > 0 && !info[0].IsUndefined()) {
    int dev = int(arg_i64(info, 0));
    o.Set("f32", cuda::gemm_backend(dev));
    o.Set("bf16", cuda::gemm_bf16_backend(dev));
    cuda::GemmStats st = cuda::gemm_stats();
    o.Set("ltCalls", double(st.lt_calls));
    o.Set("ltFallbacks", double(st.lt_fallbacks));
    o.Set("ltLastFallback", st.last_fallback);
  }
  return o;
#else
  (void)info;
  cuda_unavailable("cudaGemmInfo");
#endif
}

OLMO_REGISTER(gemm) {
  def(env, exports, "cudaGemmInfo", CudaGemmInfo);
  def(env, exports, "gemm", Gemm);
  def(env, exports, "gemmBf16", GemmBf16);
  def(env, exports, "gemmBf16Isa", GemmBf16Isa);
  def(env, exports, "linearF32", LinearF32);
}

}  // namespace olmo::addon
