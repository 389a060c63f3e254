// Binding for native/cpu/adamw.cc and native/cuda/adamw.cu (fused multi-tensor AdamW).
#include "olmo/ops/adamw.h"

#include <vector>

#include "args.h"
#include "registry.h"

namespace olmo::addon {

namespace {

Napi::Array arg_array(const Napi::CallbackInfo& info, size_t i, const char* what) {
  OLMO_CHECK(i < info.Length() && info[i].IsArray(), "INVALID_ARGUMENT", "adamwStep: argument " << i << " (" << what << ") must be an array", "internal binding misuse");
  return info[i].As<Napi::Array>();
}

// Pointer to `count` floats of (buffers[k], offsets[k]), bounds-checked like arg_ptr.
float* elem_ptr(Napi::Array bufs, Napi::Array offs, uint32_t k, int64_t count, int* device) {
  Napi::Value bv = bufs.Get(k), ov = offs.Get(k);
  OLMO_CHECK(NativeBuffer::IsInstance(bv) && ov.IsNumber(), "INVALID_ARGUMENT", "adamwStep: entry " << k << " is not a (NativeBuffer, offset) pair", "internal binding misuse");
  NativeBuffer* b = NativeBuffer::Unwrap(bv.As<Napi::Object>());
  OLMO_CHECK(!b->freed(), "TENSOR_DISPOSED", "adamwStep: tensor " << k << " storage was already freed", "the tensor was disposed (explicitly or by a scope); keep() it to retain it");
  int64_t off = ov.As<Napi::Number>().Int64Value();
  OLMO_CHECK(off >= 0 && count >= 0, "INVALID_ARGUMENT", "adamwStep: negative offset/size", "");
  uint64_t end = uint64_t(off) + uint64_t(count) * sizeof(float);
  OLMO_CHECK(end <= b->nbytes(), "SHAPE_MISMATCH", "adamwStep: tensor " << k << " view [" << off << ", " << end << ") exceeds its buffer of " << b->nbytes() << " bytes", "check shapes");
  *device = b->device();
  return reinterpret_cast<float*>(static_cast<char*>(b->data()) + off);
}

}  // namespace

// adamwStep(params[], paramOffsets[], grads[], gradOffsets[], expAvg[], expAvgOffsets[],
//           expAvgSq[], expAvgSqOffsets[], sizes[], lr[], weightDecay[], beta1, beta2, eps, step)
// Throws NON_FINITE (and modifies nothing) when any gradient element is NaN or Inf.
static Napi::Value AdamwStep(const Napi::CallbackInfo& info) {
  Napi::Array pb = arg_array(info, 0, "params"), po = arg_array(info, 1, "param offsets");
  Napi::Array gb = arg_array(info, 2, "grads"), go = arg_array(info, 3, "grad offsets");
  Napi::Array mb = arg_array(info, 4, "expAvg"), mo = arg_array(info, 5, "expAvg offsets");
  Napi::Array vb = arg_array(info, 6, "expAvgSq"), vo = arg_array(info, 7, "expAvgSq offsets");
  Napi::Array sz = arg_array(info, 8, "sizes"), lra = arg_array(info, 9, "lr"), wda = arg_array(info, 10, "weightDecay");
  const uint32_t n = sz.Length();
  for (Napi::Array a : {pb, po, gb, go, mb, mo, vb, vo, lra, wda})
    OLMO_CHECK(a.Length() == n, "INVALID_ARGUMENT", "adamwStep: all per-tensor arrays must have " << n << " entries", "");
  const float beta1 = float(arg_f64(info, 11)), beta2 = float(arg_f64(info, 12)), eps = float(arg_f64(info, 13));
  const int64_t step = arg_i64(info, 14);
  OLMO_CHECK(step >= 1, "INVALID_ARGUMENT", "adamwStep: step must be >= 1, got " << step, "");
  std::vector<float*> p(n), m(n), v(n);
  std::vector<const float*> g(n);
  std::vector<int64_t> sizes(n);
  std::vector<float> lr(n), wd(n);
  int dev = -1;
  for (uint32_t k = 0; k < n; ++k) {
    Napi::Value s = sz.Get(k);
    OLMO_CHECK(s.IsNumber() && lra.Get(k).IsNumber() && wda.Get(k).IsNumber(), "INVALID_ARGUMENT", "adamwStep: size/lr/weightDecay entries must be numbers", "");
    sizes[k] = s.As<Napi::Number>().Int64Value();
    lr[k] = lra.Get(k).As<Napi::Number>().FloatValue();
    wd[k] = wda.Get(k).As<Napi::Number>().FloatValue();
    int d[4];
    p[k] = elem_ptr(pb, po, k, sizes[k], &d[0]);
    g[k] = elem_ptr(gb, go, k, sizes[k], &d[1]);
    m[k] = elem_ptr(mb, mo, k, sizes[k], &d[2]);
    v[k] = elem_ptr(vb, vo, k, sizes[k], &d[3]);
    if (k == 0) dev = d[0];
    same_device({dev, d[0], d[1], d[2], d[3]});
  }
  if (n == 0) return info.Env().Undefined();
#ifdef OLMO_WITH_CUDA
  const bool finite = dev >= 0 ? cuda::adamw_all_finite_f32(dev, int64_t(n), g.data(), sizes.data())
                               : cpu::adamw_all_finite_f32(int64_t(n), g.data(), sizes.data());
#else
  if (dev >= 0) cuda_unavailable("adamw_all_finite_f32");
  const bool finite = cpu::adamw_all_finite_f32(int64_t(n), g.data(), sizes.data());
#endif
  OLMO_CHECK(finite, "NON_FINITE", "adamwStep: a gradient contains NaN or Inf; no parameter was updated",
             "skip this step (loss scaling / lower learning rate), or clip gradients");
  OLMO_DISPATCH(dev, adamw_f32, int64_t(n), p.data(), g.data(), m.data(), v.data(), sizes.data(), lr.data(), wd.data(), beta1, beta2, eps, step);
  return info.Env().Undefined();
}

OLMO_REGISTER(adamw) { def(env, exports, "adamwStep", AdamwStep); }

}  // namespace olmo::addon
