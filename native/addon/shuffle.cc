// Bindings for native/cpu/shuffle.cc (numpy PCG64 shuffle; CPU only).
//
// shuffleU32(target, byteOffset, n, seedWords: Uint32Array, fillArange: boolean)
//   target: a NativeBuffer (CPU), a Uint32Array/any TypedArray/DataView, or an ArrayBuffer /
//   SharedArrayBuffer. Shuffles n uint32 elements starting at byteOffset (relative to the view) in
//   place — JS memory is used directly, nothing is copied.
// shuffleU32Async(same arguments) → Promise<void>: the same shuffle on a libuv worker thread (the
//   target is kept alive by a reference until it resolves; do not touch it meanwhile).
// pcg64Raw(seedWords, count) → BigUint64Array of numpy's random_raw(count)
// pcg64SeededState(seedWords) → BigUint64Array [state_hi, state_lo, inc_hi, inc_lo]
#include "olmo/ops/shuffle.h"

#include <string>
#include <vector>

#include "args.h"
#include "registry.h"

namespace olmo::addon {

static std::vector<uint32_t> seed_words(const Napi::CallbackInfo& info, size_t i) {
  OLMO_CHECK(i < info.Length() && info[i].IsTypedArray() &&
                 info[i].As<Napi::TypedArray>().TypedArrayType() == napi_uint32_array,
             "INVALID_ARGUMENT", "argument " << i << " (seed words) must be a Uint32Array", "internal binding misuse");
  Napi::Uint32Array w = info[i].As<Napi::Uint32Array>();
  OLMO_CHECK(w.ElementLength() >= 1, "INVALID_ARGUMENT", "seed words must not be empty", "seed 0 is [0]");
  return std::vector<uint32_t>(w.Data(), w.Data() + w.ElementLength());
}

// Resolves (target, byteOffset) to a host pointer with room for n uint32 values.
static uint32_t* host_u32(const Napi::CallbackInfo& info, size_t i, int64_t n) {
  OLMO_CHECK(i + 1 < info.Length(), "INVALID_ARGUMENT", "shuffleU32: missing arguments", "");
  Napi::Value v = info[i];
  if (NativeBuffer::IsInstance(v)) {
    int dev;
    uint32_t* p = arg_ptr<uint32_t>(info, i, n, &dev);
    OLMO_CHECK(dev < 0, "DEVICE_MISMATCH", "shuffleU32 runs on the CPU; the buffer lives on cuda:" << dev, "shuffle a CPU buffer, then copy it");
    return p;
  }
  int64_t off = arg_i64(info, i + 1);
  OLMO_CHECK(off >= 0 && off % 4 == 0, "INVALID_ARGUMENT", "shuffleU32: byte offset " << off << " must be a non-negative multiple of 4", "");
  char* base = nullptr;
  size_t len = 0;
  if (v.IsTypedArray()) {
    Napi::TypedArray t = v.As<Napi::TypedArray>();
    Napi::ArrayBuffer ab = t.ArrayBuffer();
    base = static_cast<char*>(ab.Data()) + t.ByteOffset();
    len = t.ByteLength();
  } else if (v.IsDataView()) {
    Napi::DataView d = v.As<Napi::DataView>();
    base = static_cast<char*>(d.ArrayBuffer().Data()) + d.ByteOffset();
    len = d.ByteLength();
  } else if (v.IsArrayBuffer()) {
    Napi::ArrayBuffer ab = v.As<Napi::ArrayBuffer>();
    base = static_cast<char*>(ab.Data());
    len = ab.ByteLength();
  } else {
    napi_value raw = v;
    bool is_sab = false;
    // SharedArrayBuffer: node-addon-api has no wrapper; napi_get_arraybuffer_info accepts it.
    void* data = nullptr;
    size_t bl = 0;
    if (napi_get_arraybuffer_info(info.Env(), raw, &data, &bl) == napi_ok) {
      is_sab = true;
      base = static_cast<char*>(data);
      len = bl;
    }
    OLMO_CHECK(is_sab, "INVALID_ARGUMENT", "shuffleU32: target must be a NativeBuffer, TypedArray, DataView or ArrayBuffer", "");
  }
  uint64_t end = uint64_t(off) + uint64_t(n) * 4u;
  OLMO_CHECK(n >= 0 && end <= len, "SHAPE_MISMATCH",
             "shuffleU32: [" << off << ", " << end << ") exceeds the " << len << "-byte array", "");
  OLMO_CHECK(n == 0 || base != nullptr, "INVALID_ARGUMENT", "shuffleU32: detached buffer", "");
  OLMO_CHECK((reinterpret_cast<uintptr_t>(base + off) & 3u) == 0, "INVALID_ARGUMENT", "shuffleU32: misaligned data", "");
  return reinterpret_cast<uint32_t*>(base + off);
}

static Napi::Value ShuffleU32(const Napi::CallbackInfo& info) {
  int64_t n = arg_i64(info, 2);
  OLMO_CHECK(n >= 0, "INVALID_ARGUMENT", "shuffleU32: negative length " << n, "");
  std::vector<uint32_t> w = seed_words(info, 3);
  bool fill = arg_bool(info, 4);
  uint32_t* a = host_u32(info, 0, n);
  cpu::shuffle_u32(a, n, w.data(), int64_t(w.size()), fill);
  return info.Env().Undefined();
}

class ShuffleWorker : public Napi::AsyncWorker {
 public:
  ShuffleWorker(Napi::Env env, Napi::Object target, uint32_t* a, int64_t n, std::vector<uint32_t> words, bool fill)
      : Napi::AsyncWorker(env, "olmoShuffleU32"), deferred_(Napi::Promise::Deferred::New(env)),
        target_(Napi::Persistent(target)), a_(a), n_(n), words_(std::move(words)), fill_(fill) {}
  Napi::Promise Promise() const { return deferred_.Promise(); }
  void Execute() override {
    try {
      cpu::shuffle_u32(a_, n_, words_.data(), int64_t(words_.size()), fill_);
    } catch (const olmo::Error& e) {
      code_ = e.code;
      hint_ = e.hint;
      SetError(e.what());
    } catch (const std::exception& e) {
      code_ = "INTERNAL";
      SetError(e.what());
    }
  }
  void OnOK() override {
    target_.Reset();
    deferred_.Resolve(Env().Undefined());
  }
  void OnError(const Napi::Error& err) override {
    target_.Reset();
    Napi::Error e = Napi::Error::New(Env(), err.Message());
    e.Value().Set("code", Napi::String::New(Env(), "OLMO_" + code_));
    e.Value().Set("hint", Napi::String::New(Env(), hint_));
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference target_;
  uint32_t* a_;
  int64_t n_;
  std::vector<uint32_t> words_;
  bool fill_;
  std::string code_ = "INTERNAL", hint_;
};

static Napi::Value ShuffleU32Async(const Napi::CallbackInfo& info) {
  int64_t n = arg_i64(info, 2);
  OLMO_CHECK(n >= 0, "INVALID_ARGUMENT", "shuffleU32Async: negative length " << n, "");
  std::vector<uint32_t> w = seed_words(info, 3);
  bool fill = arg_bool(info, 4);
  uint32_t* a = host_u32(info, 0, n);
  OLMO_CHECK(info[0].IsObject(), "INVALID_ARGUMENT", "shuffleU32Async: target must be an object", "");
  auto* worker = new ShuffleWorker(info.Env(), info[0].As<Napi::Object>(), a, n, std::move(w), fill);
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

static Napi::Value Pcg64Raw(const Napi::CallbackInfo& info) {
  std::vector<uint32_t> w = seed_words(info, 0);
  int64_t count = arg_i64(info, 1);
  OLMO_CHECK(count >= 0 && count <= (int64_t(1) << 28), "INVALID_ARGUMENT", "pcg64Raw: count " << count << " out of range", "");
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(info.Env(), size_t(count) * 8);
  cpu::pcg64_raw(static_cast<uint64_t*>(ab.Data()), count, w.data(), int64_t(w.size()));
  return Napi::BigUint64Array::New(info.Env(), size_t(count), ab, 0);
}

static Napi::Value Pcg64SeededState(const Napi::CallbackInfo& info) {
  std::vector<uint32_t> w = seed_words(info, 0);
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(info.Env(), 32);
  cpu::pcg64_seeded_state(static_cast<uint64_t*>(ab.Data()), w.data(), int64_t(w.size()));
  return Napi::BigUint64Array::New(info.Env(), 4, ab, 0);
}

OLMO_REGISTER(shuffle) {
  def(env, exports, "shuffleU32", ShuffleU32);
  def(env, exports, "shuffleU32Async", ShuffleU32Async);
  def(env, exports, "pcg64Raw", Pcg64Raw);
  def(env, exports, "pcg64SeededState", Pcg64SeededState);
}

}  // namespace olmo::addon
