// Module entry: error conversion, argument decoding and the registry of op families.
#include <napi.h>

#include <new>

#include "args.h"
#include "buffer.h"
#include "olmo/ops/memory.h"
#include "registry.h"

namespace olmo::addon {

std::vector<std::pair<const char*, RegisterFn>>& registry() {
  static std::vector<std::pair<const char*, RegisterFn>> r;
  return r;
}

void throw_js(Napi::Env env, const std::string& code, const std::string& msg, const std::string& hint) {
  Napi::Error err = Napi::Error::New(env, msg);
  err.Value().Set("code", Napi::String::New(env, "OLMO_" + code));
  err.Value().Set("hint", Napi::String::New(env, hint));
  throw err;
}

void def(Napi::Env env, Napi::Object exports, const char* name, Callback fn) {
  auto wrapped = [fn](const Napi::CallbackInfo& info) -> Napi::Value {
    try {
      return fn(info);
    } catch (const Napi::Error&) {
      throw;
    } catch (const olmo::Error& e) {
      throw_js(info.Env(), e.code, e.what(), e.hint);
    } catch (const std::bad_alloc&) {
      throw_js(info.Env(), "OUT_OF_MEMORY", "native allocation failed", "reduce the batch size or free tensors");
    } catch (const std::exception& e) {
      throw_js(info.Env(), "INTERNAL", e.what(), "this is a bug in olmo-ts; please report it");
    }
  };
  exports.Set(name, Napi::Function::New(env, wrapped, name));
}

int64_t arg_i64(const Napi::CallbackInfo& info, size_t i) {
  OLMO_CHECK(i < info.Length() && info[i].IsNumber(), "INVALID_ARGUMENT", "argument " << i << " must be a number", "internal binding misuse");
  double d = info[i].As<Napi::Number>().DoubleValue();
  OLMO_CHECK(d == static_cast<double>(static_cast<int64_t>(d)), "INVALID_ARGUMENT", "argument " << i << " must be an integer, got " << d, "");
  return static_cast<int64_t>(d);
}

double arg_f64(const Napi::CallbackInfo& info, size_t i) {
  OLMO_CHECK(i < info.Length() && info[i].IsNumber(), "INVALID_ARGUMENT", "argument " << i << " must be a number", "internal binding misuse");
  return info[i].As<Napi::Number>().DoubleValue();
}

bool arg_bool(const Napi::CallbackInfo& info, size_t i) {
  OLMO_CHECK(i < info.Length() && info[i].IsBoolean(), "INVALID_ARGUMENT", "argument " << i << " must be a boolean", "internal binding misuse");
  return info[i].As<Napi::Boolean>().Value();
}

NativeBuffer* arg_buffer(const Napi::CallbackInfo& info, size_t i) {
  OLMO_CHECK(i < info.Length() && NativeBuffer::IsInstance(info[i]), "INVALID_ARGUMENT", "argument " << i << " must be a NativeBuffer", "internal binding misuse");
  NativeBuffer* b = NativeBuffer::Unwrap(info[i].As<Napi::Object>());
  OLMO_CHECK(!b->freed(), "TENSOR_DISPOSED", "tensor storage was already freed", "the tensor was disposed (explicitly or by a scope); keep() it to retain it");
  return b;
}

void* arg_bytes(const Napi::CallbackInfo& info, size_t i, int64_t count, size_t elem_size, int* device) {
  NativeBuffer* b = arg_buffer(info, i);
  int64_t off = arg_i64(info, i + 1);
  OLMO_CHECK(count >= 0 && off >= 0, "INVALID_ARGUMENT", "negative extent (offset " << off << ", count " << count << ")", "");
  uint64_t end = static_cast<uint64_t>(off) + static_cast<uint64_t>(count) * elem_size;
  OLMO_CHECK(end <= b->nbytes(), "SHAPE_MISMATCH",
             "view [" << off << ", " << end << ") exceeds its buffer of " << b->nbytes() << " bytes",
             "the shape does not fit the storage; check shapes and offsets");
  if (device) *device = b->device();
  return static_cast<char*>(b->data()) + off;
}

void cuda_unavailable(const char* op) {
  OLMO_FAIL("CUDA_UNAVAILABLE", "op " << op << " was called on a CUDA tensor but this addon was built without CUDA",
            "rebuild with nvcc on PATH, or use device 'cpu'");
}

// Peak counters restart from the current live bytes (to measure one phase, e.g. a training step).
static Napi::Value ResetPeakMemoryJs(const Napi::CallbackInfo& info) {
  MemoryStats& s = memory_stats();
  s.cpu_peak = s.cpu_bytes;
  s.cuda_peak = s.cuda_bytes;
  return info.Env().Undefined();
}

static Napi::Value MemoryStatsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const MemoryStats& s = memory_stats();
  Napi::Object o = Napi::Object::New(env);
  o.Set("cpuBytes", Napi::Number::New(env, double(s.cpu_bytes)));
  o.Set("cpuPeakBytes", Napi::Number::New(env, double(s.cpu_peak)));
  o.Set("cpuBuffers", Napi::Number::New(env, double(s.cpu_buffers)));
  o.Set("mappedBytes", Napi::Number::New(env, double(s.mapped_bytes)));
  o.Set("mappedBuffers", Napi::Number::New(env, double(s.mapped_buffers)));
  o.Set("cpuCachedBytes", Napi::Number::New(env, double(cpu::cached_bytes())));
  o.Set("cudaBytes", Napi::Number::New(env, double(s.cuda_bytes)));
  o.Set("cudaPeakBytes", Napi::Number::New(env, double(s.cuda_peak)));
  o.Set("cudaBuffers", Napi::Number::New(env, double(s.cuda_buffers)));
  return o;
}

static Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
#ifdef OLMO_WITH_CUDA
  o.Set("cudaCompiled", true);
  o.Set("cudaDevices", Napi::Number::New(env, cuda::device_count()));
#else
  o.Set("cudaCompiled", false);
  o.Set("cudaDevices", Napi::Number::New(env, 0));
#endif
#ifdef OLMO_WITH_MPI
  o.Set("mpiCompiled", true);
#else
  o.Set("mpiCompiled", false);
#endif
#ifdef _OPENMP
  o.Set("openmp", true);
#else
  o.Set("openmp", false);
#endif
  o.Set("blas", Napi::String::New(env, OLMO_BLAS_NAME));
  return o;
}

static Napi::Value CudaDeviceName(const Napi::CallbackInfo& info) {
#ifdef OLMO_WITH_CUDA
  int dev = static_cast<int>(arg_i64(info, 0));
  return Napi::String::New(info.Env(), cuda::device_name(dev));
#else
  cuda_unavailable("cudaDeviceName");
#endif
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeBuffer", NativeBuffer::Init(env));
  def(env, exports, "memoryStats", MemoryStatsJs);
  def(env, exports, "resetPeakMemory", ResetPeakMemoryJs);
  def(env, exports, "buildInfo", BuildInfo);
  def(env, exports, "cudaDeviceName", CudaDeviceName);
  for (auto& [name, fn] : registry()) fn(env, exports);
  return exports;
}

}  // namespace olmo::addon

static Napi::Object InitOlmoNative(Napi::Env env, Napi::Object exports) { return olmo::addon::Init(env, exports); }
NODE_API_MODULE(olmo_native, InitOlmoNative)
