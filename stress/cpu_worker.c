/* Worker-thread plumbing of the CPU and DRAM modules (see cpu_worker.h). */
#include "cpu_worker.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "cpuset.h"
#include "kiln/textutil.h"

int *kiln_cpu_worker_cpus(struct kiln_step *s, int *ncpu) {
  int n = kiln_cpus_allowed(NULL, 0);
  if (n <= 0) {
    kiln_step_error(s, "cannot read this process's CPU affinity");
    return NULL;
  }
  int *cpus = kiln_xcalloc((size_t)n, sizeof *cpus);
  *ncpu = kiln_cpus_allowed(cpus, n);
  return cpus;
}

int kiln_cpu_worker_kernel(struct kiln_step *s,
                           const bool supported[KILN_CPU_KERNELS]) {
  static const char *const names[KILN_CPU_KERNELS] = {"portable", "avx2",
                                                      "avx512"};
  const char *v = kiln_step_param(s, "kernel");
  if (!v || strcmp(v, "auto") == 0) {
    int best = KILN_CPU_KERNELS - 1;
    while (best > 0 && !supported[best])
      best--;
    return best;
  }
  for (int i = 0; i < KILN_CPU_KERNELS; i++)
    if (strcmp(v, names[i]) == 0) {
      if (!supported[i]) {
        kiln_step_skip(s, "kernel %s was asked for, but this CPU lacks it", v);
        return -1;
      }
      return i;
    }
  kiln_step_error(
      s, "parameter kernel = '%s' is not one of auto, avx512, avx2, portable",
      v);
  return -1;
}

bool kiln_cpu_worker_start(struct kiln_step *s, int cpu, pthread_t *tid,
                           void *(*fn)(void *), void *arg) {
  int rc = pthread_create(tid, NULL, fn, arg);
  if (rc)
    kiln_step_error(s, "cannot start a thread for cpu%d: %s", cpu,
                    strerror(rc));
  return rc == 0;
}

void kiln_cpu_worker_nap(const struct kiln_step *s) {
  double left = kiln_step_deadline(s) - kiln_monotonic_now();
  double sec = left < 0.25 ? (left > 0 ? left : 0) : 0.25;
  struct timespec ts = {(time_t)sec, (long)((sec - (double)(time_t)sec) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}
