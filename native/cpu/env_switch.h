// On/off switches read from the environment: a fast path stays on unless its variable is exactly
// "0" (OLMO_GEMV_POOL, OLMO_GEMV_ROWS4, OLMO_F32_PANEL_GEMM — for A/B measurements). Callers cache
// the answer in a function-local static: read once per process.
#pragma once

#include <cstdlib>
#include <cstring>

namespace olmo::cpu {

inline bool env_switch_on(const char* name) {
  const char* v = std::getenv(name);
  return !(v && std::strcmp(v, "0") == 0);
}

}  // namespace olmo::cpu
