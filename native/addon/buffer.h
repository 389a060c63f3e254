// NativeBuffer: one allocation on one device (CPU or cuda:N), or a CPU mapping of a whole file
// (`new NativeBuffer(path)`: zero-copy weights; mapped MAP_PRIVATE so a stray write only dirties a
// private page, never the file and never a SIGSEGV). Tensors in TS are views (byte offset +
// shape) into a NativeBuffer; raw pointers never leave native code.
#pragma once
#include <napi.h>

#include <cstdint>

#include "olmo/tensor.h"

namespace olmo::addon {

class NativeBuffer : public Napi::ObjectWrap<NativeBuffer> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit NativeBuffer(const Napi::CallbackInfo& info);
  ~NativeBuffer() override;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  int device() const { return device_; }
  bool freed() const { return data_ == nullptr && nbytes_ != 0; }

  static bool IsInstance(const Napi::Value& v);

 private:
  Napi::Value Free(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value GetNbytes(const Napi::CallbackInfo& info);
  Napi::Value GetDevice(const Napi::CallbackInfo& info);
  Napi::Value GetFreed(const Napi::CallbackInfo& info);
  void release();

  void* data_ = nullptr;
  size_t nbytes_ = 0;
  int device_ = kCpu;
  bool released_ = false;
  bool mapped_ = false;  // data_ is an mmap of a file (munmap on release)
};

// Live native memory, for leak tests and memory reports.
struct MemoryStats {
  int64_t cpu_bytes = 0, cpu_peak = 0, cpu_buffers = 0;
  int64_t cuda_bytes = 0, cuda_peak = 0, cuda_buffers = 0;
  int64_t mapped_bytes = 0, mapped_buffers = 0;  // file mappings (not counted in cpu_bytes)
};
MemoryStats& memory_stats();

}  // namespace olmo::addon
