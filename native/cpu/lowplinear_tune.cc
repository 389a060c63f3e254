// Env-overridable tuning values of the batch-1 GEMV (see lowplinear_tune.h).
#include "lowplinear_tune.h"

#include <cstdlib>

#include "env_switch.h"

namespace olmo::cpu {

static int64_t env_i64(const char* name, int64_t dflt) {
  const char* e = std::getenv(name);
  return e && *e ? int64_t(std::strtod(e, nullptr)) : dflt;
}

// bf16 rows up to K = 512 (4 KiB groups) were the limit from Zen 5 measurements on the tiny /
// small LM heads (lowplinear.cc, dense rows4 comment). On OLMo-1B's shapes (K = 2048 / 8192, DRAM-
// resident) the 4-row kernel with per-row-stream prefetch is the faster one: Intel Xeon (AMX) VM,
// 2026-12-06, bench/ops/lowplinear-gemv.cc GEMV_STEP=1b, 1 thread, CPU time per decode step's
// GEMVs (2.35 GB of bf16), 3 alternated processes, load ~5.7: 245-246 ms (limit 512) -> 182-187 ms
// (8192), 1.33x the bytes per CPU-second; without the per-row prefetch 242-252 ms (no gain).
int64_t bf16_rows4_max_k() {
  static const int64_t v = env_i64("OLMO_BF16_ROWS4_MAXK", 8192);
  return v;
}

// float32 K = 512 (8 KiB groups) measured slower through the 4-row kernel on Zen 5 (50304x512
// head 2903 -> 3374 us, before the per-row-stream prefetch), so 256 there until re-measured. On
// the Intel VM (same bench and conditions as above, 4.7 GB float32 step, load ~4-6): 406-411 ms
// (256) -> 331-334 ms (8192), 1.23x; small's 50304x512 head 8.4-11.0 ms -> 8.7-9.1 ms.
int64_t f32_rows4_max_k() {
  static const int64_t v = [] {
    int64_t dflt = 256;
#if defined(__x86_64__) || defined(__i386__)
    if (__builtin_cpu_is("intel")) dflt = 8192;
#endif
    return env_i64("OLMO_F32_ROWS4_MAXK", dflt);
  }();
  return v;
}

bool rows4_stream_prefetch() {
  static const bool v = env_switch_on("OLMO_GEMV_ROWS4_STREAM_PF");
  return v;
}

}  // namespace olmo::cpu
