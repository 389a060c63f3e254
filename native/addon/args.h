// Argument decoding for op bindings. A tensor argument is passed from TS as two JS values:
// (NativeBuffer, byteOffset). arg_ptr checks that the requested element range lies inside the
// buffer and that the buffer is alive, so a wrong shape from JS can never read out of bounds.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>

#include "buffer.h"
#include "olmo/check.h"

namespace olmo::addon {

int64_t arg_i64(const Napi::CallbackInfo& info, size_t i);
double arg_f64(const Napi::CallbackInfo& info, size_t i);
bool arg_bool(const Napi::CallbackInfo& info, size_t i);
NativeBuffer* arg_buffer(const Napi::CallbackInfo& info, size_t i);

// Pointer to `count` elements of `elem_size` bytes at info[i] (buffer), info[i+1] (byte offset).
void* arg_bytes(const Napi::CallbackInfo& info, size_t i, int64_t count, size_t elem_size, int* device);

template <class T>
T* arg_ptr(const Napi::CallbackInfo& info, size_t i, int64_t count, int* device) {
  return static_cast<T*>(arg_bytes(info, i, count, sizeof(T), device));
}

// All tensor arguments of one call must live on one device; returns it.
inline int same_device(std::initializer_list<int> devs) {
  int d = *devs.begin();
  for (int x : devs) OLMO_CHECK(x == d, "DEVICE_MISMATCH", "tensors on different devices (" << d << " vs " << x << ")", "move them with .to(device) first");
  return d;
}

[[noreturn]] void cuda_unavailable(const char* op);

}  // namespace olmo::addon

// Dispatches to olmo::cpu::fn or olmo::cuda::fn by device; without a CUDA build the cuda path
// raises CUDA_UNAVAILABLE.
#ifdef OLMO_WITH_CUDA
#define OLMO_DISPATCH(dev, fn, ...)       \
  do {                                    \
    if ((dev) < 0) ::olmo::cpu::fn(__VA_ARGS__); \
    else ::olmo::cuda::fn(dev, __VA_ARGS__);     \
  } while (0)
#else
#define OLMO_DISPATCH(dev, fn, ...)                 \
  do {                                              \
    if ((dev) < 0) ::olmo::cpu::fn(__VA_ARGS__);    \
    else ::olmo::addon::cuda_unavailable(#fn);      \
  } while (0)
#endif
