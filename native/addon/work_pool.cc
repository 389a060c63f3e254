// Binding for native/cpu/work_pool.cc's self-check (tests only: the pool itself has no JS API).
#include "../cpu/work_pool.h"

#include "args.h"
#include "registry.h"

namespace olmo::addon {

// workPoolCheck(jobs, seed) -> number of indices that did not run exactly once (0 when correct).
static Napi::Value WorkPoolCheck(const Napi::CallbackInfo& info) {
  const int64_t jobs = arg_i64(info, 0), seed = arg_i64(info, 1);
  OLMO_CHECK(jobs >= 0 && jobs <= 1000000, "INVALID_ARGUMENT", "workPoolCheck: jobs " << jobs, "");
  return Napi::Number::New(info.Env(), double(cpu::pool_self_check(int(jobs), uint32_t(seed))));
}

OLMO_REGISTER(work_pool) { def(env, exports, "workPoolCheck", WorkPoolCheck); }

}  // namespace olmo::addon
