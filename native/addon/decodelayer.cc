// Binding for native/cpu/decodelayer.cc (CPU only: CUDA decodes op by op through the other families).
#include "olmo/ops/decodelayer.h"

#include "args.h"
#include "registry.h"

namespace olmo::addon {

// decodeLayer(x, xOff, kCache, kOff, vCache, vOff, C, NH, NKV, HS, I, maxLen, pos, olmo2, eps, clip, theta,
//             then 7 x (fmt, buf, off) for q, k, v, o, gate, up, down,
//             then 4 x (buf | null, off) for q_norm, k_norm, post_attention_layernorm, post_feedforward_layernorm)
// Every extent is checked against its buffer here, so a wrong shape from JS cannot read or write
// out of bounds.
static Napi::Value DecodeLayer(const Napi::CallbackInfo& info) {
  DecodeLayerArgs s{};
  s.C = arg_i64(info, 6), s.NH = arg_i64(info, 7), s.NKV = arg_i64(info, 8), s.HS = arg_i64(info, 9), s.I = arg_i64(info, 10);
  const int64_t max_len = arg_i64(info, 11);
  s.pos = arg_i64(info, 12);
  s.olmo2 = arg_bool(info, 13);
  s.eps = float(arg_f64(info, 14));
  s.clip = float(arg_f64(info, 15));
  s.theta = float(arg_f64(info, 16));
  const int64_t big = int64_t(1) << 31;
  OLMO_CHECK(s.C > 0 && s.NH > 0 && s.NKV > 0 && s.NH % s.NKV == 0 && s.HS > 0 && s.HS % 2 == 0 && s.I > 0 &&
                 s.C < big && s.I < big && s.NH * s.HS < big,
             "SHAPE_MISMATCH", "decodeLayer: bad sizes C=" << s.C << " NH=" << s.NH << " NKV=" << s.NKV << " HS=" << s.HS << " I=" << s.I, "");
  OLMO_CHECK(s.pos >= 0 && s.pos < max_len, "INVALID_ARGUMENT", "decodeLayer: position " << s.pos << " outside a cache of " << max_len, "allocate a larger cache");
  OLMO_CHECK(s.eps >= 0 && s.clip >= 0 && s.theta > 0, "INVALID_ARGUMENT", "decodeLayer: eps " << s.eps << " clip " << s.clip << " theta " << s.theta, "");
  const int64_t NQ = s.NH * s.HS, NK = s.NKV * s.HS;
  int dx, dk, dv;
  float* x = arg_ptr<float>(info, 0, s.C, &dx);
  s.k_cache = arg_ptr<float>(info, 2, max_len * NK, &dk);
  s.v_cache = arg_ptr<float>(info, 4, max_len * NK, &dv);
  OLMO_CHECK(dx < 0 && dk < 0 && dv < 0, "DEVICE_MISMATCH", "decodeLayer: runs on the cpu only", "decode op by op on cuda");

  DecodeWeight* ws[7] = {&s.q, &s.k, &s.v, &s.o, &s.gate, &s.up, &s.down};
  const int64_t rows[7] = {NQ, NK, NK, s.C, s.I, s.I, s.C};
  const int64_t cols[7] = {s.C, s.C, s.C, NQ, s.C, s.C, s.I};
  for (int i = 0; i < 7; ++i) {
    const size_t a = 17 + size_t(i) * 3;
    const int fmt = int(arg_i64(info, a));
    OLMO_CHECK(fmt == int(WeightFormat::F32) || fmt == int(WeightFormat::BF16) || fmt == int(WeightFormat::Q8_0), "DTYPE_UNSUPPORTED",
               "decodeLayer: unknown weight format " << fmt, "use float32, bfloat16 or q8_0 weights");
    OLMO_CHECK(fmt != int(WeightFormat::Q8_0) || cols[i] % 32 == 0, "SHAPE_MISMATCH", "decodeLayer: q8_0 weight " << i << " has in-features " << cols[i] << " (not a multiple of 32)", "");
    const int64_t nbytes = weight_bytes(WeightFormat(fmt), rows[i], cols[i]);
    int d;
    ws[i]->fmt = WeightFormat(fmt);
    ws[i]->data = arg_bytes(info, a + 1, nbytes, 1, &d);
    OLMO_CHECK(d < 0, "DEVICE_MISMATCH", "decodeLayer: weight " << i << " is not on the cpu", "");
  }
  const float** norms[4] = {&s.q_norm, &s.k_norm, &s.post_attn_norm, &s.post_ff_norm};
  const int64_t nlen[4] = {NQ, NK, s.C, s.C};
  for (int i = 0; i < 4; ++i) {
    const size_t a = 38 + size_t(i) * 2;
    OLMO_CHECK(a < info.Length(), "INVALID_ARGUMENT", "decodeLayer: missing norm argument " << i, "internal binding misuse");
    if (info[a].IsNull()) {
      OLMO_CHECK(!s.olmo2, "INVALID_ARGUMENT", "decodeLayer: OLMo-2 blocks need norm weight " << i, "");
      continue;
    }
    int d;
    *norms[i] = arg_ptr<float>(info, a, nlen[i], &d);
    OLMO_CHECK(d < 0, "DEVICE_MISMATCH", "decodeLayer: norm weight " << i << " is not on the cpu", "");
  }
  cpu::decode_layer(x, s);
  return info.Env().Undefined();
}

OLMO_REGISTER(decodelayer) { def(env, exports, "decodeLayer", DecodeLayer); }

}  // namespace olmo::addon
