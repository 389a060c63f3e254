// Self-registration of op families: each native/addon/<family>.cc defines
//   OLMO_REGISTER(family) { def(exports, "name", fn); ... }
// and is picked up by CMake's glob, so adding an op family never edits a central list.
#pragma once
#include <napi.h>

#include <functional>
#include <utility>
#include <vector>

#include "olmo/check.h"

namespace olmo::addon {

using RegisterFn = void (*)(Napi::Env, Napi::Object);

std::vector<std::pair<const char*, RegisterFn>>& registry();

struct Registrar {
  Registrar(const char* name, RegisterFn fn) { registry().emplace_back(name, fn); }
};

// Throws a JS Error whose `code` is "OLMO_<code>" and `hint` is set; the TS layer
// (packages/tensor-cuda/src/errors.ts fromNative) turns it into the typed OlmoError subclass.
[[noreturn]] void throw_js(Napi::Env env, const std::string& code, const std::string& msg, const std::string& hint);

using Callback = Napi::Value (*)(const Napi::CallbackInfo&);

// Defines exports[name] = fn, with every C++ exception converted into a typed JS error, so that
// no failure in native code can terminate the process.
void def(Napi::Env env, Napi::Object exports, const char* name, Callback fn);

}  // namespace olmo::addon

#define OLMO_REGISTER(family)                                                                  \
  static void olmo_register_##family(Napi::Env env, Napi::Object exports);                     \
  static ::olmo::addon::Registrar olmo_registrar_##family(#family, &olmo_register_##family);   \
  static void olmo_register_##family(Napi::Env env, Napi::Object exports)
