// gzip_libdeflate — see gzip_libdeflate.h.
#include "gzip_libdeflate.h"

#include <dlfcn.h>

#include "env_switch.h"

namespace olmo::cpu {

namespace {
LibdeflateApi load() {
  LibdeflateApi api;
  // RTLD_LOCAL: the symbols stay private to this handle (nothing else in the process binds to them)
  void* h = dlopen("libdeflate.so.0", RTLD_NOW | RTLD_LOCAL);
  if (!h) return api;
  api.alloc_decompressor = reinterpret_cast<void* (*)()>(dlsym(h, "libdeflate_alloc_decompressor"));
  api.free_decompressor = reinterpret_cast<void (*)(void*)>(dlsym(h, "libdeflate_free_decompressor"));
  api.gzip_decompress_ex = reinterpret_cast<decltype(api.gzip_decompress_ex)>(dlsym(h, "libdeflate_gzip_decompress_ex"));
  if (!api.alloc_decompressor || !api.free_decompressor || !api.gzip_decompress_ex) {
    // an unexpected build without one of them: never half-use it (the handle stays open: harmless)
    api = LibdeflateApi{};
  }
  return api;
}
}  // namespace

const LibdeflateApi* libdeflate_api() {
  static const LibdeflateApi api = load();  // thread-safe one-time init (C++11 magic statics)
  return api.gzip_decompress_ex ? &api : nullptr;
}

bool libdeflate_enabled() { return libdeflate_api() != nullptr && env_switch_on("OLMO_GUNZIP_LIBDEFLATE"); }

}  // namespace olmo::cpu
