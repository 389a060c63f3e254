// Binding for native/cpu/clamp.cc and native/cuda/clamp.cu.
#include "olmo/ops/clamp.h"

#include "args.h"
#include "registry.h"

namespace olmo::addon {

// clampFwd(out, off, x, off, n, lo, hi)
static Napi::Value ClampFwd(const Napi::CallbackInfo& info) {
  int64_t n = arg_i64(info, 4);
  int d0, d1;
  float* out = arg_ptr<float>(info, 0, n, &d0);
  const float* x = arg_ptr<float>(info, 2, n, &d1);
  int dev = same_device({d0, d1});
  OLMO_DISPATCH(dev, clamp_fwd_f32, out, x, float(arg_f64(info, 5)), float(arg_f64(info, 6)), n);
  return info.Env().Undefined();
}

// clampBwd(dx, off, dout, off, x, off, n, lo, hi)
static Napi::Value ClampBwd(const Napi::CallbackInfo& info) {
  int64_t n = arg_i64(info, 6);
  int d0, d1, d2;
  float* dx = arg_ptr<float>(info, 0, n, &d0);
  const float* dout = arg_ptr<float>(info, 2, n, &d1);
  const float* x = arg_ptr<float>(info, 4, n, &d2);
  int dev = same_device({d0, d1, d2});
  OLMO_DISPATCH(dev, clamp_bwd_f32, dx, dout, x, float(arg_f64(info, 7)), float(arg_f64(info, 8)), n);
  return info.Env().Undefined();
}

OLMO_REGISTER(clamp) {
  def(env, exports, "clampFwd", ClampFwd);
  def(env, exports, "clampBwd", ClampBwd);
}

}  // namespace olmo::addon
