// Binding for native/cpu/crossentropy.cc and native/cuda/crossentropy.cu.
#include "olmo/ops/crossentropy.h"

#include <climits>

#include "args.h"
#include "registry.h"

namespace olmo::addon {

static void check_nv(int64_t N, int64_t V, int64_t ignore) {
  OLMO_CHECK(N >= 0 && V > 0, "SHAPE_MISMATCH", "crossEntropy: bad sizes N=" << N << " V=" << V, "");
  OLMO_CHECK(ignore >= INT32_MIN && ignore <= INT32_MAX, "INVALID_ARGUMENT", "crossEntropy: ignoreIndex " << ignore << " is not int32", "");
}

// crossEntropyFwd(loss, off, lse, off, logits, off, targets, off, N, V, ignoreIndex, zloss|null, off, zMult)
static Napi::Value CrossEntropyFwd(const Napi::CallbackInfo& info) {
  int64_t N = arg_i64(info, 8), V = arg_i64(info, 9), ignore = arg_i64(info, 10);
  check_nv(N, V, ignore);
  int d[5];
  float* loss = arg_ptr<float>(info, 0, N, &d[0]);
  float* lse = arg_ptr<float>(info, 2, N, &d[1]);
  const float* logits = arg_ptr<float>(info, 4, N * V, &d[2]);
  const int32_t* targets = arg_ptr<int32_t>(info, 6, N, &d[3]);
  float* z = info[11].IsNull() ? (d[4] = d[0], nullptr) : arg_ptr<float>(info, 11, N, &d[4]);
  int dev = same_device({d[0], d[1], d[2], d[3], d[4]});
  OLMO_DISPATCH(dev, cross_entropy_fwd_f32, loss, lse, z, float(arg_f64(info, 13)), logits, targets, N, V, int32_t(ignore));
  return info.Env().Undefined();
}

// crossEntropyBwd(dlogits, off, logits, off, lse, off, targets, off,
//                 gloss|null, off, glossStride, lossScale, gz|null, off, gzStride, zScale, N, V, ignoreIndex,
//                 ampForm = 0)   ampForm (CPU only, see cross_entropy_bwd_amp): 0 float32, 1 bf16 values
//                 held in float32, 2 bfloat16 dlogits
static Napi::Value CrossEntropyBwd(const Napi::CallbackInfo& info) {
  int64_t N = arg_i64(info, 16), V = arg_i64(info, 17), ignore = arg_i64(info, 18);
  check_nv(N, V, ignore);
  int64_t gls = arg_i64(info, 10), gzs = arg_i64(info, 14);
  OLMO_CHECK(gls == 0 || gls == 1, "INVALID_ARGUMENT", "crossEntropyBwd: gloss stride " << gls, "");
  OLMO_CHECK(gzs == 0 || gzs == 1, "INVALID_ARGUMENT", "crossEntropyBwd: gz stride " << gzs, "");
  const int64_t form = info.Length() > 19 ? arg_i64(info, 19) : 0;
  OLMO_CHECK(form >= 0 && form <= 2, "INVALID_ARGUMENT", "crossEntropyBwd: ampForm " << form, "0 float32, 1 bf16 values in float32, 2 bfloat16");
  int d[6];
  if (form != 0) {
    float* dl = form == 1 ? arg_ptr<float>(info, 0, N * V, &d[0]) : nullptr;
    uint16_t* dl16 = form == 2 ? arg_ptr<uint16_t>(info, 0, N * V, &d[0]) : nullptr;
    const float* logits = arg_ptr<float>(info, 2, N * V, &d[1]);
    const float* lse = arg_ptr<float>(info, 4, N, &d[2]);
    const int32_t* targets = arg_ptr<int32_t>(info, 6, N, &d[3]);
    const float* gloss = info[8].IsNull() ? (d[4] = d[0], nullptr) : arg_ptr<float>(info, 8, gls ? N : 1, &d[4]);
    const float* gz = info[12].IsNull() ? (d[5] = d[0], nullptr) : arg_ptr<float>(info, 12, gzs ? N : 1, &d[5]);
    OLMO_CHECK(same_device({d[0], d[1], d[2], d[3], d[4], d[5]}) < 0, "INVALID_ARGUMENT", "crossEntropyBwd: ampForm is CPU only",
               "on CUDA the GEMMs cast the gradient themselves");
    cpu::cross_entropy_bwd_amp(dl, dl16, logits, lse, targets, gloss, gls, float(arg_f64(info, 11)), gz, gzs, float(arg_f64(info, 15)), N, V,
                               int32_t(ignore));
    return info.Env().Undefined();
  }
  float* dl = arg_ptr<float>(info, 0, N * V, &d[0]);
  const float* logits = arg_ptr<float>(info, 2, N * V, &d[1]);
  const float* lse = arg_ptr<float>(info, 4, N, &d[2]);
  const int32_t* targets = arg_ptr<int32_t>(info, 6, N, &d[3]);
  const float* gloss = info[8].IsNull() ? (d[4] = d[0], nullptr) : arg_ptr<float>(info, 8, gls ? N : 1, &d[4]);
  const float* gz = info[12].IsNull() ? (d[5] = d[0], nullptr) : arg_ptr<float>(info, 12, gzs ? N : 1, &d[5]);
  int dev = same_device({d[0], d[1], d[2], d[3], d[4], d[5]});
  OLMO_DISPATCH(dev, cross_entropy_bwd_f32, dl, logits, lse, targets, gloss, gls, float(arg_f64(info, 11)), gz, gzs,
                float(arg_f64(info, 15)), N, V, int32_t(ignore));
  return info.Env().Undefined();
}

OLMO_REGISTER(crossentropy) {
  def(env, exports, "crossEntropyFwd", CrossEntropyFwd);
  def(env, exports, "crossEntropyBwd", CrossEntropyBwd);
}

}  // namespace olmo::addon
