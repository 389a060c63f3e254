// Bindings for native/cpu/gradclip.cc and native/cuda/gradclip.cu (fused multi-tensor global norm and in-place scale).
#include "olmo/ops/gradclip.h"

#include <vector>

#include "args.h"
#include "registry.h"

namespace olmo::addon {

namespace {

struct Tensors {
  std::vector<float*> ptrs;
  std::vector<int64_t> sizes;
  int dev = -1;
};

// Decodes (buffers[], offsets[], sizes[]) at info[i..i+2], bounds-checking every view.
Tensors tensors(const Napi::CallbackInfo& info, size_t i, const char* op) {
  OLMO_CHECK(info.Length() > i + 2 && info[i].IsArray() && info[i + 1].IsArray() && info[i + 2].IsArray(), "INVALID_ARGUMENT",
             op << ": expected (buffers[], offsets[], sizes[])", "internal binding misuse");
  Napi::Array bufs = info[i].As<Napi::Array>(), offs = info[i + 1].As<Napi::Array>(), szs = info[i + 2].As<Napi::Array>();
  const uint32_t n = szs.Length();
  OLMO_CHECK(bufs.Length() == n && offs.Length() == n, "INVALID_ARGUMENT", op << ": array lengths differ", "");
  Tensors t;
  t.ptrs.resize(n);
  t.sizes.resize(n);
  for (uint32_t k = 0; k < n; ++k) {
    Napi::Value bv = bufs.Get(k), ov = offs.Get(k), sv = szs.Get(k);
    OLMO_CHECK(NativeBuffer::IsInstance(bv) && ov.IsNumber() && sv.IsNumber(), "INVALID_ARGUMENT", op << ": entry " << k << " is not (NativeBuffer, offset, size)", "internal binding misuse");
    NativeBuffer* b = NativeBuffer::Unwrap(bv.As<Napi::Object>());
    OLMO_CHECK(!b->freed(), "TENSOR_DISPOSED", op << ": tensor " << k << " storage was already freed", "the tensor was disposed (explicitly or by a scope); keep() it to retain it");
    const int64_t off = ov.As<Napi::Number>().Int64Value(), size = sv.As<Napi::Number>().Int64Value();
    OLMO_CHECK(off >= 0 && size >= 0, "INVALID_ARGUMENT", op << ": negative offset/size", "");
    const uint64_t end = uint64_t(off) + uint64_t(size) * sizeof(float);
    OLMO_CHECK(end <= b->nbytes(), "SHAPE_MISMATCH", op << ": tensor " << k << " view [" << off << ", " << end << ") exceeds its buffer of " << b->nbytes() << " bytes", "check shapes");
    if (k == 0) t.dev = b->device();
    OLMO_CHECK(b->device() == t.dev, "DEVICE_MISMATCH", op << ": tensors on different devices", "move them to one device with .to(device)");
    t.ptrs[k] = reinterpret_cast<float*>(static_cast<char*>(b->data()) + off);
    t.sizes[k] = size;
  }
  return t;
}

}  // namespace

// gradClipSumSquares(buffers[], offsets[], sizes[]) -> number: sum of squares over all tensors (float64).
static Napi::Value GradClipSumSquares(const Napi::CallbackInfo& info) {
  Tensors t = tensors(info, 0, "gradClipSumSquares");
  const int64_t n = int64_t(t.ptrs.size());
#ifdef OLMO_WITH_CUDA
  const double s = t.dev >= 0 ? cuda::gradclip_sum_squares_f32(t.dev, n, t.ptrs.data(), t.sizes.data())
                              : cpu::gradclip_sum_squares_f32(n, t.ptrs.data(), t.sizes.data());
#else
  if (t.dev >= 0) cuda_unavailable("gradclip_sum_squares_f32");
  const double s = cpu::gradclip_sum_squares_f32(n, t.ptrs.data(), t.sizes.data());
#endif
  return Napi::Number::New(info.Env(), s);
}

// gradClipScale(buffers[], offsets[], sizes[], s): every tensor *= s, in place.
static Napi::Value GradClipScale(const Napi::CallbackInfo& info) {
  Tensors t = tensors(info, 0, "gradClipScale");
  const float s = float(arg_f64(info, 3));
  OLMO_DISPATCH(t.dev, gradclip_scale_f32, int64_t(t.ptrs.size()), t.ptrs.data(), t.sizes.data(), s);
  return info.Env().Undefined();
}

OLMO_REGISTER(gradclip) {
  def(env, exports, "gradClipSumSquares", GradClipSumSquares);
  def(env, exports, "gradClipScale", GradClipScale);
}

}  // namespace olmo::addon
