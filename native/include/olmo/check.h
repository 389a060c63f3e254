// OLMO_CHECK: the only way native code reports a failure. It throws olmo::Error, which the addon
// layer (native/addon) converts into a JS OlmoError subclass with the same `code` and `hint`.
// Kernels never exit(), abort() or print; user input must never reach an unchecked pointer.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace olmo {

struct Error : std::runtime_error {
  std::string code;  // e.g. "SHAPE_MISMATCH" (without the OLMO_ prefix the addon adds)
  std::string hint;
  Error(std::string c, const std::string& msg, std::string h)
      : std::runtime_error(msg), code(std::move(c)), hint(std::move(h)) {}
};

}  // namespace olmo

// Usage: OLMO_CHECK(a == b, "SHAPE_MISMATCH", "matmul: K " << a << " != " << b, "transpose B?");
#define OLMO_CHECK(cond, code, msg, hint)                  \
  do {                                                     \
    if (!(cond)) {                                         \
      std::ostringstream olmo_check_os_;                   \
      olmo_check_os_ << msg;                               \
      throw ::olmo::Error(code, olmo_check_os_.str(), hint); \
    }                                                      \
  } while (0)

#define OLMO_FAIL(code, msg, hint) OLMO_CHECK(false, code, msg, hint)
