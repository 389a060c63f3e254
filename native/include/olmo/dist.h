// Collectives behind ProcessGroup (packages/tensor-cuda/src/dist). Buffers are raw device or host
// pointers; the TS layer validates shapes. Non-blocking calls return a request id to wait on, so
// communication can overlap compute.
//   dtype codes as olmo::DType; reduce ops: 0 = sum, 1 = max, 2 = min (avg = sum then scale, in TS).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "olmo/tensor.h"

namespace olmo::dist {

// ---- MPI (OpenMPI); all functions throw DISTRIBUTED_ERROR when MPI is not compiled in ----
bool mpi_compiled();
void mpi_init();  // idempotent; MPI_THREAD_FUNNELED
bool mpi_initialized();
int mpi_rank();
int mpi_size();
void mpi_barrier();
void mpi_finalize();
[[noreturn]] void mpi_abort(int code);
// Returns a request id (> 0); 0 when the call completed synchronously.
int64_t mpi_allreduce(void* buf, int64_t count, DType dt, int op, bool async);
int64_t mpi_allgather(const void* send, void* recv, int64_t count_per_rank, DType dt, bool async);
int64_t mpi_reduce_scatter(const void* send, void* recv, int64_t count_per_rank, DType dt, int op, bool async);
int64_t mpi_broadcast(void* buf, int64_t count, DType dt, int root, bool async);
void mpi_wait(int64_t request);
bool mpi_test(int64_t request);
void mpi_broadcast_bytes(void* buf, int64_t nbytes, int root);  // e.g. the NCCL unique id

// ---- NCCL, loaded at run time (dlopen libnccl.so.2); CUDA builds only ----
bool nccl_available(std::string* why);
void nccl_init(int rank, int world, int device);  // exchanges the unique id over MPI (or local for world 1)
// async = false: on the device's legacy default stream, ordered with the kernels (returns 0).
// async = true: on a per-device side stream (non-blocking) after the kernels queued so far (an event
// orders it), returning a request id (>= kNcclRequestBase); nccl_wait makes the default stream wait
// for it (the host does not block), nccl_test polls. That is the overlap FSDP uses on GPUs.
constexpr int64_t kNcclRequestBase = int64_t(1) << 48;
int64_t nccl_allreduce(void* buf, int64_t count, DType dt, int op, int device, bool async = false);
int64_t nccl_allgather(const void* send, void* recv, int64_t count_per_rank, DType dt, int device, bool async = false);
int64_t nccl_reduce_scatter(const void* send, void* recv, int64_t count_per_rank, DType dt, int op, int device, bool async = false);
int64_t nccl_broadcast(void* buf, int64_t count, DType dt, int root, int device, bool async = false);
void nccl_wait(int64_t request);
bool nccl_test(int64_t request);
void nccl_destroy();

}  // namespace olmo::dist
