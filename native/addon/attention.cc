// Bindings for native/cpu/attention.cc, native/cuda/attention.cu and (amp_bf16) native/cuda/attention_bf16.cu.
#include "olmo/ops/attention.h"

#include "args.h"
#include "registry.h"

namespace olmo::addon {

namespace {
struct Dims {
  int64_t B, T, Tk, NH, NKV, HS;
};

// Reads B, T, Tk, NH, NKV, HS at info[i..i+5] and the causal flag at info[i+7]; validates them.
Dims dims(const Napi::CallbackInfo& info, size_t i) {
  Dims d{arg_i64(info, i), arg_i64(info, i + 1), arg_i64(info, i + 2), arg_i64(info, i + 3), arg_i64(info, i + 4), arg_i64(info, i + 5)};
  OLMO_CHECK(d.B >= 0 && d.T >= 0 && d.Tk >= 0 && d.NH > 0 && d.NKV > 0 && d.HS > 0, "SHAPE_MISMATCH",
             "attention: invalid dims B=" << d.B << " T=" << d.T << " Tk=" << d.Tk << " NH=" << d.NH << " NKV=" << d.NKV << " HS=" << d.HS, "");
  OLMO_CHECK(d.NH % d.NKV == 0, "SHAPE_MISMATCH", "attention: NH " << d.NH << " is not a multiple of NKV " << d.NKV, "GQA needs NH % NKV == 0");
  const bool causal = arg_bool(info, i + 7);
  OLMO_CHECK(!causal || d.Tk >= d.T, "SHAPE_MISMATCH", "attention: causal needs Tk (" << d.Tk << ") >= T (" << d.T << ")", "");
  OLMO_CHECK(d.Tk > 0 || d.T == 0, "SHAPE_MISMATCH", "attention: no keys", "");
  return d;
}

// Optional document starts at info[i] (buffer or null), info[i+1] (byte offset): int32 [B, Tk],
// causal only, on the device of the other tensors. On the CPU the values are checked here
// (0 <= doc_start[p] <= p); CUDA callers validate them on the host before uploading.
const int32_t* doc_starts(const Napi::CallbackInfo& info, size_t i, const Dims& d, bool causal, int dev) {
  if (info.Length() <= i || info[i].IsNull() || info[i].IsUndefined()) return nullptr;
  OLMO_CHECK(causal, "INVALID_ARGUMENT", "attention: document masking needs causal attention", "");
  int ddev;
  const int32_t* ds = arg_ptr<int32_t>(info, i, d.B * d.Tk, &ddev);
  same_device({dev, ddev});
  if (ddev < 0)
    for (int64_t b = 0; b < d.B; ++b)
      for (int64_t p = 0; p < d.Tk; ++p) {
        const int32_t s = ds[b * d.Tk + p];
        OLMO_CHECK(s >= 0 && s <= p, "INVALID_ARGUMENT", "attention: doc_start[" << b << ", " << p << "] = " << s << " is not in [0, " << p << "]", "each position's document must start at or before it");
      }
  return ds;
}

// Optional amp_bf16 flag at info[i]: on CUDA, run the tensor-core kernels (attention_bf16.cu) when
// they apply (HS 64/128, sm_80+); the CPU kernel is fp32 either way.
bool want_bf16(const Napi::CallbackInfo& info, size_t i) { return info.Length() > i && info[i].IsBoolean() && info[i].As<Napi::Boolean>().Value(); }

}  // namespace

// attentionForward(q, off, k, off, v, off, out, off, lse, off, B, T, Tk, NH, NKV, HS, scale, causal[, docStart, off[, bf16]])
static Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  Dims d = dims(info, 10);
  float scale = float(arg_f64(info, 16));
  bool causal = arg_bool(info, 17);
  const int64_t nq = d.B * d.T * d.NH * d.HS, nk = d.B * d.Tk * d.NKV * d.HS;
  int d0, d1, d2, d3, d4;
  const float* q = arg_ptr<float>(info, 0, nq, &d0);
  const float* k = arg_ptr<float>(info, 2, nk, &d1);
  const float* v = arg_ptr<float>(info, 4, nk, &d2);
  float* out = arg_ptr<float>(info, 6, nq, &d3);
  float* lse = arg_ptr<float>(info, 8, d.B * d.NH * d.T, &d4);
  int dev = same_device({d0, d1, d2, d3, d4});
  const int32_t* ds = doc_starts(info, 18, d, causal, dev);
#ifdef OLMO_WITH_CUDA
  if (dev >= 0 && want_bf16(info, 20) &&
      cuda::attention_fwd_bf16(dev, q, k, v, out, lse, d.B, d.T, d.Tk, d.NH, d.NKV, d.HS, scale, causal, ds))
    return info.Env().Undefined();
#endif
  OLMO_DISPATCH(dev, attention_fwd_f32, q, k, v, out, lse, d.B, d.T, d.Tk, d.NH, d.NKV, d.HS, scale, causal, ds);
  return info.Env().Undefined();
}

// attentionBackward(q, off, k, off, v, off, out, off, lse, off, dout, off, dq, off, dk, off, dv, off,
//                   B, T, Tk, NH, NKV, HS, scale, causal[, docStart, off[, bf16]])
static Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  Dims d = dims(info, 18);
  float scale = float(arg_f64(info, 24));
  bool causal = arg_bool(info, 25);
  const int64_t nq = d.B * d.T * d.NH * d.HS, nk = d.B * d.Tk * d.NKV * d.HS;
  int ds[9];
  const float* q = arg_ptr<float>(info, 0, nq, &ds[0]);
  const float* k = arg_ptr<float>(info, 2, nk, &ds[1]);
  const float* v = arg_ptr<float>(info, 4, nk, &ds[2]);
  const float* out = arg_ptr<float>(info, 6, nq, &ds[3]);
  const float* lse = arg_ptr<float>(info, 8, d.B * d.NH * d.T, &ds[4]);
  const float* dout = arg_ptr<float>(info, 10, nq, &ds[5]);
  float* dq = arg_ptr<float>(info, 12, nq, &ds[6]);
  float* dk = arg_ptr<float>(info, 14, nk, &ds[7]);
  float* dv = arg_ptr<float>(info, 16, nk, &ds[8]);
  int dev = same_device({ds[0], ds[1], ds[2], ds[3], ds[4], ds[5], ds[6], ds[7], ds[8]});
  const int32_t* starts = doc_starts(info, 26, d, causal, dev);
#ifdef OLMO_WITH_CUDA
  if (dev >= 0 && want_bf16(info, 28) &&
      cuda::attention_bwd_bf16(dev, q, k, v, out, lse, dout, dq, dk, dv, d.B, d.T, d.Tk, d.NH, d.NKV, d.HS, scale, causal, starts))
    return info.Env().Undefined();
#endif
  OLMO_DISPATCH(dev, attention_bwd_f32, q, k, v, out, lse, dout, dq, dk, dv, d.B, d.T, d.Tk, d.NH, d.NKV, d.HS, scale, causal, starts);
  return info.Env().Undefined();
}

// amp_bf16 with bf16-stored q/k/v: the tensor-core kernels read them directly. Returns false, having
// done nothing, where those kernels do not apply (CPU, HS other than 64/128, pre-sm_80, disabled by
// OLMO_CUDA_FLASH_BF16=0, a build without CUDA): the caller then widens q/k/v and runs the fp32 path.
// attentionForwardBf16In(q, off, k, off, v, off, out, off, lse, off, B, T, Tk, NH, NKV, HS, scale, causal, docStart|null, off) -> bool
static Napi::Value AttentionForwardBf16In(const Napi::CallbackInfo& info) {
  Dims d = dims(info, 10);
  float scale = float(arg_f64(info, 16));
  bool causal = arg_bool(info, 17);
  const int64_t nq = d.B * d.T * d.NH * d.HS, nk = d.B * d.Tk * d.NKV * d.HS;
  int d0, d1, d2, d3, d4;
  const uint16_t* q = arg_ptr<uint16_t>(info, 0, nq, &d0);
  const uint16_t* k = arg_ptr<uint16_t>(info, 2, nk, &d1);
  const uint16_t* v = arg_ptr<uint16_t>(info, 4, nk, &d2);
  float* out = arg_ptr<float>(info, 6, nq, &d3);
  float* lse = arg_ptr<float>(info, 8, d.B * d.NH * d.T, &d4);
  int dev = same_device({d0, d1, d2, d3, d4});
  const int32_t* ds = doc_starts(info, 18, d, causal, dev);
  bool ran = false;
#ifdef OLMO_WITH_CUDA
  if (dev >= 0) ran = cuda::attention_fwd_bf16in(dev, q, k, v, out, lse, d.B, d.T, d.Tk, d.NH, d.NKV, d.HS, scale, causal, ds);
#else
  (void)q; (void)k; (void)v; (void)out; (void)lse; (void)ds; (void)scale;
#endif
  return Napi::Boolean::New(info.Env(), ran);
}

// attentionBackwardBf16In(q, off, k, off, v, off, out, off, lse, off, dout, off, dq, off, dk, off, dv, off,
//                         B, T, Tk, NH, NKV, HS, scale, causal, docStart|null, off) -> bool (see above)
static Napi::Value AttentionBackwardBf16In(const Napi::CallbackInfo& info) {
  Dims d = dims(info, 18);
  float scale = float(arg_f64(info, 24));
  bool causal = arg_bool(info, 25);
  const int64_t nq = d.B * d.T * d.NH * d.HS, nk = d.B * d.Tk * d.NKV * d.HS;
  int ds[9];
  const uint16_t* q = arg_ptr<uint16_t>(info, 0, nq, &ds[0]);
  const uint16_t* k = arg_ptr<uint16_t>(info, 2, nk, &ds[1]);
  const uint16_t* v = arg_ptr<uint16_t>(info, 4, nk, &ds[2]);
  const float* out = arg_ptr<float>(info, 6, nq, &ds[3]);
  const float* lse = arg_ptr<float>(info, 8, d.B * d.NH * d.T, &ds[4]);
  const float* dout = arg_ptr<float>(info, 10, nq, &ds[5]);
  float* dq = arg_ptr<float>(info, 12, nq, &ds[6]);
  float* dk = arg_ptr<float>(info, 14, nk, &ds[7]);
  float* dv = arg_ptr<float>(info, 16, nk, &ds[8]);
  int dev = same_device({ds[0], ds[1], ds[2], ds[3], ds[4], ds[5], ds[6], ds[7], ds[8]});
  const int32_t* starts = doc_starts(info, 26, d, causal, dev);
  bool ran = false;
#ifdef OLMO_WITH_CUDA
  if (dev >= 0)
    ran = cuda::attention_bwd_bf16in(dev, q, k, v, out, lse, dout, dq, dk, dv, d.B, d.T, d.Tk, d.NH, d.NKV, d.HS, scale, causal, starts);
#else
  (void)q; (void)k; (void)v; (void)out; (void)lse; (void)dout; (void)dq; (void)dk; (void)dv; (void)starts; (void)scale;
#endif
  return Napi::Boolean::New(info.Env(), ran);
}

OLMO_REGISTER(attention) {
  def(env, exports, "attentionForward", AttentionForward);
  def(env, exports, "attentionBackward", AttentionBackward);
  def(env, exports, "attentionForwardBf16In", AttentionForwardBf16In);
  def(env, exports, "attentionBackwardBf16In", AttentionBackwardBf16In);
}

}  // namespace olmo::addon
