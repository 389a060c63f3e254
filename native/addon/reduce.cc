// Binding for native/cpu/reduce.cc and native/cuda/reduce.cu.
#include "olmo/ops/reduce.h"

#include <vector>

#include "args.h"
#include "registry.h"

namespace olmo::addon {

// sum(out, off, x, off, n, scale)   out: one float
static Napi::Value Sum(const Napi::CallbackInfo& info) {
  int64_t n = arg_i64(info, 4);
  int d0, d1;
  float* out = arg_ptr<float>(info, 0, 1, &d0);
  const float* x = arg_ptr<float>(info, 2, n, &d1);
  int dev = same_device({d0, d1});
  OLMO_DISPATCH(dev, sum_f32, out, x, n, float(arg_f64(info, 5)));
  return info.Env().Undefined();
}

// broadcastScalar(out, off, s, off, scale, n)
static Napi::Value BroadcastScalar(const Napi::CallbackInfo& info) {
  int64_t n = arg_i64(info, 5);
  int d0, d1;
  float* out = arg_ptr<float>(info, 0, n, &d0);
  const float* s = arg_ptr<float>(info, 2, 1, &d1);
  int dev = same_device({d0, d1});
  OLMO_DISPATCH(dev, broadcast_scalar_f32, out, s, float(arg_f64(info, 4)), n);
  return info.Env().Undefined();
}

// sumSquares(buf0, off0, n0, buf1, off1, n1, ...) -> number (float64)
static Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  OLMO_CHECK(info.Length() % 3 == 0, "INVALID_ARGUMENT", "sumSquares: (buffer, offset, n) triples expected", "");
  const size_t count = info.Length() / 3;
  std::vector<const float*> ptrs(count);
  std::vector<int64_t> ns(count);
  int dev = -1;
  for (size_t k = 0; k < count; ++k) {
    ns[k] = arg_i64(info, 3 * k + 2);
    int d;
    ptrs[k] = arg_ptr<float>(info, 3 * k, ns[k], &d);
    OLMO_CHECK(k == 0 || d == dev, "DEVICE_MISMATCH", "sumSquares: tensors on different devices", "move them to one device");
    dev = d;
  }
  double r = 0;
  if (dev < 0) r = cpu::sum_squares_f32(ptrs.data(), ns.data(), int64_t(count));
  else {
#ifdef OLMO_WITH_CUDA
    r = cuda::sum_squares_f32(dev, ptrs.data(), ns.data(), int64_t(count));
#else
    cuda_unavailable("sum_squares_f32");
#endif
  }
  return Napi::Number::New(info.Env(), r);
}

OLMO_REGISTER(reduce) {
  def(env, exports, "sum", Sum);
  def(env, exports, "broadcastScalar", BroadcastScalar);
  def(env, exports, "sumSquares", SumSquares);
}

}  // namespace olmo::addon
