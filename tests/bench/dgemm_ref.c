/* Reference for cpu.compute: OpenBLAS DGEMM on one thread pinned to one
 * CPU (run.sh sets OPENBLAS_NUM_THREADS=1).
 * usage: dgemm_ref CPU N SECONDS
 * prints "dgemm_gflops <best GFLOP/s>" for C = A*B + C with N x N doubles,
 * per second of CPU time the process got (as kiln's gflops_per_core is, so
 * other load on a shared machine does not skew the ratio), and the same
 * per second of wall-clock time as dgemm_gflops_wall. */
#define _GNU_SOURCE
#include <cblas.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: dgemm_ref CPU N SECONDS\n");
    return 64;
  }
  int cpu = atoi(argv[1]), n = atoi(argv[2]);
  double seconds = strtod(argv[3], NULL);
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    perror("dgemm_ref: sched_setaffinity");
    return 1;
  }
  size_t nn = (size_t)n * (size_t)n;
  double *a = aligned_alloc(64, nn * sizeof(double));
  double *b = aligned_alloc(64, nn * sizeof(double));
  double *c = aligned_alloc(64, nn * sizeof(double));
  if (!a || !b || !c) {
    fprintf(stderr, "dgemm_ref: out of memory\n");
    return 1;
  }
  unsigned x = 12345;
  for (size_t i = 0; i < nn; i++) {
    x = x * 1103515245u + 12345u;
    a[i] = (double)(x >> 8) / 16777216.0 - 0.5;
    b[i] = (double)(x >> 4 & 0xffff) / 65536.0 - 0.5;
    c[i] = 0;
  }
  /* One untimed call warms caches, pages and OpenBLAS's buffers. */
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a, n, b,
              n, 1.0, c, n);
  double best = 1e300, best_wall = 1e300;
  double start = now(CLOCK_MONOTONIC);
  int reps = 0;
  while (reps < 3 || now(CLOCK_MONOTONIC) - start < seconds) {
    double w0 = now(CLOCK_MONOTONIC), t0 = now(CLOCK_PROCESS_CPUTIME_ID);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a, n,
                b, n, 1.0, c, n);
    double dt = now(CLOCK_PROCESS_CPUTIME_ID) - t0;
    double dw = now(CLOCK_MONOTONIC) - w0;
    if (dt < best)
      best = dt;
    if (dw < best_wall)
      best_wall = dw;
    reps++;
  }
  double flops = 2.0 * n * (double)n * n;
  printf("dgemm_gflops %.3f\ndgemm_gflops_wall %.3f\nreps %d\ncheck %g\n",
         flops / best / 1e9, flops / best_wall / 1e9, reps, c[nn / 2]);
  free(a);
  free(b);
  free(c);
  return 0;
}
