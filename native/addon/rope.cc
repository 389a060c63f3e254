// Binding for native/cpu/rope.cc and native/cuda/rope.cu.
#include "olmo/ops/rope.h"

#include "args.h"
#include "registry.h"

namespace olmo::addon {

// rope(out, off, x, off, B, T, NH, HS, theta, posOffset, inverse[, positions, off])
//   positions: int32 [B, T] or null; on the CPU checked to be >= 0 (CUDA callers check on the host).
static Napi::Value Rope(const Napi::CallbackInfo& info) {
  int64_t B = arg_i64(info, 4), T = arg_i64(info, 5), NH = arg_i64(info, 6), HS = arg_i64(info, 7);
  double theta = arg_f64(info, 8);
  int64_t pos = arg_i64(info, 9);
  bool inverse = arg_bool(info, 10);
  OLMO_CHECK(B >= 0 && T >= 0 && NH >= 0 && HS > 0 && HS % 2 == 0, "SHAPE_MISMATCH",
             "rope: bad sizes B=" << B << " T=" << T << " NH=" << NH << " HS=" << HS, "head size must be even");
  OLMO_CHECK(theta > 0 && pos >= 0, "INVALID_ARGUMENT", "rope: theta " << theta << " / positionOffset " << pos, "");
  int64_t n = B * T * NH * HS;
  int d0, d1;
  float* out = arg_ptr<float>(info, 0, n, &d0);
  const float* x = arg_ptr<float>(info, 2, n, &d1);
  int dev = same_device({d0, d1});
  const int32_t* positions = nullptr;
  if (info.Length() > 11 && !info[11].IsNull() && !info[11].IsUndefined()) {
    int d2;
    positions = arg_ptr<int32_t>(info, 11, B * T, &d2);
    same_device({dev, d2});
    if (d2 < 0)
      for (int64_t e = 0; e < B * T; ++e)
        OLMO_CHECK(positions[e] >= 0, "INVALID_ARGUMENT", "rope: position " << positions[e] << " at " << e << " is negative", "");
  }
  OLMO_DISPATCH(dev, rope_f32, out, x, B, T, NH, HS, float(theta), pos, inverse, positions);
  return info.Env().Undefined();
}

OLMO_REGISTER(rope) { def(env, exports, "rope", Rope); }

}  // namespace olmo::addon
