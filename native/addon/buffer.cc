#include "buffer.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include <cstring>

#include "args.h"
#include "olmo/check.h"
#include "olmo/ops/memory.h"
#include "registry.h"

namespace olmo::addon {

MemoryStats& memory_stats() {
  static MemoryStats s;
  return s;
}

static Napi::FunctionReference* g_ctor = nullptr;

Napi::Function NativeBuffer::Init(Napi::Env env) {
  Napi::Function f = DefineClass(env, "NativeBuffer",
                                 {InstanceMethod("free", &NativeBuffer::Free),
                                  InstanceMethod("write", &NativeBuffer::Write),
                                  InstanceMethod("read", &NativeBuffer::Read),
                                  InstanceAccessor("nbytes", &NativeBuffer::GetNbytes, nullptr),
                                  InstanceAccessor("device", &NativeBuffer::GetDevice, nullptr),
                                  InstanceAccessor("freed", &NativeBuffer::GetFreed, nullptr)});
  g_ctor = new Napi::FunctionReference(Napi::Persistent(f));
  return f;
}

bool NativeBuffer::IsInstance(const Napi::Value& v) {
  return g_ctor != nullptr && v.IsObject() && v.As<Napi::Object>().InstanceOf(g_ctor->Value());
}

// Read once: sysconf(_SC_PHYS_PAGES) is a sysinfo() system call, and every CPU buffer (5 per
// decoded token even on the fused path) asked it again.
static size_t physical_memory() {
  static const size_t bytes = [] {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? size_t(pages) * size_t(page) : size_t(1) << 40;
  }();
  return bytes;
}

// Maps `path` whole (read-only file, private copy-on-write pages). Pages are read on first touch
// and count as file-backed RSS, which the kernel may drop and re-read under memory pressure.
static void* map_file(const std::string& path, size_t* nbytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  OLMO_CHECK(fd >= 0, "NOT_FOUND", "cannot open " << path << ": " << std::strerror(errno), "check the path and permissions");
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    OLMO_FAIL("NOT_FOUND", "cannot stat " << path << ": " << std::strerror(err), "");
  }
  *nbytes = size_t(st.st_size);
  void* p = nullptr;
  if (*nbytes > 0) {
    p = ::mmap(nullptr, *nbytes, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    int err = errno;
    ::close(fd);  // the mapping keeps the file alive
    OLMO_CHECK(p != MAP_FAILED, "OUT_OF_MEMORY", "cannot map " << path << ": " << std::strerror(err), "the process may lack address space (ulimit -v)");
  } else {
    ::close(fd);
  }
  return p;
}

// new NativeBuffer(nbytes, device = -1, zero = true) | new NativeBuffer(path) (file mapping)
NativeBuffer::NativeBuffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeBuffer>(info) {
  Napi::Env env = info.Env();
  try {
    if (info.Length() > 0 && info[0].IsString()) {
      size_t n = 0;
      data_ = map_file(info[0].As<Napi::String>().Utf8Value(), &n);
      nbytes_ = n;
      device_ = kCpu;
      mapped_ = true;
      MemoryStats& s = memory_stats();
      s.mapped_bytes += int64_t(n); s.mapped_buffers++;
      return;
    }
    int64_t n = arg_i64(info, 0);
    int dev = info.Length() > 1 ? static_cast<int>(arg_i64(info, 1)) : kCpu;
    bool zero = info.Length() > 2 ? arg_bool(info, 2) : true;
    OLMO_CHECK(n >= 0, "INVALID_ARGUMENT", "negative allocation size " << n, "");
    size_t nbytes = static_cast<size_t>(n);
    MemoryStats& s = memory_stats();
    if (dev < 0) {
      // Refuse what can never fit: with overcommit a huge malloc "succeeds" and the OOM killer
      // ends the process later, which is exactly the crash we must not allow.
      OLMO_CHECK(nbytes <= physical_memory(), "OUT_OF_MEMORY",
                 "cannot allocate " << nbytes << " bytes on cpu (machine has " << physical_memory() << ")",
                 "reduce the tensor size, batch size or sequence length");
      data_ = cpu::alloc(nbytes, zero);
      OLMO_CHECK(data_ != nullptr, "OUT_OF_MEMORY", "cannot allocate " << nbytes << " bytes on cpu", "free tensors with dispose() or reduce the batch size");
      s.cpu_bytes += n; s.cpu_buffers++;
      if (s.cpu_bytes > s.cpu_peak) s.cpu_peak = s.cpu_bytes;
    } else {
#ifdef OLMO_WITH_CUDA
      int count = cuda::device_count();
      OLMO_CHECK(dev < count, "CUDA_UNAVAILABLE", "cuda:" << dev << " requested but " << count << " CUDA devices are visible",
                 count == 0 ? "no NVIDIA GPU/driver on this machine; use device 'cpu'" : "use a lower device index");
      data_ = cuda::alloc(dev, nbytes, zero);
      OLMO_CHECK(data_ != nullptr, "OUT_OF_MEMORY", "cannot allocate " << nbytes << " bytes on cuda:" << dev, "reduce the batch size or free tensors");
      s.cuda_bytes += n; s.cuda_buffers++;
      if (s.cuda_bytes > s.cuda_peak) s.cuda_peak = s.cuda_bytes;
#else
      cuda_unavailable("alloc");
#endif
    }
    nbytes_ = nbytes;
    device_ = dev;
    if (dev < 0) Napi::MemoryManagement::AdjustExternalMemory(env, n);
  } catch (const olmo::Error& e) {
    throw_js(env, e.code, e.what(), e.hint);
  }
}

void NativeBuffer::release() {
  if (released_) return;
  released_ = true;
  if (data_ == nullptr) return;
  MemoryStats& s = memory_stats();
  if (mapped_) {
    ::munmap(data_, nbytes_);
    s.mapped_bytes -= int64_t(nbytes_); s.mapped_buffers--;
  } else if (device_ < 0) {
    cpu::release(data_, nbytes_);
    s.cpu_bytes -= int64_t(nbytes_); s.cpu_buffers--;
  } else {
#ifdef OLMO_WITH_CUDA
    cuda::release(device_, data_);
#endif
    s.cuda_bytes -= int64_t(nbytes_); s.cuda_buffers--;
  }
  data_ = nullptr;
}

NativeBuffer::~NativeBuffer() { release(); }

Napi::Value NativeBuffer::Free(const Napi::CallbackInfo& info) {
  bool was_cpu = device_ < 0 && !released_ && !mapped_;
  release();
  if (was_cpu) Napi::MemoryManagement::AdjustExternalMemory(info.Env(), -int64_t(nbytes_));
  return info.Env().Undefined();
}

// write(byteOffset, typedArrayOrArrayBuffer)
Napi::Value NativeBuffer::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    OLMO_CHECK(!freed(), "TENSOR_DISPOSED", "write to freed storage", "the tensor was disposed");
    int64_t off = arg_i64(info, 0);
    OLMO_CHECK(info.Length() > 1, "INVALID_ARGUMENT", "write needs data", "");
    const void* src = nullptr;
    size_t n = 0;
    if (info[1].IsTypedArray()) {
      auto ta = info[1].As<Napi::TypedArray>();
      src = static_cast<const char*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
      n = ta.ByteLength();
    } else if (info[1].IsArrayBuffer()) {
      auto ab = info[1].As<Napi::ArrayBuffer>();
      src = ab.Data();
      n = ab.ByteLength();
    } else {
      OLMO_FAIL("INVALID_ARGUMENT", "write expects a TypedArray or ArrayBuffer", "");
    }
    OLMO_CHECK(off >= 0 && uint64_t(off) + n <= nbytes_, "SHAPE_MISMATCH", "write of " << n << " bytes at " << off << " exceeds " << nbytes_, "");
    if (n == 0) return env.Undefined();
    if (device_ < 0) {
      std::memcpy(static_cast<char*>(data_) + off, src, n);
    } else {
#ifdef OLMO_WITH_CUDA
      cuda::copy_h2d(device_, static_cast<char*>(data_) + off, src, n);
#endif
    }
  } catch (const olmo::Error& e) {
    throw_js(env, e.code, e.what(), e.hint);
  }
  return env.Undefined();
}

// read(byteOffset, nbytes) -> ArrayBuffer (a copy)
Napi::Value NativeBuffer::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    OLMO_CHECK(!freed(), "TENSOR_DISPOSED", "read from freed storage", "the tensor was disposed");
    int64_t off = arg_i64(info, 0), n = arg_i64(info, 1);
    OLMO_CHECK(off >= 0 && n >= 0 && uint64_t(off + n) <= nbytes_, "SHAPE_MISMATCH", "read of " << n << " bytes at " << off << " exceeds " << nbytes_, "");
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, size_t(n));
    if (n == 0) return ab;
    if (device_ < 0) {
      std::memcpy(ab.Data(), static_cast<char*>(data_) + off, size_t(n));
    } else {
#ifdef OLMO_WITH_CUDA
      cuda::copy_d2h(device_, ab.Data(), static_cast<char*>(data_) + off, size_t(n));
#endif
    }
    return ab;
  } catch (const olmo::Error& e) {
    throw_js(env, e.code, e.what(), e.hint);
  }
}

Napi::Value NativeBuffer::GetNbytes(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), double(nbytes_)); }
Napi::Value NativeBuffer::GetDevice(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), device_); }
Napi::Value NativeBuffer::GetFreed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), released_); }

// copyBytes(dst, dstOff, src, srcOff, nbytes): any device to any device.
static Napi::Value CopyBytes(const Napi::CallbackInfo& info) {
  int64_t n = arg_i64(info, 4);
  int ddev = 0, sdev = 0;
  char* dst = static_cast<char*>(arg_bytes(info, 0, n, 1, &ddev));
  const char* src = static_cast<const char*>(arg_bytes(info, 2, n, 1, &sdev));
  if (n == 0) return info.Env().Undefined();
  if (ddev < 0 && sdev < 0) {
    std::memmove(dst, src, size_t(n));
  } else {
#ifdef OLMO_WITH_CUDA
    if (ddev >= 0 && sdev < 0) cuda::copy_h2d(ddev, dst, src, size_t(n));
    else if (ddev < 0 && sdev >= 0) cuda::copy_d2h(sdev, dst, src, size_t(n));
    else cuda::copy_d2d(ddev, dst, src, size_t(n));
#else
    cuda_unavailable("copyBytes");
#endif
  }
  return info.Env().Undefined();
}

// zeroBytes(buf, off, nbytes)
static Napi::Value ZeroBytes(const Napi::CallbackInfo& info) {
  int64_t n = arg_i64(info, 2);
  int dev = 0;
  void* p = arg_bytes(info, 0, n, 1, &dev);
  if (dev < 0) std::memset(p, 0, size_t(n));
#ifdef OLMO_WITH_CUDA
  else cuda::memset_zero(dev, p, size_t(n));
#endif
  return info.Env().Undefined();
}

static Napi::Value Synchronize(const Napi::CallbackInfo& info) {
#ifdef OLMO_WITH_CUDA
  int dev = static_cast<int>(arg_i64(info, 0));
  if (dev >= 0) cuda::synchronize(dev);
#endif
  return info.Env().Undefined();
}

static Napi::Value EmptyCache(const Napi::CallbackInfo& info) {
  cpu::empty_cache();
  return info.Env().Undefined();
}

OLMO_REGISTER(memory) {
  def(env, exports, "emptyCache", EmptyCache);
  def(env, exports, "copyBytes", CopyBytes);
  def(env, exports, "zeroBytes", ZeroBytes);
  def(env, exports, "synchronize", Synchronize);
}

}  // namespace olmo::addon
