// Binding for native/cpu/embedding.cc and native/cuda/embedding.cu.
#include "olmo/ops/embedding.h"

#include "args.h"
#include "registry.h"

namespace olmo::addon {

// embeddingFwd(out, off, ids, off, weight, off, N, V, C)
static Napi::Value EmbeddingFwd(const Napi::CallbackInfo& info) {
  int64_t N = arg_i64(info, 6), V = arg_i64(info, 7), C = arg_i64(info, 8);
  OLMO_CHECK(N >= 0 && V > 0 && C >= 0, "SHAPE_MISMATCH", "embedding: bad sizes N=" << N << " V=" << V << " C=" << C, "");
  int d0, d1, d2;
  float* out = arg_ptr<float>(info, 0, N * C, &d0);
  const int32_t* ids = arg_ptr<int32_t>(info, 2, N, &d1);
  const float* w = arg_ptr<float>(info, 4, V * C, &d2);
  int dev = same_device({d0, d1, d2});
  OLMO_DISPATCH(dev, embedding_fwd_f32, out, ids, w, N, V, C);
  return info.Env().Undefined();
}

// embeddingFwdBf16(out, off, ids, off, weightBf16, off, N, V, C)
static Napi::Value EmbeddingFwdBf16(const Napi::CallbackInfo& info) {
  int64_t N = arg_i64(info, 6), V = arg_i64(info, 7), C = arg_i64(info, 8);
  OLMO_CHECK(N >= 0 && V > 0 && C >= 0, "SHAPE_MISMATCH", "embedding: bad sizes N=" << N << " V=" << V << " C=" << C, "");
  int d0, d1, d2;
  float* out = arg_ptr<float>(info, 0, N * C, &d0);
  const int32_t* ids = arg_ptr<int32_t>(info, 2, N, &d1);
  const uint16_t* w = arg_ptr<uint16_t>(info, 4, V * C, &d2);
  int dev = same_device({d0, d1, d2});
  OLMO_DISPATCH(dev, embedding_fwd_bf16, out, ids, w, N, V, C);
  return info.Env().Undefined();
}

// embeddingBwd(dweight, off, ids, off, dout, off, N, V, C)   dweight accumulated
static Napi::Value EmbeddingBwd(const Napi::CallbackInfo& info) {
  int64_t N = arg_i64(info, 6), V = arg_i64(info, 7), C = arg_i64(info, 8);
  OLMO_CHECK(N >= 0 && V > 0 && C >= 0, "SHAPE_MISMATCH", "embedding: bad sizes N=" << N << " V=" << V << " C=" << C, "");
  int d0, d1, d2;
  float* dw = arg_ptr<float>(info, 0, V * C, &d0);
  const int32_t* ids = arg_ptr<int32_t>(info, 2, N, &d1);
  const float* dout = arg_ptr<float>(info, 4, N * C, &d2);
  int dev = same_device({d0, d1, d2});
  OLMO_DISPATCH(dev, embedding_bwd_f32, dw, ids, dout, N, V, C);
  return info.Env().Undefined();
}

OLMO_REGISTER(embedding) {
  def(env, exports, "embeddingFwd", EmbeddingFwd);
  def(env, exports, "embeddingBwd", EmbeddingBwd);
  def(env, exports, "embeddingFwdBf16", EmbeddingFwdBf16);
}

}  // namespace olmo::addon
