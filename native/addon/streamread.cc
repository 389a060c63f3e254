// Binding for native/cpu/streamread.cc (see olmo/ops/streamread.h).
#include "olmo/ops/streamread.h"

#include "args.h"
#include "registry.h"

namespace olmo::addon {

// streamReadBandwidth(bytes, threads) -> GB/s. Range checks are the kernel's (INVALID_ARGUMENT).
static Napi::Value StreamReadBandwidth(const Napi::CallbackInfo& info) {
  const int64_t bytes = arg_i64(info, 0), threads = arg_i64(info, 1);
  OLMO_CHECK(threads >= 1 && threads <= 256, "INVALID_ARGUMENT", "streamReadBandwidth: threads " << threads, "use 1 to 256 threads");
  return Napi::Number::New(info.Env(), cpu::stream_read_bandwidth(bytes, int(threads)));
}

OLMO_REGISTER(streamread) { def(env, exports, "streamReadBandwidth", StreamReadBandwidth); }

}  // namespace olmo::addon
