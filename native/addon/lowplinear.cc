// Binding for native/cpu/lowplinear.cc and native/cuda/lowplinear.cu.
#include "olmo/ops/lowplinear.h"

#include <vector>

#include "args.h"
#include "registry.h"

namespace olmo::addon {

// lowpLinear(x, xOff, M, K, weights) with weights = [[fmt, w, wOff, N, y, yOff, ldy], ...]:
// y_i[m*ldy_i + r] = sum_k x[m*K + k] * W_i[r, k] for every weight i (one fused native call).
static Napi::Value LowpLinear(const Napi::CallbackInfo& info) {
  const int64_t M = arg_i64(info, 2), K = arg_i64(info, 3);
  OLMO_CHECK(M >= 0 && K >= 0 && M < (1LL << 31) && K < (1LL << 31), "SHAPE_MISMATCH", "lowpLinear: bad dimensions M=" << M << " K=" << K, "");
  int dx = 0;
  const float* x = arg_ptr<float>(info, 0, M * K, &dx);
  OLMO_CHECK(info.Length() > 4 && info[4].IsArray(), "INVALID_ARGUMENT", "lowpLinear: weights must be an array", "");
  Napi::Array arr = info[4].As<Napi::Array>();
  std::vector<WeightRef> ws;
  std::vector<int> devs{dx};
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value v = arr.Get(i);
    OLMO_CHECK(v.IsArray() && v.As<Napi::Array>().Length() == 7, "INVALID_ARGUMENT", "lowpLinear: weight entry " << i << " must be [fmt, buf, off, N, y, off, ldy]", "");
    Napi::Array e = v.As<Napi::Array>();
    // Re-pack the entry as call arguments so the bounds-checked decoders apply unchanged.
    const int fmt = e.Get(0u).As<Napi::Number>().Int32Value();
    OLMO_CHECK(fmt == int(WeightFormat::BF16) || fmt == int(WeightFormat::Q8_0), "DTYPE_UNSUPPORTED", "lowpLinear: unknown weight format " << fmt, "use bfloat16 or q8_0 weights");
    const WeightFormat f = WeightFormat(fmt);
    const int64_t N = e.Get(3u).As<Napi::Number>().Int64Value(), ldy = e.Get(6u).As<Napi::Number>().Int64Value();
    OLMO_CHECK(N >= 0 && ldy >= N, "SHAPE_MISMATCH", "lowpLinear: weight " << i << " has N=" << N << " ldy=" << ldy, "");
    OLMO_CHECK(f != WeightFormat::Q8_0 || K % 32 == 0, "SHAPE_MISMATCH", "lowpLinear: q8_0 weights need in-features divisible by 32, got " << K, "keep this weight in bfloat16");
    auto buf_of = [&](uint32_t j, int64_t off, int64_t nbytes, int* dev) -> void* {
      Napi::Value b = e.Get(j);
      OLMO_CHECK(NativeBuffer::IsInstance(b), "INVALID_ARGUMENT", "lowpLinear: weight entry " << i << " field " << j << " is not a NativeBuffer", "");
      NativeBuffer* nb = Napi::ObjectWrap<NativeBuffer>::Unwrap(b.As<Napi::Object>());
      OLMO_CHECK(!nb->freed(), "TENSOR_DISPOSED", "lowpLinear: storage was freed", "the tensor was disposed");
      OLMO_CHECK(off >= 0 && nbytes >= 0 && uint64_t(off) + uint64_t(nbytes) <= nb->nbytes(), "SHAPE_MISMATCH",
                 "lowpLinear: " << nbytes << " bytes at " << off << " exceed a buffer of " << nb->nbytes(), "");
      *dev = nb->device();
      return static_cast<char*>(nb->data()) + off;
    };
    int dw = 0, dy = 0;
    const int64_t wOff = e.Get(2u).As<Napi::Number>().Int64Value(), yOff = e.Get(5u).As<Napi::Number>().Int64Value();
    OLMO_CHECK(yOff % 4 == 0, "INVALID_ARGUMENT", "lowpLinear: output offset not float-aligned", "");
    const void* w = buf_of(1u, wOff, weight_bytes(f, N, K), &dw);
    float* y = static_cast<float*>(buf_of(4u, yOff, M == 0 || N == 0 ? 0 : ((M - 1) * ldy + N) * 4, &dy));
    devs.push_back(dw);
    devs.push_back(dy);
    ws.push_back(WeightRef{f, w, N, y, ldy});
  }
  int dev = dx;
  for (int d : devs) OLMO_CHECK(d == dev, "DEVICE_MISMATCH", "lowpLinear: tensors on different devices", "move them with .to(device) first");
  OLMO_DISPATCH(dev, lowp_linear, x, M, K, ws.data(), int(ws.size()));
  return info.Env().Undefined();
}

// lowpIsa() -> name; lowpIsa(cap, q8act) re-selects the kernels first.
static Napi::Value LowpIsa(const Napi::CallbackInfo& info) {
  if (info.Length() >= 2) {
    OLMO_CHECK(info[0].IsString(), "INVALID_ARGUMENT", "lowpIsa: cap must be a string", "");
    return Napi::String::New(info.Env(), cpu::lowp_set_isa(info[0].As<Napi::String>().Utf8Value().c_str(), arg_bool(info, 1)));
  }
  return Napi::String::New(info.Env(), cpu::lowp_isa());
}

OLMO_REGISTER(lowplinear) {
  def(env, exports, "lowpLinear", LowpLinear);
  def(env, exports, "lowpIsa", LowpIsa);
}

}  // namespace olmo::addon
