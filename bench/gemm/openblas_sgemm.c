/* Anchor for bench/gemm: OpenBLAS sgemm called directly from C, same shapes/layout as the addon
 * (row-major C[M,N] = A[M,K] @ B[N,K]^T, the linear-layer form). Prints the median seconds. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static int cmp(const void* a, const void* b) { double x = *(const double*)a, y = *(const double*)b; return x < y ? -1 : x > y; }

int main(int argc, char** argv) {
  if (argc < 5) { fprintf(stderr, "usage: M N K reps\n"); return 1; }
  int M = atoi(argv[1]), N = atoi(argv[2]), K = atoi(argv[3]), reps = atoi(argv[4]);
  float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * N * K), *C = malloc(sizeof(float) * M * N);
  for (long i = 0; i < (long)M * K; i++) A[i] = (float)((i * 7919) % 1000) / 1000.f - 0.5f;
  for (long i = 0; i < (long)N * K; i++) B[i] = (float)((i * 104729) % 1000) / 1000.f - 0.5f;
  double* t = malloc(sizeof(double) * reps);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.f, A, K, B, K, 0.f, C, N); /* warm-up */
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.f, A, K, B, K, 0.f, C, N);
    t[r] = now() - t0;
  }
  qsort(t, reps, sizeof(double), cmp);
  printf("%.9f\n", t[reps / 2]);
  return 0;
}
