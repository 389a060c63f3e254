// Bindings for native/dist (ProcessGroup backends). backend: 0 = MPI (host buffers), 1 = NCCL (CUDA buffers).
#include <string>

#include "args.h"
#include "olmo/dist.h"
#include "registry.h"

namespace olmo::addon {

namespace {
DType arg_dtype(const Napi::CallbackInfo& info, size_t i) {
  int64_t d = arg_i64(info, i);
  OLMO_CHECK(d >= 0 && d <= 4, "DTYPE_UNSUPPORTED", "dtype code " << d, "");
  return DType(d);
}

void check_backend_device(int backend, int dev) {
  if (backend == 0) OLMO_CHECK(dev < 0, "DEVICE_MISMATCH", "the MPI backend works on CPU tensors", "use backend 'nccl' for CUDA tensors");
  else OLMO_CHECK(dev >= 0, "DEVICE_MISMATCH", "the NCCL backend works on CUDA tensors", "use backend 'mpi' for CPU tensors");
}

int world() { return dist::mpi_initialized() ? dist::mpi_size() : 1; }
}  // namespace

static Napi::Value DistInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("mpiCompiled", dist::mpi_compiled());
  std::string why;
  bool nccl = dist::nccl_available(&why);
  o.Set("ncclAvailable", nccl);
  o.Set("ncclWhy", why);
  return o;
}

static Napi::Value MpiInit(const Napi::CallbackInfo& info) {
  dist::mpi_init();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("rank", dist::mpi_rank());
  o.Set("size", dist::mpi_size());
  return o;
}
static Napi::Value MpiBarrier(const Napi::CallbackInfo& info) { dist::mpi_barrier(); return info.Env().Undefined(); }
static Napi::Value MpiFinalize(const Napi::CallbackInfo& info) { dist::mpi_finalize(); return info.Env().Undefined(); }
static Napi::Value MpiAbort(const Napi::CallbackInfo& info) { dist::mpi_abort(int(arg_i64(info, 0))); }

// allreduce(backend, buf, off, count, dtype, op, async) -> request id
static Napi::Value AllReduce(const Napi::CallbackInfo& info) {
  int backend = int(arg_i64(info, 0));
  int64_t n = arg_i64(info, 3);
  DType dt = arg_dtype(info, 4);
  int op = int(arg_i64(info, 5));
  int dev;
  void* p = arg_bytes(info, 1, n, dtype_size(dt), &dev);
  check_backend_device(backend, dev);
  if (backend == 1) return Napi::Number::New(info.Env(), double(dist::nccl_allreduce(p, n, dt, op, dev, arg_bool(info, 6))));
  return Napi::Number::New(info.Env(), double(dist::mpi_allreduce(p, n, dt, op, arg_bool(info, 6))));
}

// allgather(backend, send, off, recv, off, countPerRank, dtype, async)
static Napi::Value AllGather(const Napi::CallbackInfo& info) {
  int backend = int(arg_i64(info, 0));
  int64_t n = arg_i64(info, 5);
  DType dt = arg_dtype(info, 6);
  int d0, d1;
  const void* s = arg_bytes(info, 1, n, dtype_size(dt), &d0);
  void* r = arg_bytes(info, 3, n * world(), dtype_size(dt), &d1);
  int dev = same_device({d0, d1});
  check_backend_device(backend, dev);
  if (backend == 1) return Napi::Number::New(info.Env(), double(dist::nccl_allgather(s, r, n, dt, dev, arg_bool(info, 7))));
  return Napi::Number::New(info.Env(), double(dist::mpi_allgather(s, r, n, dt, arg_bool(info, 7))));
}

// reduceScatter(backend, send, off, recv, off, countPerRank, dtype, op, async)
static Napi::Value ReduceScatter(const Napi::CallbackInfo& info) {
  int backend = int(arg_i64(info, 0));
  int64_t n = arg_i64(info, 5);
  DType dt = arg_dtype(info, 6);
  int op = int(arg_i64(info, 7));
  int d0, d1;
  const void* s = arg_bytes(info, 1, n * world(), dtype_size(dt), &d0);
  void* r = arg_bytes(info, 3, n, dtype_size(dt), &d1);
  int dev = same_device({d0, d1});
  check_backend_device(backend, dev);
  if (backend == 1) return Napi::Number::New(info.Env(), double(dist::nccl_reduce_scatter(s, r, n, dt, op, dev, arg_bool(info, 8))));
  return Napi::Number::New(info.Env(), double(dist::mpi_reduce_scatter(s, r, n, dt, op, arg_bool(info, 8))));
}

// broadcast(backend, buf, off, count, dtype, root, async)
static Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  int backend = int(arg_i64(info, 0));
  int64_t n = arg_i64(info, 3);
  DType dt = arg_dtype(info, 4);
  int root = int(arg_i64(info, 5));
  int dev;
  void* p = arg_bytes(info, 1, n, dtype_size(dt), &dev);
  check_backend_device(backend, dev);
  if (backend == 1) return Napi::Number::New(info.Env(), double(dist::nccl_broadcast(p, n, dt, root, dev, arg_bool(info, 6))));
  return Napi::Number::New(info.Env(), double(dist::mpi_broadcast(p, n, dt, root, arg_bool(info, 6))));
}

// Request ids >= kNcclRequestBase are NCCL side-stream collectives; smaller ones MPI requests.
static Napi::Value Wait(const Napi::CallbackInfo& info) {
  int64_t id = arg_i64(info, 0);
  if (id >= dist::kNcclRequestBase) dist::nccl_wait(id);
  else dist::mpi_wait(id);
  return info.Env().Undefined();
}
static Napi::Value Test(const Napi::CallbackInfo& info) {
  int64_t id = arg_i64(info, 0);
  return Napi::Boolean::New(info.Env(), id >= dist::kNcclRequestBase ? dist::nccl_test(id) : dist::mpi_test(id));
}

static Napi::Value NcclInit(const Napi::CallbackInfo& info) {
  dist::nccl_init(int(arg_i64(info, 0)), int(arg_i64(info, 1)), int(arg_i64(info, 2)));
  return info.Env().Undefined();
}
static Napi::Value NcclDestroy(const Napi::CallbackInfo& info) { dist::nccl_destroy(); return info.Env().Undefined(); }

OLMO_REGISTER(dist) {
  def(env, exports, "distInfo", DistInfo);
  def(env, exports, "mpiInit", MpiInit);
  def(env, exports, "mpiBarrier", MpiBarrier);
  def(env, exports, "mpiFinalize", MpiFinalize);
  def(env, exports, "mpiAbort", MpiAbort);
  def(env, exports, "allReduce", AllReduce);
  def(env, exports, "allGather", AllGather);
  def(env, exports, "reduceScatter", ReduceScatter);
  def(env, exports, "broadcast", Broadcast);
  def(env, exports, "distWait", Wait);
  def(env, exports, "distTest", Test);
  def(env, exports, "ncclInit", NcclInit);
  def(env, exports, "ncclDestroy", NcclDestroy);
}

}  // namespace olmo::addon
