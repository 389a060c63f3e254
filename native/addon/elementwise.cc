// Bindings for native/{cpu,cuda}/elementwise.*
#include "olmo/ops/elementwise.h"

#include <vector>

#include "args.h"
#include "registry.h"

namespace olmo::addon {

// add(out, off, a, off, b, off, n, alpha, beta)
static Napi::Value Add(const Napi::CallbackInfo& info) {
  int64_t n = arg_i64(info, 6);
  int d0, d1, d2;
  float* out = arg_ptr<float>(info, 0, n, &d0);
  const float* a = arg_ptr<float>(info, 2, n, &d1);
  const float* b = arg_ptr<float>(info, 4, n, &d2);
  int dev = same_device({d0, d1, d2});
  OLMO_DISPATCH(dev, add_f32, out, a, b, n, float(arg_f64(info, 7)), float(arg_f64(info, 8)));
  return info.Env().Undefined();
}

// mul(out, off, a, off, b, off, n)
static Napi::Value Mul(const Napi::CallbackInfo& info) {
  int64_t n = arg_i64(info, 6);
  int d0, d1, d2;
  float* out = arg_ptr<float>(info, 0, n, &d0);
  const float* a = arg_ptr<float>(info, 2, n, &d1);
  const float* b = arg_ptr<float>(info, 4, n, &d2);
  int dev = same_device({d0, d1, d2});
  OLMO_DISPATCH(dev, mul_f32, out, a, b, n);
  return info.Env().Undefined();
}

// scale(out, off, a, off, n, s)
static Napi::Value Scale(const Napi::CallbackInfo& info) {
  int64_t n = arg_i64(info, 4);
  int d0, d1;
  float* out = arg_ptr<float>(info, 0, n, &d0);
  const float* a = arg_ptr<float>(info, 2, n, &d1);
  int dev = same_device({d0, d1});
  OLMO_DISPATCH(dev, scale_f32, out, a, float(arg_f64(info, 5)), n);
  return info.Env().Undefined();
}

// fill(out, off, n, value)
static Napi::Value Fill(const Napi::CallbackInfo& info) {
  int64_t n = arg_i64(info, 2);
  int dev;
  float* out = arg_ptr<float>(info, 0, n, &dev);
  OLMO_DISPATCH(dev, fill_f32, out, float(arg_f64(info, 3)), n);
  return info.Env().Undefined();
}

// copyStrided(out, off, src, off, shape[], strides[], elemSize, scatter = false)
// gather (scatter=false): out contiguous, src strided. scatter=true: out strided, src contiguous.
static Napi::Value CopyStrided(const Napi::CallbackInfo& info) {
  OLMO_CHECK(info.Length() > 6 && info[4].IsArray() && info[5].IsArray(), "INVALID_ARGUMENT", "copyStrided: shape/strides arrays", "");
  Napi::Array sh = info[4].As<Napi::Array>(), st = info[5].As<Napi::Array>();
  OLMO_CHECK(sh.Length() == st.Length() && sh.Length() <= 16, "SHAPE_MISMATCH", "copyStrided: rank", "");
  int nd = int(sh.Length());
  std::vector<int64_t> shape(nd), strides(nd);
  int64_t n = 1, span = 1;
  for (int i = 0; i < nd; ++i) {
    shape[i] = int64_t(sh.Get(uint32_t(i)).As<Napi::Number>().Int64Value());
    strides[i] = int64_t(st.Get(uint32_t(i)).As<Napi::Number>().Int64Value());
    OLMO_CHECK(shape[i] >= 0 && strides[i] >= 0, "SHAPE_MISMATCH", "copyStrided: negative shape/stride", "");
    n *= shape[i];
    if (shape[i] > 0) span += (shape[i] - 1) * strides[i];
  }
  if (n == 0) return info.Env().Undefined();
  int64_t es = arg_i64(info, 6);
  bool scatter = info.Length() > 7 && arg_bool(info, 7);
  int d0, d1;
  void* out = arg_bytes(info, 0, scatter ? span : n, size_t(es), &d0);
  const void* src = arg_bytes(info, 2, scatter ? n : span, size_t(es), &d1);
  int dev = same_device({d0, d1});
  OLMO_DISPATCH(dev, copy_strided, out, src, nd, shape.data(), strides.data(), es, scatter);
  return info.Env().Undefined();
}

// cast(out, off, outDtype, src, off, srcDtype, n)
static Napi::Value Cast(const Napi::CallbackInfo& info) {
  int64_t n = arg_i64(info, 6);
  int64_t od = arg_i64(info, 2), sd = arg_i64(info, 5);
  OLMO_CHECK(od >= 0 && od <= 4 && sd >= 0 && sd <= 4, "DTYPE_UNSUPPORTED", "cast: dtype code", "");
  int d0, d1;
  void* out = arg_bytes(info, 0, n, dtype_size(DType(od)), &d0);
  const void* src = arg_bytes(info, 3, n, dtype_size(DType(sd)), &d1);
  int dev = same_device({d0, d1});
  OLMO_DISPATCH(dev, cast, out, DType(od), src, DType(sd), n);
  return info.Env().Undefined();
}

// roundBf16(out, offOut, src, offSrc, n): float32 -> bf16 values kept in float32 (CPU only: the
// amp_bf16 operand form of the avx2 gemm_bf16 path; CUDA GEMMs take real bfloat16 tensors).
static Napi::Value RoundBf16(const Napi::CallbackInfo& info) {
  int64_t n = arg_i64(info, 4);
  int d0, d1;
  float* out = arg_ptr<float>(info, 0, n, &d0);
  const float* src = arg_ptr<float>(info, 2, n, &d1);
  OLMO_CHECK(d0 < 0 && d1 < 0, "INVALID_ARGUMENT", "roundBf16: CPU tensors only", "on CUDA cast to bfloat16 instead");
  cpu::round_bf16(out, src, n);
  return info.Env().Undefined();
}

OLMO_REGISTER(elementwise) {
  def(env, exports, "roundBf16", RoundBf16);
  def(env, exports, "add", Add);
  def(env, exports, "mul", Mul);
  def(env, exports, "scale", Scale);
  def(env, exports, "fill", Fill);
  def(env, exports, "copyStrided", CopyStrided);
  def(env, exports, "cast", Cast);
}

}  // namespace olmo::addon
