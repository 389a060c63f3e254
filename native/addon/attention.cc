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

#ifdef OLMO_WITH_CUDA
// Optional amp_bf16 flag at info[i]: on CUDA, run the tensor-core kernels (attention_bf16.cu) when
// they apply (HS 64/128, sm_80+); the CPU kernel is fp32 either way (a CPU-only build ignores it).
bool want_bf16(const Napi::CallbackInfo& info, size_t i) { return info.Length() > i && info[i].IsBoolean() && info[i].As<Napi::Boolean>().Value(); }
#endif

// Decoded arguments of one attention call. QKV is float for the fp32 bindings and uint16_t
// (bf16 bits) for the *Bf16In ones; every other tensor is float32 in both.
template <class QKV>
struct FwdArgs {
  Dims d;
  float scale;
  bool causal;
  const QKV *q, *k, *v;
  float *out, *lse;
  int dev;
  const int32_t* doc_start;  // null: no document masking
};

// (q, off, k, off, v, off, out, off, lse, off, B, T, Tk, NH, NKV, HS, scale, causal, docStart?, off?)
template <class QKV>
FwdArgs<QKV> fwd_args(const Napi::CallbackInfo& info) {
  FwdArgs<QKV> a;
  a.d = dims(info, 10);
  const Dims& d = a.d;
  a.scale = float(arg_f64(info, 16));
  a.causal = arg_bool(info, 17);
  const int64_t nq = d.B * d.T * d.NH * d.HS, nk = d.B * d.Tk * d.NKV * d.HS;
  int dv[5];
  a.q = arg_ptr<QKV>(info, 0, nq, &dv[0]);
  a.k = arg_ptr<QKV>(info, 2, nk, &dv[1]);
  a.v = arg_ptr<QKV>(info, 4, nk, &dv[2]);
  a.out = arg_ptr<float>(info, 6, nq, &dv[3]);
  a.lse = arg_ptr<float>(info, 8, d.B * d.NH * d.T, &dv[4]);
  a.dev = same_device({dv[0], dv[1], dv[2], dv[3], dv[4]});
  a.doc_start = doc_starts(info, 18, d, a.causal, a.dev);
  return a;
}

template <class QKV>
struct BwdArgs {
  Dims d;
  float scale;
  bool causal;
  const QKV *q, *k, *v;
  const float *out, *lse, *dout;
  float *dq, *dk, *dv;
  int dev;
  const int32_t* doc_start;  // null: no document masking
};

// (q, off, k, off, v, off, out, off, lse, off, dout, off, dq, off, dk, off, dv, off,
//  B, T, Tk, NH, NKV, HS, scale, causal, docStart?, off?)
template <class QKV>
BwdArgs<QKV> bwd_args(const Napi::CallbackInfo& info) {
  BwdArgs<QKV> a;
  a.d = dims(info, 18);
  const Dims& d = a.d;
  a.scale = float(arg_f64(info, 24));
  a.causal = arg_bool(info, 25);
  const int64_t nq = d.B * d.T * d.NH * d.HS, nk = d.B * d.Tk * d.NKV * d.HS;
  int dv[9];
  a.q = arg_ptr<QKV>(info, 0, nq, &dv[0]);
  a.k = arg_ptr<QKV>(info, 2, nk, &dv[1]);
  a.v = arg_ptr<QKV>(info, 4, nk, &dv[2]);
  a.out = arg_ptr<float>(info, 6, nq, &dv[3]);
  a.lse = arg_ptr<float>(info, 8, d.B * d.NH * d.T, &dv[4]);
  a.dout = arg_ptr<float>(info, 10, nq, &dv[5]);
  a.dq = arg_ptr<float>(info, 12, nq, &dv[6]);
  a.dk = arg_ptr<float>(info, 14, nk, &dv[7]);
  a.dv = arg_ptr<float>(info, 16, nk, &dv[8]);
  a.dev = same_device({dv[0], dv[1], dv[2], dv[3], dv[4], dv[5], dv[6], dv[7], dv[8]});
  a.doc_start = doc_starts(info, 26, d, a.causal, a.dev);
  return a;
}

}  // namespace

// The trailing arguments every attention kernel takes: B, T, Tk, NH, NKV, HS, scale, causal, doc_start.
#define OLMO_ATTENTION_PARAMS(a) (a).d.B, (a).d.T, (a).d.Tk, (a).d.NH, (a).d.NKV, (a).d.HS, (a).scale, (a).causal, (a).doc_start

// attentionForward(q, off, k, off, v, off, out, off, lse, off, B, T, Tk, NH, NKV, HS, scale, causal[, docStart, off[, bf16]])
static Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  const auto a = fwd_args<float>(info);
#ifdef OLMO_WITH_CUDA
  if (a.dev >= 0 && want_bf16(info, 20) && cuda::attention_fwd_bf16(a.dev, a.q, a.k, a.v, a.out, a.lse, OLMO_ATTENTION_PARAMS(a)))
    return info.Env().Undefined();
#endif
  OLMO_DISPATCH(a.dev, attention_fwd_f32, a.q, a.k, a.v, a.out, a.lse, OLMO_ATTENTION_PARAMS(a));
  return info.Env().Undefined();
}

// attentionBackward(q, off, k, off, v, off, out, off, lse, off, dout, off, dq, off, dk, off, dv, off,
//                   B, T, Tk, NH, NKV, HS, scale, causal[, docStart, off[, bf16]])
static Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  const auto a = bwd_args<float>(info);
#ifdef OLMO_WITH_CUDA
  if (a.dev >= 0 && want_bf16(info, 28) &&
      cuda::attention_bwd_bf16(a.dev, a.q, a.k, a.v, a.out, a.lse, a.dout, a.dq, a.dk, a.dv, OLMO_ATTENTION_PARAMS(a)))
    return info.Env().Undefined();
#endif
  OLMO_DISPATCH(a.dev, attention_bwd_f32, a.q, a.k, a.v, a.out, a.lse, a.dout, a.dq, a.dk, a.dv, OLMO_ATTENTION_PARAMS(a));
  return info.Env().Undefined();
}

// amp_bf16 with bf16-stored q/k/v: the tensor-core kernels read them directly. Returns false, having
// done nothing, where those kernels do not apply (CPU, HS other than 64/128, pre-sm_80, disabled by
// OLMO_CUDA_FLASH_BF16=0, a build without CUDA): the caller then widens q/k/v and runs the fp32 path.
// The arguments are still decoded and validated without CUDA, so bad input fails the same way.
// attentionForwardBf16In(q, off, k, off, v, off, out, off, lse, off, B, T, Tk, NH, NKV, HS, scale, causal, docStart|null, off) -> bool
static Napi::Value AttentionForwardBf16In(const Napi::CallbackInfo& info) {
  const auto a = fwd_args<uint16_t>(info);
  bool ran = false;
#ifdef OLMO_WITH_CUDA
  if (a.dev >= 0) ran = cuda::attention_fwd_bf16in(a.dev, a.q, a.k, a.v, a.out, a.lse, OLMO_ATTENTION_PARAMS(a));
#else
  (void)a;
#endif
  return Napi::Boolean::New(info.Env(), ran);
}

// attentionBackwardBf16In(q, off, k, off, v, off, out, off, lse, off, dout, off, dq, off, dk, off, dv, off,
//                         B, T, Tk, NH, NKV, HS, scale, causal, docStart|null, off) -> bool (see above)
static Napi::Value AttentionBackwardBf16In(const Napi::CallbackInfo& info) {
  const auto a = bwd_args<uint16_t>(info);
  bool ran = false;
#ifdef OLMO_WITH_CUDA
  if (a.dev >= 0)
    ran = cuda::attention_bwd_bf16in(a.dev, a.q, a.k, a.v, a.out, a.lse, a.dout, a.dq, a.dk, a.dv, OLMO_ATTENTION_PARAMS(a));
#else
  (void)a;
#endif
  return Napi::Boolean::New(info.Env(), ran);
}

#undef OLMO_ATTENTION_PARAMS

OLMO_REGISTER(attention) {
  def(env, exports, "attentionForward", AttentionForward);
  def(env, exports, "attentionBackward", AttentionBackward);
  def(env, exports, "attentionForwardBf16In", AttentionForwardBf16In);
  def(env, exports, "attentionBackwardBf16In", AttentionBackwardBf16In);
}

}  // namespace olmo::addon
