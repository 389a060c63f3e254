/* Raw MPI reference loop for bench/fsdp: MPI_Allgather and MPI_Reduce_scatter_block on float32
 * buffers of the sizes the FSDP units use (what ProcessGroup.allGather / reduceScatter call).
 * usage: mpirun -np W ./mpi_coll ITERS N1 [N2 ...]   (N = elements of the full, gathered buffer)
 * Prints one JSON line per size from rank 0: seconds per call and bytes/s, counting bytes as
 * ProcessGroup.stats does (all-gather: output bytes; reduce-scatter: input bytes). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, world;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  int iters = argc > 1 ? atoi(argv[1]) : 50;
  for (int a = 2; a < argc; a++) {
    long full = atol(argv[a]);
    long shard = (full + world - 1) / world;
    long padded = shard * world;
    float *in = calloc(padded, sizeof(float)), *out = calloc(padded, sizeof(float));
    for (long i = 0; i < padded; i++) in[i] = (float)(i % 97) * 0.01f;
    /* warm up */
    MPI_Allgather(in, shard, MPI_FLOAT, out, shard, MPI_FLOAT, MPI_COMM_WORLD);
    MPI_Reduce_scatter_block(in, out, shard, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (int i = 0; i < iters; i++) MPI_Allgather(in, shard, MPI_FLOAT, out, shard, MPI_FLOAT, MPI_COMM_WORLD);
    double ag = (MPI_Wtime() - t0) / iters;
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = MPI_Wtime();
    for (int i = 0; i < iters; i++) MPI_Reduce_scatter_block(in, out, shard, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    double rs = (MPI_Wtime() - t0) / iters;
    if (rank == 0)
      printf("{\"impl\":\"mpi-c\",\"world\":%d,\"elements\":%ld,\"allGatherSeconds\":%.9g,\"reduceScatterSeconds\":%.9g,\"allGatherBytesPerSec\":%.6g,\"reduceScatterBytesPerSec\":%.6g}\n",
             world, padded, ag, rs, padded * 4.0 / ag, padded * 4.0 / rs);
    free(in); free(out);
  }
  MPI_Finalize();
  return 0;
}
