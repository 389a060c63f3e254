// Binding for native/cpu/swiglu.cc and native/cuda/swiglu.cu.
#include "olmo/ops/swiglu.h"

#include "args.h"
#include "olmo/tensor.h"
#include "registry.h"

namespace olmo::addon {

// Optional trailing dtype code of gate / up: 0 float32 (default), 1 bfloat16 (amp_bf16 storage).
static bool bf16_inputs(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || info[i].IsUndefined()) return false;
  int64_t code = arg_i64(info, i);
  OLMO_CHECK(code == int(DType::F32) || code == int(DType::BF16), "DTYPE_UNSUPPORTED",
             "swiglu: gate/up dtype code " << code, "gate and up must be float32 or bfloat16");
  return code == int(DType::BF16);
}

// swigluFwd(out, off, gate, off, up, off, n, inDtype?)
static Napi::Value SwigluFwd(const Napi::CallbackInfo& info) {
  int64_t n = arg_i64(info, 6);
  int d0, d1, d2;
  float* out = arg_ptr<float>(info, 0, n, &d0);
  if (bf16_inputs(info, 7)) {
    const uint16_t* g = arg_ptr<uint16_t>(info, 2, n, &d1);
    const uint16_t* u = arg_ptr<uint16_t>(info, 4, n, &d2);
    int dev = same_device({d0, d1, d2});
    OLMO_DISPATCH(dev, swiglu_fwd_bf16in, out, g, u, n);
  } else {
    const float* g = arg_ptr<float>(info, 2, n, &d1);
    const float* u = arg_ptr<float>(info, 4, n, &d2);
    int dev = same_device({d0, d1, d2});
    OLMO_DISPATCH(dev, swiglu_fwd_f32, out, g, u, n);
  }
  return info.Env().Undefined();
}

// swigluBwd(dgate|null, off, dup|null, off, dout, off, gate, off, up, off, n, inDtype?)
static Napi::Value SwigluBwd(const Napi::CallbackInfo& info) {
  int64_t n = arg_i64(info, 10);
  int d[5];
  const float* dout = arg_ptr<float>(info, 4, n, &d[2]);
  float* dg = info[0].IsNull() ? (d[0] = d[2], nullptr) : arg_ptr<float>(info, 0, n, &d[0]);
  float* du = info[2].IsNull() ? (d[1] = d[2], nullptr) : arg_ptr<float>(info, 2, n, &d[1]);
  if (bf16_inputs(info, 11)) {
    const uint16_t* g = arg_ptr<uint16_t>(info, 6, n, &d[3]);
    const uint16_t* u = arg_ptr<uint16_t>(info, 8, n, &d[4]);
    int dev = same_device({d[0], d[1], d[2], d[3], d[4]});
    OLMO_DISPATCH(dev, swiglu_bwd_bf16in, dg, du, dout, g, u, n);
  } else {
    const float* g = arg_ptr<float>(info, 6, n, &d[3]);
    const float* u = arg_ptr<float>(info, 8, n, &d[4]);
    int dev = same_device({d[0], d[1], d[2], d[3], d[4]});
    OLMO_DISPATCH(dev, swiglu_bwd_f32, dg, du, dout, g, u, n);
  }
  return info.Env().Undefined();
}

OLMO_REGISTER(swiglu) {
  def(env, exports, "swigluFwd", SwigluFwd);
  def(env, exports, "swigluBwd", SwigluBwd);
}

}  // namespace olmo::addon
