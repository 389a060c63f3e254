// Bindings for native/cpu/blas_loader.cc (olmo/ops/blas_loader.h; CPU only).
//
// blasState() → { loaded, path, threads, core, coreForced } — whether OpenBLAS has been loaded
//   (it is on the first CPU GEMM / GEMV that goes to it), from which file, its thread count then, the
//   kernels it runs (openblas_get_corename) and the OPENBLAS_CORETYPE the loader forced ("" if none)
// blasLoad() → the same, after loading it now (NATIVE_UNAVAILABLE when it cannot be loaded)
#include "olmo/ops/blas_loader.h"

#include "registry.h"

namespace olmo::addon {
namespace {

Napi::Value State(Napi::Env env) {
  const cpu::BlasState s = cpu::blas_state();
  Napi::Object o = Napi::Object::New(env);
  o.Set("loaded", Napi::Boolean::New(env, s.loaded));
  o.Set("path", Napi::String::New(env, s.path));
  o.Set("threads", Napi::Number::New(env, s.threads));
  o.Set("core", Napi::String::New(env, s.core));
  o.Set("coreForced", Napi::String::New(env, s.coreForced));
  return o;
}

Napi::Value BlasState(const Napi::CallbackInfo& info) { return State(info.Env()); }

Napi::Value BlasLoad(const Napi::CallbackInfo& info) {
  cpu::blas_load();
  return State(info.Env());
}

}  // namespace

OLMO_REGISTER(blas_loader) {
  def(env, exports, "blasState", BlasState);
  def(env, exports, "blasLoad", BlasLoad);
}

}  // namespace olmo::addon
