// Binding for native/cpu/quantize.cc (CPU only: quantization happens at load / save time).
#include "olmo/ops/quantize.h"

#include "args.h"
#include "registry.h"

namespace olmo::addon {

static void check_n(int64_t n) {
  OLMO_CHECK(n >= 0 && n % 32 == 0, "SHAPE_MISMATCH", "q8_0: element count " << n << " is not a multiple of 32", "q8_0 quantizes blocks of 32 values along the last dimension");
}

// quantizeQ8(dst, off, src, off, srcIsBf16, n)
static Napi::Value QuantizeQ8(const Napi::CallbackInfo& info) {
  const int64_t n = arg_i64(info, 5);
  check_n(n);
  const bool bf16 = arg_bool(info, 4);
  int dd = 0, ds = 0;
  BlockQ8_0* dst = static_cast<BlockQ8_0*>(arg_bytes(info, 0, n / 32, sizeof(BlockQ8_0), &dd));
  const void* src = arg_bytes(info, 2, n, bf16 ? 2 : 4, &ds);
  OLMO_CHECK(dd < 0 && ds < 0, "DEVICE_MISMATCH", "quantizeQ8 runs on cpu tensors", "quantize before moving to cuda");
  if (bf16) cpu::quantize_q8_0_bf16(dst, static_cast<const uint16_t*>(src), n);
  else cpu::quantize_q8_0_f32(dst, static_cast<const float*>(src), n);
  return info.Env().Undefined();
}

// dequantizeQ8(out, off, src, off, n)
static Napi::Value DequantizeQ8(const Napi::CallbackInfo& info) {
  const int64_t n = arg_i64(info, 4);
  check_n(n);
  int dd = 0, ds = 0;
  float* out = arg_ptr<float>(info, 0, n, &dd);
  const BlockQ8_0* src = static_cast<const BlockQ8_0*>(arg_bytes(info, 2, n / 32, sizeof(BlockQ8_0), &ds));
  OLMO_CHECK(dd < 0 && ds < 0, "DEVICE_MISMATCH", "dequantizeQ8 runs on cpu tensors", "");
  cpu::dequantize_q8_0(out, src, n);
  return info.Env().Undefined();
}

OLMO_REGISTER(quantize) {
  def(env, exports, "quantizeQ8", QuantizeQ8);
  def(env, exports, "dequantizeQ8", DequantizeQ8);
}

}  // namespace olmo::addon
