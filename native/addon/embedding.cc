// Binding for native/cpu/embedding.cc and native/cuda/embedding.cu.
#include "olmo/ops/embedding.h"

#include "args.h"
#include "registry.h"

namespace olmo::addon {

namespace {
// Every embedding binding takes (dst, off, ids, off, src, off, N, V, C): N ids into a [V, C] table.
struct Sizes {
  int64_t N, V, C;
};

Sizes sizes(const Napi::CallbackInfo& info) {
  Sizes s{arg_i64(info, 6), arg_i64(info, 7), arg_i64(info, 8)};
  OLMO_CHECK(s.N >= 0 && s.V > 0 && s.C >= 0, "SHAPE_MISMATCH", "embedding: bad sizes N=" << s.N << " V=" << s.V << " C=" << s.C, "");
  return s;
}

// The forward lookup's arguments; W is the table's element type (float, or uint16_t bf16 bits).
template <class W>
struct Lookup {
  Sizes s;
  float* out;
  const int32_t* ids;
  const W* weight;
  int dev;
};

template <class W>
Lookup<W> lookup_args(const Napi::CallbackInfo& info) {
  Lookup<W> a;
  a.s = sizes(info);
  int d0, d1, d2;
  a.out = arg_ptr<float>(info, 0, a.s.N * a.s.C, &d0);
  a.ids = arg_ptr<int32_t>(info, 2, a.s.N, &d1);
  a.weight = arg_ptr<W>(info, 4, a.s.V * a.s.C, &d2);
  a.dev = same_device({d0, d1, d2});
  return a;
}
}  // namespace

// embeddingFwd(out, off, ids, off, weight, off, N, V, C)
static Napi::Value EmbeddingFwd(const Napi::CallbackInfo& info) {
  const auto a = lookup_args<float>(info);
  OLMO_DISPATCH(a.dev, embedding_fwd_f32, a.out, a.ids, a.weight, a.s.N, a.s.V, a.s.C);
  return info.Env().Undefined();
}

// embeddingFwdBf16(out, off, ids, off, weightBf16, off, N, V, C)
static Napi::Value EmbeddingFwdBf16(const Napi::CallbackInfo& info) {
  const auto a = lookup_args<uint16_t>(info);
  OLMO_DISPATCH(a.dev, embedding_fwd_bf16, a.out, a.ids, a.weight, a.s.N, a.s.V, a.s.C);
  return info.Env().Undefined();
}

// embeddingBwd(dweight, off, ids, off, dout, off, N, V, C)   dweight accumulated
static Napi::Value EmbeddingBwd(const Napi::CallbackInfo& info) {
  const auto [N, V, C] = sizes(info);
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
