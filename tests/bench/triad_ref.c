/* Reference for dram.bandwidth: a plain OpenMP triad, as a user would
 * write it, built with -O3 -march=native -fopenmp by run.sh.
 * usage: triad_ref BYTES_PER_ARRAY SECONDS
 * prints "triad_gbps <best GB/s>", bytes counted as STREAM does (24 per
 * element: two loads, one store). */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: triad_ref BYTES_PER_ARRAY SECONDS\n");
    return 64;
  }
  size_t n = (size_t)strtoull(argv[1], NULL, 10) / sizeof(double);
  double seconds = strtod(argv[2], NULL);
  double *a = aligned_alloc(64, (n * sizeof(double) + 63) / 64 * 64);
  double *b = aligned_alloc(64, (n * sizeof(double) + 63) / 64 * 64);
  double *c = aligned_alloc(64, (n * sizeof(double) + 63) / 64 * 64);
  if (!a || !b || !c) {
    fprintf(stderr, "triad_ref: out of memory\n");
    return 1;
  }
  /* First touch with the same static split as the timed loop. */
#pragma omp parallel for schedule(static)
  for (size_t j = 0; j < n; j++) {
    a[j] = 1.0;
    b[j] = 2.0;
    c[j] = 0.5;
  }
  const double q = 3.0;
  double best = 1e300, start = omp_get_wtime();
  int reps = 0;
  /* Best of N, with at least 10 repetitions. */
  while (reps < 10 || omp_get_wtime() - start < seconds) {
    double t0 = omp_get_wtime();
#pragma omp parallel for schedule(static)
    for (size_t j = 0; j < n; j++)
      a[j] = b[j] + q * c[j];
    double dt = omp_get_wtime() - t0;
    if (dt < best)
      best = dt;
    reps++;
  }
  /* Use the result so the loop cannot be dropped. */
  double sum = 0;
  for (size_t j = 0; j < n; j += 4096)
    sum += a[j];
  printf("triad_gbps %.3f\nthreads %d\nreps %d\ncheck %g\n",
         24.0 * (double)n / best / 1e9, omp_get_max_threads(), reps, sum);
  free(a);
  free(b);
  free(c);
  return 0;
}
