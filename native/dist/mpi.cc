// MPI backend of ProcessGroup (OpenMPI). Compiled into the addon only when CMake finds MPI; the
// stubs at the bottom report DISTRIBUTED_ERROR otherwise.
#include <cstdint>
#include <cstdlib>
#include <map>

#include "olmo/check.h"
#include "olmo/dist.h"

#ifdef OLMO_WITH_MPI
#include <dlfcn.h>
#include <mpi.h>

namespace olmo::dist {

namespace {
std::map<int64_t, MPI_Request> g_requests;
int64_t g_next_request = 1;
bool g_we_initialized = false;

MPI_Datatype mpi_type(DType d) {
  switch (d) {
    case DType::F32: return MPI_FLOAT;
    case DType::I32: return MPI_INT32_T;
    case DType::U32: return MPI_UINT32_T;
    case DType::U16:
    case DType::BF16: return MPI_UINT16_T;
  }
  return MPI_FLOAT;
}

MPI_Op mpi_op(int op, DType d) {
  OLMO_CHECK(d != DType::BF16, "DTYPE_UNSUPPORTED", "MPI reductions on bfloat16 are not supported", "reduce in float32 (the FSDP policy does)");
  switch (op) {
    case 0: return MPI_SUM;
    case 1: return MPI_MAX;
    case 2: return MPI_MIN;
  }
  OLMO_FAIL("INVALID_ARGUMENT", "unknown reduce op " << op, "use sum, max or min");
}

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  OLMO_FAIL("DISTRIBUTED_ERROR", what << " failed: " << std::string(msg, len), "a peer rank may have died; check the other ranks' output");
}

int64_t track(MPI_Request r) {
  int64_t id = g_next_request++;
  g_requests[id] = r;
  return id;
}

void require_init() {
  OLMO_CHECK(mpi_initialized(), "DISTRIBUTED_ERROR", "MPI is not initialised", "create the ProcessGroup with backend 'mpi' first");
}
}  // namespace

bool mpi_compiled() { return true; }

bool mpi_initialized() {
  int flag = 0, fin = 0;
  MPI_Initialized(&flag);
  MPI_Finalized(&fin);
  return flag && !fin;
}

void mpi_init() {
  if (mpi_initialized()) return;
  // OpenMPI's plugins resolve libmpi symbols globally; the addon was dlopen()ed RTLD_LOCAL by
  // Node, so promote libmpi to the global namespace before MPI_Init.
  dlopen("libmpi.so.40", RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
  dlopen("libmpi.so", RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
  int provided = 0;
  check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  // Errors come back as codes (-> typed JS errors) instead of aborting inside MPI.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  g_we_initialized = true;
}

int mpi_rank() { require_init(); int r = 0; MPI_Comm_rank(MPI_COMM_WORLD, &r); return r; }
int mpi_size() { require_init(); int s = 1; MPI_Comm_size(MPI_COMM_WORLD, &s); return s; }
void mpi_barrier() { require_init(); check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }

void mpi_finalize() {
  if (mpi_initialized() && g_we_initialized) MPI_Finalize();
}

void mpi_abort(int code) {
  if (mpi_initialized()) MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

int64_t mpi_allreduce(void* buf, int64_t count, DType dt, int op, bool async) {
  require_init();
  OLMO_CHECK(count <= INT32_MAX, "SHAPE_MISMATCH", "allreduce of " << count << " elements exceeds 2^31", "bucket the tensor");
  if (!async) { check(MPI_Allreduce(MPI_IN_PLACE, buf, int(count), mpi_type(dt), mpi_op(op, dt), MPI_COMM_WORLD), "MPI_Allreduce"); return 0; }
  MPI_Request r;
  check(MPI_Iallreduce(MPI_IN_PLACE, buf, int(count), mpi_type(dt), mpi_op(op, dt), MPI_COMM_WORLD, &r), "MPI_Iallreduce");
  return track(r);
}

int64_t mpi_allgather(const void* send, void* recv, int64_t n, DType dt, bool async) {
  require_init();
  OLMO_CHECK(n <= INT32_MAX, "SHAPE_MISMATCH", "allgather of " << n << " elements per rank exceeds 2^31", "bucket the tensor");
  if (!async) { check(MPI_Allgather(send, int(n), mpi_type(dt), recv, int(n), mpi_type(dt), MPI_COMM_WORLD), "MPI_Allgather"); return 0; }
  MPI_Request r;
  check(MPI_Iallgather(send, int(n), mpi_type(dt), recv, int(n), mpi_type(dt), MPI_COMM_WORLD, &r), "MPI_Iallgather");
  return track(r);
}

int64_t mpi_reduce_scatter(const void* send, void* recv, int64_t n, DType dt, int op, bool async) {
  require_init();
  OLMO_CHECK(n <= INT32_MAX, "SHAPE_MISMATCH", "reduce_scatter of " << n << " elements per rank exceeds 2^31", "bucket the tensor");
  if (!async) { check(MPI_Reduce_scatter_block(send, recv, int(n), mpi_type(dt), mpi_op(op, dt), MPI_COMM_WORLD), "MPI_Reduce_scatter_block"); return 0; }
  MPI_Request r;
  check(MPI_Ireduce_scatter_block(send, recv, int(n), mpi_type(dt), mpi_op(op, dt), MPI_COMM_WORLD, &r), "MPI_Ireduce_scatter_block");
  return track(r);
}

int64_t mpi_broadcast(void* buf, int64_t count, DType dt, int root, bool async) {
  require_init();
  OLMO_CHECK(count <= INT32_MAX, "SHAPE_MISMATCH", "broadcast of " << count << " elements exceeds 2^31", "bucket the tensor");
  if (!async) { check(MPI_Bcast(buf, int(count), mpi_type(dt), root, MPI_COMM_WORLD), "MPI_Bcast"); return 0; }
  MPI_Request r;
  check(MPI_Ibcast(buf, int(count), mpi_type(dt), root, MPI_COMM_WORLD, &r), "MPI_Ibcast");
  return track(r);
}

void mpi_broadcast_bytes(void* buf, int64_t nbytes, int root) {
  require_init();
  check(MPI_Bcast(buf, int(nbytes), MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
}

void mpi_wait(int64_t id) {
  if (id == 0) return;
  auto it = g_requests.find(id);
  OLMO_CHECK(it != g_requests.end(), "INVALID_ARGUMENT", "unknown or completed request " << id, "wait() each handle once");
  MPI_Request r = it->second;
  g_requests.erase(it);
  check(MPI_Wait(&r, MPI_STATUS_IGNORE), "MPI_Wait");
}

bool mpi_test(int64_t id) {
  if (id == 0) return true;
  auto it = g_requests.find(id);
  if (it == g_requests.end()) return true;
  int flag = 0;
  check(MPI_Test(&it->second, &flag, MPI_STATUS_IGNORE), "MPI_Test");
  if (flag) g_requests.erase(it);
  return flag != 0;
}

}  // namespace olmo::dist

#else  // !OLMO_WITH_MPI

namespace olmo::dist {
#define OLMO_NO_MPI OLMO_FAIL("DISTRIBUTED_ERROR", "the addon was built without MPI", "apt-get install -y libopenmpi-dev openmpi-bin, then rebuild @olmo/tensor-cuda")
bool mpi_compiled() { return false; }
bool mpi_initialized() { return false; }
void mpi_init() { OLMO_NO_MPI; }
int mpi_rank() { return 0; }
int mpi_size() { return 1; }
void mpi_barrier() { OLMO_NO_MPI; }
void mpi_finalize() {}
void mpi_abort(int code) { std::_Exit(code); }
int64_t mpi_allreduce(void*, int64_t, DType, int, bool) { OLMO_NO_MPI; }
int64_t mpi_allgather(const void*, void*, int64_t, DType, bool) { OLMO_NO_MPI; }
int64_t mpi_reduce_scatter(const void*, void*, int64_t, DType, int, bool) { OLMO_NO_MPI; }
int64_t mpi_broadcast(void*, int64_t, DType, int, bool) { OLMO_NO_MPI; }
void mpi_broadcast_bytes(void*, int64_t, int) { OLMO_NO_MPI; }
void mpi_wait(int64_t) {}
bool mpi_test(int64_t) { return true; }
}  // namespace olmo::dist

#endif
