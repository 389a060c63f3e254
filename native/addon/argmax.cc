// Binding for native/cpu/argmax.cc (CPU only; see olmo/ops/argmax.h).
#include "olmo/ops/argmax.h"

#include <vector>

#include "args.h"
#include "registry.h"

namespace olmo::addon {

// argmaxRows(x, xOff, rows, n, ld) -> number[] (one index per row). Reads rows r < rows, columns
// [0, n) at x[r * ld + c]; the whole extent is checked against the buffer.
static Napi::Value ArgmaxRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t rows = arg_i64(info, 2), n = arg_i64(info, 3), ld = arg_i64(info, 4);
  OLMO_CHECK(rows >= 0 && n >= 0 && ld >= n && n < (int64_t(1) << 31), "SHAPE_MISMATCH",
             "argmaxRows: rows " << rows << ", n " << n << ", row stride " << ld, "n must be <= the row stride and < 2^31");
  const int64_t extent = rows == 0 ? 0 : (rows - 1) * ld + n;
  int dev;
  const float* x = arg_ptr<float>(info, 0, extent, &dev);
  OLMO_CHECK(dev < 0, "DEVICE_MISMATCH", "argmaxRows: runs on the cpu only", "read CUDA logits to the host first");
  std::vector<int64_t> idx(static_cast<size_t>(rows));
  if (rows > 0) cpu::argmax_rows_f32(idx.data(), x, rows, n, ld);
  Napi::Array out = Napi::Array::New(env, size_t(rows));
  for (int64_t r = 0; r < rows; ++r) out.Set(uint32_t(r), Napi::Number::New(env, double(idx[size_t(r)])));
  return out;
}

OLMO_REGISTER(argmax) { def(env, exports, "argmaxRows", ArgmaxRows); }

}  // namespace olmo::addon
