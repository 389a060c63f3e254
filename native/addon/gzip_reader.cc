// Bindings for native/cpu/gzip_reader.cc (olmo/ops/gzip_reader.h; CPU only).
//
// gzipReaderAvailable() → boolean (the addon was built with zlib)
// gzipReaderOpen(path: string) → handle (an External; the file is closed with it, or by gzipReaderClose)
// gzipReaderRead(handle, buf: Uint8Array, offset: number) → bytes inflated into buf[offset..], 0 at the
//   end of the stream, -1 when it is corrupt / truncated / unreadable (gzipReaderError says why)
// gzipReaderError(handle) → string
// gzipReaderBackend(handle) → "libdeflate" | "zlib" | "undecided" (before the first read)
// gzipReaderClose(handle)
#include "olmo/ops/gzip_reader.h"

#include "registry.h"

namespace olmo::addon {
namespace {

struct Holder {
  std::unique_ptr<cpu::GzipReader> reader;
};

cpu::GzipReader& reader(const Napi::CallbackInfo& info) {
  OLMO_CHECK(info.Length() >= 1 && info[0].IsExternal(), "INVALID_ARGUMENT", "argument 0 must be a gzip reader handle", "internal binding misuse");
  Holder* h = info[0].As<Napi::External<Holder>>().Data();
  OLMO_CHECK(h->reader != nullptr, "INVALID_ARGUMENT", "the gzip reader was closed", "open the file again");
  return *h->reader;
}

Napi::Value Available(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), cpu::gzip_reader_available()); }

Napi::Value Open(const Napi::CallbackInfo& info) {
  OLMO_CHECK(info.Length() >= 1 && info[0].IsString(), "INVALID_ARGUMENT", "gzipReaderOpen(path)", "internal binding misuse");
  auto* h = new Holder{cpu::GzipReader::open(info[0].As<Napi::String>().Utf8Value())};
  return Napi::External<Holder>::New(info.Env(), h, [](Napi::Env, Holder* p) { delete p; });
}

Napi::Value Read(const Napi::CallbackInfo& info) {
  cpu::GzipReader& r = reader(info);
  OLMO_CHECK(info.Length() >= 3 && info[1].IsTypedArray() && info[1].As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array && info[2].IsNumber(),
             "INVALID_ARGUMENT", "gzipReaderRead(handle, buf: Uint8Array, offset)", "internal binding misuse");
  Napi::Uint8Array buf = info[1].As<Napi::Uint8Array>();
  const int64_t off = info[2].As<Napi::Number>().Int64Value();
  OLMO_CHECK(off >= 0 && size_t(off) <= buf.ElementLength(), "INVALID_ARGUMENT", "gzipReaderRead: offset " << off << " outside the buffer of " << buf.ElementLength(), "");
  return Napi::Number::New(info.Env(), double(r.read(buf.Data() + off, buf.ElementLength() - size_t(off))));
}

Napi::Value ErrorMessage(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), reader(info).error()); }

Napi::Value Backend(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), reader(info).backend()); }

Napi::Value Close(const Napi::CallbackInfo& info) {
  OLMO_CHECK(info.Length() >= 1 && info[0].IsExternal(), "INVALID_ARGUMENT", "argument 0 must be a gzip reader handle", "internal binding misuse");
  info[0].As<Napi::External<Holder>>().Data()->reader.reset();
  return info.Env().Undefined();
}

}  // namespace

OLMO_REGISTER(gzip_reader) {
  def(env, exports, "gzipReaderAvailable", Available);
  def(env, exports, "gzipReaderOpen", Open);
  def(env, exports, "gzipReaderRead", Read);
  def(env, exports, "gzipReaderError", ErrorMessage);
  def(env, exports, "gzipReaderClose", Close);
  def(env, exports, "gzipReaderBackend", Backend);
}

}  // namespace olmo::addon
