/* gpu.membw and gpu.memtest against their references, measured in the same
 * run on the same GPU:
 *
 *   gpu.membw   >= 90% of the HBM's theoretical bandwidth (the data sheet,
 *               by PCI device id or model name; else 2 x memory clock x bus
 *               width from the driver) and >= 1.0x a cudaMemcpy device-to-
 *               device copy of the same size between the same buffers,
 *               both counting bytes read plus written;
 *   gpu.memtest >= 40% of gpu.membw's bytes per second.
 *
 * gpu.membw's figure is its module's: the median of `--copies` timed copy
 * kernels over two buffers of 90% of free memory (kiln_gpubw_copy); the
 * memcpy reference is the median of as many cudaMemcpyAsync copies between
 * the same two buffers, interleaved with them. gpu.memtest's is its
 * module's tested_gbps: the bytes its check sweeps read over the wall time
 * of whole rounds (writes included) over 95% of free memory, rounds
 * repeated for at least `--memtest-seconds`.
 *
 *   gpu_mem_bench [--gpu BUS]... [--copies N] [--memtest-seconds S]
 *
 * Every GPU on the PCI bus by default. Prints each figure, the ratios and
 * whether each target is met; exit 0 when all are met (or there is no GPU:
 * "gpu.membw/gpu.memtest: SKIP (<reason>)"), 1 when a target is missed, 2
 * when a benchmark could not run. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../stress/gpu_mem.h"
#include "../../stress/gpu_patterns.h"
#include "kiln/gpu_enum.h"
#include "kiln/textutil.h"
#include "run/plan.h"

#define MEMBW_SHARE 0.90   /* gpu.membw's default `mem` */
#define MEMTEST_SHARE 0.95 /* gpu.memtest's default `mem` */
#define TARGET_PEAK 0.90
#define TARGET_MEMCPY 1.00
#define TARGET_MEMTEST 0.40
#define MAX_GPUS 64

enum { OK = 0, MISSED = 1, NOT_RUN = 2, SKIPPED = 3 };

struct opts {
  long copies;
  double memtest_seconds;
};

/* Met, or missed: the worse of the two into *status. */
static void target(const char *what, double ratio, double want, int *status) {
  bool met = ratio >= want;
  printf("  %-20s %.3f (target >= %.2f): %s\n", what, ratio, want,
         met ? "met" : "MISSED");
  if (!met && *status == OK)
    *status = MISSED;
}

#if KILN_HAVE_CUDA

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, size_t n) {
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* gpu.membw's median copy and the memcpy reference's, interleaved. */
static int run_membw(const char *bus, const struct opts *o, double *membw,
                     double *memcpy_gbps, char *name, size_t name_n) {
  char why[512];
  struct kiln_gpu_mem_info info;
  struct kiln_gpubw *h = NULL;
  int rc = kiln_gpubw_open(bus, MEMBW_SHARE, 1, &h, &info, why, sizeof why);
  if (rc == 1) {
    printf("  SKIP (%s)\n", why);
    return SKIPPED;
  }
  if (rc != 0) {
    printf("  gpu.membw could not run: %s\n", why);
    return NOT_RUN;
  }
  snprintf(name, name_n, "%s", info.name);
  size_t n = (size_t)o->copies;
  double *k = kiln_xcalloc(n, sizeof *k), *m = kiln_xcalloc(n, sizeof *m);
  int status = OK;
  /* One of each first, untimed: the first touch of the buffers. */
  for (size_t i = 0; i <= n && status == OK; i++) {
    double bytes, ms, bytes2, ms2;
    if (kiln_gpubw_copy(h, &bytes, &ms, why, sizeof why) ||
        kiln_gpubw_memcpy_ref(h, &bytes2, &ms2, why, sizeof why)) {
      printf("  gpu.membw copy failed: %s\n", why);
      status = NOT_RUN;
    } else if (i > 0) {
      k[i - 1] = ms > 0 ? bytes / (ms / 1e3) / 1e9 : 0;
      m[i - 1] = ms2 > 0 ? bytes2 / (ms2 / 1e3) / 1e9 : 0;
    }
  }
  if (status == OK) {
    uint64_t errors = 0, addr = 0;
    struct gpat_error first;
    if (kiln_gpubw_verify(h, &errors, &first, &addr, why, sizeof why)) {
      printf("  gpu.membw verify failed: %s\n", why);
      status = NOT_RUN;
    } else if (errors) {
      printf("  gpu.membw: the copies corrupted %llu words (first at "
             "0x%llx): the figures are not trustworthy\n",
             (unsigned long long)errors, (unsigned long long)addr);
      status = NOT_RUN;
    }
  }
  if (status == OK) {
    *membw = median(k, n);
    *memcpy_gbps = median(m, n);
    printf("  membw_gbps           %.1f (median of %zu copy kernels over 2 x "
           "%.1f GiB; min %.1f, max %.1f)\n",
           *membw, n, (double)info.bytes / 2 / (1ULL << 30), k[0], k[n - 1]);
    printf("  memcpy_gbps          %.1f (median of %zu cudaMemcpyAsync "
           "device-to-device copies, same buffers; min %.1f, max %.1f)\n",
           *memcpy_gbps, n, m[0], m[n - 1]);
  }
  free(k);
  free(m);
  kiln_gpubw_close(h);
  return status;
}

/* One check sweep as gpu.memtest runs it: wrong words added to *errors,
 * the sweep's bytes to *checked. */
static int check(struct kiln_gpumt *h, int kind, uint64_t pass, int write_next,
                 int down, uint64_t *errors, uint64_t *checked, char *why,
                 size_t n) {
  struct gpat_error errs[64];
  uint64_t bad = 0;
  size_t got = 0;
  if (kiln_gpumt_check(h, kind, pass, 1, write_next, down, &bad, errs, 64, &got,
                       why, n))
    return -1;
  *errors += bad;
  *checked += kiln_gpumt_words(h) * 8;
  return 0;
}

/* One round of gpu.memtest's patterns (its run_round): write and check
 * walking ones, walking zeros, own address and random; moving inversions
 * as write R; check R, write ~R up; check ~R, write R down; check R. */
static int round_of(struct kiln_gpumt *h, uint64_t r, uint64_t *errors,
                    uint64_t *checked, char *why, size_t n) {
  static const int simple[] = {GPAT_WALKING_ONES, GPAT_WALKING_ZEROS,
                               GPAT_OWN_ADDRESS, GPAT_RANDOM};
  for (size_t i = 0; i < sizeof simple / sizeof *simple; i++)
    if (kiln_gpumt_write(h, simple[i], r, 1, why, n) ||
        check(h, simple[i], r, 0, 0, errors, checked, why, n))
      return -1;
  uint64_t p = 2 * r;
  if (kiln_gpumt_write(h, GPAT_MOVING_INVERSIONS, p, 1, why, n) ||
      check(h, GPAT_MOVING_INVERSIONS, p, 1, 0, errors, checked, why, n) ||
      check(h, GPAT_MOVING_INVERSIONS, p + 1, 1, 1, errors, checked, why, n) ||
      check(h, GPAT_MOVING_INVERSIONS, p, 0, 0, errors, checked, why, n))
    return -1;
  return 0;
}

/* gpu.memtest's tested_gbps, counted as stress/gpu_memtest.c counts it:
 * the bytes its check sweeps read, over the wall time of whole rounds. */
static int run_memtest(const char *bus, const struct opts *o, double *gbps) {
  char why[512];
  struct kiln_gpu_mem_info info;
  struct kiln_gpumt *h = NULL;
  int rc = kiln_gpumt_open(bus, MEMTEST_SHARE, &h, &info, why, sizeof why);
  if (rc != 0) {
    printf("  gpu.memtest could not run: %s\n", why);
    return NOT_RUN;
  }
  uint64_t checked = 0, errors = 0, rounds = 0;
  double t0 = kiln_monotonic_now(), sec = 0;
  int status = OK;
  while (rounds == 0 || sec < o->memtest_seconds) {
    if (round_of(h, rounds, &errors, &checked, why, sizeof why)) {
      printf("  gpu.memtest failed: %s\n", why);
      status = NOT_RUN;
      break;
    }
    rounds++;
    sec = kiln_monotonic_now() - t0;
  }
  kiln_gpumt_close(h);
  if (status != OK)
    return status;
  if (errors) {
    printf("  gpu.memtest found %llu wrong words: the GPU is faulty\n",
           (unsigned long long)errors);
    return NOT_RUN;
  }
  *gbps = sec > 0 ? (double)checked / sec / 1e9 : 0;
  printf("  memtest_gbps         %.1f (%llu round%s over %.1f GiB in %.1f s, "
         "as gpu.memtest counts it)\n",
         *gbps, (unsigned long long)rounds, rounds == 1 ? "" : "s",
         (double)info.bytes / (1ULL << 30), sec);
  return OK;
}

/* The data sheet's figure, else the driver's clock and width; 0 with the
 * reason printed when neither is known. */
static double theoretical(const char *bus, const char *name) {
  unsigned id = kiln_gpu_pci_device_id(bus);
  const struct kiln_hbm_spec *spec = kiln_hbm_lookup(id, name);
  if (spec) {
    printf("  theoretical_gbps     %.1f (%s data sheet, by %s)\n", spec->gbps,
           spec->model, spec->device_id ? "PCI device id" : "model name");
    return spec->gbps;
  }
  int khz = 0, bits = 0;
  char why[256];
  if (kiln_gpu_mem_clock(bus, &khz, &bits, why, sizeof why) == 0) {
    double g = kiln_hbm_gbps_from_clock(khz, bits);
    printf("  theoretical_gbps     %.1f (2 x %.0f MHz x %d bits / 8, from the "
           "driver; PCI device 0x%04x is not in the table)\n",
           g, khz / 1e3, bits, id);
    return g;
  }
  printf("  theoretical_gbps     unknown: PCI device 0x%04x (%s) is not in the "
         "table and %s\n",
         id, name, why);
  return 0;
}

static int bench_gpu(const char *bus, const struct opts *o) {
  char name[256] = "";
  double membw = 0, memcpy_gbps = 0, memtest = 0;
  printf("gpu %s\n", bus);
  int status = run_membw(bus, o, &membw, &memcpy_gbps, name, sizeof name);
  if (status != OK)
    return status;
  printf("  model                %s\n", name);
  int mt = run_memtest(bus, o, &memtest);
  double peak = theoretical(bus, name);
  if (peak > 0)
    target("membw/theoretical", membw / peak, TARGET_PEAK, &status);
  else
    printf("  %-20s not judged: no theoretical bandwidth\n",
           "membw/theoretical");
  target("membw/memcpy", memcpy_gbps > 0 ? membw / memcpy_gbps : 0,
         TARGET_MEMCPY, &status);
  if (mt == OK)
    target("memtest/membw", membw > 0 ? memtest / membw : 0, TARGET_MEMTEST,
           &status);
  if (status == OK && (mt != OK || !(peak > 0)))
    status = NOT_RUN;
  return status;
}

#endif

static void usage(void) {
  fprintf(stderr, "usage: gpu_mem_bench [--gpu BUS]... [--copies N] "
                  "[--memtest-seconds S]\n");
}

int main(int argc, char **argv) {
  struct opts o = {.copies = 20, .memtest_seconds = 3};
  static char buses[MAX_GPUS][16];
  size_t n = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--gpu") == 0 && i + 1 < argc && n < MAX_GPUS) {
      snprintf(buses[n++], sizeof buses[0], "%.15s", argv[++i]);
    } else if (strcmp(argv[i], "--copies") == 0 && i + 1 < argc) {
      o.copies = strtol(argv[++i], NULL, 10);
    } else if (strcmp(argv[i], "--memtest-seconds") == 0 && i + 1 < argc) {
      o.memtest_seconds = strtod(argv[++i], NULL);
    } else {
      usage();
      return 2;
    }
  }
  if (o.copies < 1 || !(o.memtest_seconds >= 0)) {
    usage();
    return 2;
  }
#if !KILN_HAVE_CUDA
  (void)buses;
  (void)target;
  printf("gpu.membw/gpu.memtest: SKIP (built without CUDA)\n");
  return 0;
#else
  if (n == 0)
    n = kiln_gpu_enumerate(buses, MAX_GPUS);
  if (n == 0) {
    printf("gpu.membw/gpu.memtest: SKIP (no NVIDIA GPU found on the PCI "
           "bus)\n");
    return 0;
  }
  int worst = OK;
  size_t skipped = 0;
  for (size_t i = 0; i < n; i++) {
    int s = bench_gpu(buses[i], &o);
    if (s == SKIPPED)
      skipped++;
    else if (s == MISSED || (s == NOT_RUN && worst == OK))
      worst = s;
  }
  if (skipped == n) {
    printf("gpu.membw/gpu.memtest: SKIP (no usable CUDA device)\n");
    return 0;
  }
  printf("gpu.membw/gpu.memtest: %s\n", worst == OK ? "all targets met"
                                        : worst == MISSED
                                            ? "some targets missed"
                                            : "could not run everything");
  return worst;
#endif
}
