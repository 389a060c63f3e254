// NCCL backend of ProcessGroup, loaded at run time with dlopen("libnccl.so.2") so that neither the
// build nor machines without GPUs need NCCL. We declare the few NCCL entry points we call (ABI
// values from nccl.h, stable since NCCL 2.x). The unique id travels over MPI for world > 1.
#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "olmo/check.h"
#include "olmo/dist.h"

#ifdef OLMO_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

namespace olmo::dist {

namespace {
typedef struct ncclComm* ncclComm_t;
typedef struct { char internal[128]; } ncclUniqueId;
typedef int ncclResult_t;  // 0 = ncclSuccess
enum { ncclInt32 = 2, ncclUint32 = 3, ncclFloat32 = 7, ncclBfloat16 = 9 };
enum { ncclSum = 0, ncclMax = 2, ncclMin = 3 };

struct Nccl {
  void* lib = nullptr;
  ncclResult_t (*GetUniqueId)(ncclUniqueId*) = nullptr;
  ncclResult_t (*CommInitRank)(ncclComm_t*, int, ncclUniqueId, int) = nullptr;
  ncclResult_t (*CommDestroy)(ncclComm_t) = nullptr;
  ncclResult_t (*AllReduce)(const void*, void*, size_t, int, int, ncclComm_t, void*) = nullptr;
  ncclResult_t (*AllGather)(const void*, void*, size_t, int, ncclComm_t, void*) = nullptr;
  ncclResult_t (*ReduceScatter)(const void*, void*, size_t, int, int, ncclComm_t, void*) = nullptr;
  ncclResult_t (*Broadcast)(const void*, void*, size_t, int, int, ncclComm_t, void*) = nullptr;
  const char* (*GetErrorString)(ncclResult_t) = nullptr;
  ncclComm_t comm = nullptr;
};
Nccl g;

bool load(std::string* why) {
  if (g.lib) return true;
  const char* env = std::getenv("OLMO_NCCL_PATH");
  const char* names[] = {env, "libnccl.so.2", "libnccl.so"};
  for (const char* n : names) {
    if (!n) continue;
    g.lib = dlopen(n, RTLD_NOW | RTLD_GLOBAL);
    if (g.lib) break;
  }
  if (!g.lib) {
    if (why) *why = "libnccl.so.2 not found (set OLMO_NCCL_PATH, e.g. to site-packages/nvidia/nccl/lib/libnccl.so.2)";
    return false;
  }
#define LOAD(field, sym) g.field = reinterpret_cast<decltype(g.field)>(dlsym(g.lib, sym))
  LOAD(GetUniqueId, "ncclGetUniqueId");
  LOAD(CommInitRank, "ncclCommInitRank");
  LOAD(CommDestroy, "ncclCommDestroy");
  LOAD(AllReduce, "ncclAllReduce");
  LOAD(AllGather, "ncclAllGather");
  LOAD(ReduceScatter, "ncclReduceScatter");
  LOAD(Broadcast, "ncclBroadcast");
  LOAD(GetErrorString, "ncclGetErrorString");
#undef LOAD
  if (!g.GetUniqueId || !g.CommInitRank || !g.AllReduce || !g.AllGather || !g.ReduceScatter || !g.Broadcast) {
    if (why) *why = "libnccl.so.2 lacks expected symbols";
    dlclose(g.lib);
    g.lib = nullptr;
    return false;
  }
  return true;
}

void check(ncclResult_t r, const char* what) {
  OLMO_CHECK(r == 0, "DISTRIBUTED_ERROR", what << " failed: " << (g.GetErrorString ? g.GetErrorString(r) : "nccl error"),
             "check that every rank reached the same collective");
}

int nccl_type(DType d) {
  switch (d) {
    case DType::F32: return ncclFloat32;
    case DType::BF16: return ncclBfloat16;
    case DType::I32: return ncclInt32;
    case DType::U32: return ncclUint32;
    default: OLMO_FAIL("DTYPE_UNSUPPORTED", "NCCL collectives on this dtype", "use float32, bfloat16, int32 or uint32");
  }
}

int nccl_op(int op) { return op == 1 ? ncclMax : op == 2 ? ncclMin : ncclSum; }

void set_device(int device) {
#ifdef OLMO_WITH_CUDA
  cudaSetDevice(device);
#else
  (void)device;
  OLMO_FAIL("CUDA_UNAVAILABLE", "NCCL needs a CUDA build of the addon", "rebuild with nvcc on PATH");
#endif
}

ncclComm_t comm() {
  OLMO_CHECK(g.comm, "DISTRIBUTED_ERROR", "NCCL communicator not initialised", "create the ProcessGroup with backend 'nccl'");
  return g.comm;
}
}  // namespace

bool nccl_available(std::string* why) {
#ifndef OLMO_WITH_CUDA
  if (why) *why = "the addon was built without CUDA";
  return false;
#else
  return load(why);
#endif
}

void nccl_init(int rank, int world, int device) {
  std::string why;
  OLMO_CHECK(nccl_available(&why), "DISTRIBUTED_ERROR", "NCCL unavailable: " << why, "install NCCL or use backend 'mpi'");
  set_device(device);
  ncclUniqueId id;
  std::memset(&id, 0, sizeof id);
  if (rank == 0) check(g.GetUniqueId(&id), "ncclGetUniqueId");
  if (world > 1) mpi_broadcast_bytes(&id, sizeof id, 0);
  check(g.CommInitRank(&g.comm, world, id, rank), "ncclCommInitRank");
}

namespace {
#ifdef OLMO_WITH_CUDA
void cuda_check(cudaError_t e, const char* what) {
  OLMO_CHECK(e == cudaSuccess, "CUDA_ERROR", what << ": " << cudaGetErrorString(e), "");
}
cudaStream_t side_stream(int device) {
  static cudaStream_t streams[64] = {};
  OLMO_CHECK(device >= 0 && device < 64, "INVALID_ARGUMENT", "NCCL: device " << device << " out of range", "");
  // Non-blocking: a plain stream would synchronise with the legacy default stream and never overlap.
  if (!streams[device]) cuda_check(cudaStreamCreateWithFlags(&streams[device], cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  return streams[device];
}
std::map<int64_t, cudaEvent_t> g_events;
int64_t g_next_request = 1;
#endif

// Runs launch(stream): on the legacy default stream (sync), or on the side stream after the work
// queued on the default stream so far, returning a request id completed by nccl_wait.
template <class F>
int64_t run(int device, bool async, F launch) {
  set_device(device);
  if (!async) {
    launch(nullptr);
    return 0;
  }
#ifdef OLMO_WITH_CUDA
  cudaStream_t s = side_stream(device);
  cudaEvent_t ready = nullptr, done = nullptr;
  cuda_check(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming), "cudaEventCreate");
  cuda_check(cudaEventRecord(ready, cudaStreamLegacy), "cudaEventRecord");
  cuda_check(cudaStreamWaitEvent(s, ready, 0), "cudaStreamWaitEvent");
  cudaEventDestroy(ready);  // released once the wait has been satisfied
  launch(s);
  cuda_check(cudaEventCreateWithFlags(&done, cudaEventDisableTiming), "cudaEventCreate");
  cuda_check(cudaEventRecord(done, s), "cudaEventRecord");
  int64_t id = kNcclRequestBase + g_next_request++;
  g_events[id] = done;
  return id;
#else
  return 0;
#endif
}
}  // namespace

int64_t nccl_allreduce(void* buf, int64_t count, DType dt, int op, int device, bool async) {
  return run(device, async, [&](void* s) {
    check(g.AllReduce(buf, buf, size_t(count), nccl_type(dt), nccl_op(op), comm(), s), "ncclAllReduce");
  });
}
int64_t nccl_allgather(const void* send, void* recv, int64_t n, DType dt, int device, bool async) {
  return run(device, async, [&](void* s) { check(g.AllGather(send, recv, size_t(n), nccl_type(dt), comm(), s), "ncclAllGather"); });
}
int64_t nccl_reduce_scatter(const void* send, void* recv, int64_t n, DType dt, int op, int device, bool async) {
  return run(device, async, [&](void* s) {
    check(g.ReduceScatter(send, recv, size_t(n), nccl_type(dt), nccl_op(op), comm(), s), "ncclReduceScatter");
  });
}
int64_t nccl_broadcast(void* buf, int64_t count, DType dt, int root, int device, bool async) {
  return run(device, async, [&](void* s) { check(g.Broadcast(buf, buf, size_t(count), nccl_type(dt), root, comm(), s), "ncclBroadcast"); });
}

void nccl_wait(int64_t id) {
#ifdef OLMO_WITH_CUDA
  auto it = g_events.find(id);
  OLMO_CHECK(it != g_events.end(), "INVALID_ARGUMENT", "unknown or completed NCCL request " << id, "wait() each handle once");
  cudaEvent_t done = it->second;
  g_events.erase(it);
  // The default stream (every kernel) waits for the collective; the host does not block.
  cuda_check(cudaStreamWaitEvent(cudaStreamLegacy, done, 0), "cudaStreamWaitEvent");
  cudaEventDestroy(done);
#else
  (void)id;
#endif
}

bool nccl_test(int64_t id) {
#ifdef OLMO_WITH_CUDA
  auto it = g_events.find(id);
  if (it == g_events.end()) return true;
  cudaError_t e = cudaEventQuery(it->second);
  if (e == cudaErrorNotReady) return false;
  cuda_check(e, "cudaEventQuery");
  cudaEventDestroy(it->second);
  g_events.erase(it);
  return true;
#else
  (void)id;
  return true;
#endif
}

void nccl_destroy() {
  if (g.comm && g.CommDestroy) g.CommDestroy(g.comm);
  g.comm = nullptr;
}

}  // namespace olmo::dist
