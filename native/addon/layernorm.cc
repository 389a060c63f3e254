// Binding for native/cpu/layernorm.cc and native/cuda/layernorm.cu. Optional tensors (weight,
// bias, their gradients) are passed as (null, 0).
#include "olmo/ops/layernorm.h"

#include "args.h"
#include "registry.h"

namespace olmo::addon {

template <class T>
static T* opt_ptr(const Napi::CallbackInfo& info, size_t i, int64_t count, int* dev, int fallback) {
  if (info.Length() <= i || info[i].IsNull() || info[i].IsUndefined()) { *dev = fallback; return nullptr; }
  return arg_ptr<T>(info, i, count, dev);
}

static void check_nc(int64_t N, int64_t C) {
  OLMO_CHECK(N >= 0 && C > 0, "SHAPE_MISMATCH", "norm: bad sizes N=" << N << " C=" << C, "");
}

// layerNormFwd(out, off, mean, off, rstd, off, x, off, weight|null, off, bias|null, off, N, C, eps)
static Napi::Value LayerNormFwd(const Napi::CallbackInfo& info) {
  int64_t N = arg_i64(info, 12), C = arg_i64(info, 13);
  check_nc(N, C);
  int d[6];
  float* out = arg_ptr<float>(info, 0, N * C, &d[0]);
  float* mean = arg_ptr<float>(info, 2, N, &d[1]);
  float* rstd = arg_ptr<float>(info, 4, N, &d[2]);
  const float* x = arg_ptr<float>(info, 6, N * C, &d[3]);
  const float* w = opt_ptr<float>(info, 8, C, &d[4], d[0]);
  const float* b = opt_ptr<float>(info, 10, C, &d[5], d[0]);
  int dev = same_device({d[0], d[1], d[2], d[3], d[4], d[5]});
  OLMO_DISPATCH(dev, layernorm_fwd_f32, out, mean, rstd, x, w, b, N, C, float(arg_f64(info, 14)));
  return info.Env().Undefined();
}

// layerNormBwd(dx, off, dweight|null, off, dbias|null, off, dout, off, x, off, weight|null, off,
//              mean, off, rstd, off, N, C)
static Napi::Value LayerNormBwd(const Napi::CallbackInfo& info) {
  int64_t N = arg_i64(info, 16), C = arg_i64(info, 17);
  check_nc(N, C);
  int d[8];
  float* dx = arg_ptr<float>(info, 0, N * C, &d[0]);
  float* dw = opt_ptr<float>(info, 2, C, &d[1], d[0]);
  float* db = opt_ptr<float>(info, 4, C, &d[2], d[0]);
  const float* dout = arg_ptr<float>(info, 6, N * C, &d[3]);
  const float* x = arg_ptr<float>(info, 8, N * C, &d[4]);
  const float* w = opt_ptr<float>(info, 10, C, &d[5], d[0]);
  const float* mean = arg_ptr<float>(info, 12, N, &d[6]);
  const float* rstd = arg_ptr<float>(info, 14, N, &d[7]);
  int dev = same_device({d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]});
  OLMO_DISPATCH(dev, layernorm_bwd_f32, dx, dw, db, dout, x, w, mean, rstd, N, C);
  return info.Env().Undefined();
}

// rmsNormFwd(out, off, rstd, off, x, off, weight|null, off, N, C, eps)
static Napi::Value RmsNormFwd(const Napi::CallbackInfo& info) {
  int64_t N = arg_i64(info, 8), C = arg_i64(info, 9);
  check_nc(N, C);
  int d[4];
  float* out = arg_ptr<float>(info, 0, N * C, &d[0]);
  float* rstd = arg_ptr<float>(info, 2, N, &d[1]);
  const float* x = arg_ptr<float>(info, 4, N * C, &d[2]);
  const float* w = opt_ptr<float>(info, 6, C, &d[3], d[0]);
  int dev = same_device({d[0], d[1], d[2], d[3]});
  OLMO_DISPATCH(dev, rmsnorm_fwd_f32, out, rstd, x, w, N, C, float(arg_f64(info, 10)));
  return info.Env().Undefined();
}

// rmsNormBwd(dx, off, dweight|null, off, dout, off, x, off, weight|null, off, rstd, off, N, C)
static Napi::Value RmsNormBwd(const Napi::CallbackInfo& info) {
  int64_t N = arg_i64(info, 12), C = arg_i64(info, 13);
  check_nc(N, C);
  int d[6];
  float* dx = arg_ptr<float>(info, 0, N * C, &d[0]);
  float* dw = opt_ptr<float>(info, 2, C, &d[1], d[0]);
  const float* dout = arg_ptr<float>(info, 4, N * C, &d[2]);
  const float* x = arg_ptr<float>(info, 6, N * C, &d[3]);
  const float* w = opt_ptr<float>(info, 8, C, &d[4], d[0]);
  const float* rstd = arg_ptr<float>(info, 10, N, &d[5]);
  int dev = same_device({d[0], d[1], d[2], d[3], d[4], d[5]});
  OLMO_DISPATCH(dev, rmsnorm_bwd_f32, dx, dw, dout, x, w, rstd, N, C);
  return info.Env().Undefined();
}

OLMO_REGISTER(layernorm) {
  def(env, exports, "layerNormFwd", LayerNormFwd);
  def(env, exports, "layerNormBwd", LayerNormBwd);
  def(env, exports, "rmsNormFwd", RmsNormFwd);
  def(env, exports, "rmsNormBwd", RmsNormBwd);
}

}  // namespace olmo::addon
