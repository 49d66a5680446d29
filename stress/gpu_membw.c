/* gpu.membw: device memory bandwidth over most of a GPU's free memory.
 *
 * Two equal buffers (together `mem` of free memory, 90% by default); a
 * copy kernel with 16-byte loads and stores moves one into the other,
 * alternating direction, each launch timed with CUDA events. The rate of
 * a launch is bytes read plus written over its time; `bandwidth_gbps` is
 * the median launch (robust against the first, cold one and a stray slow
 * one), and the profile's SKU limit sets its floor. The step copies until
 * its deadline (at least `min_copies`), then checks that the data arrived
 * unchanged: a wrong word is a FAIL with its device address. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_mem.h"
#include "gpu_patterns.h"
#include "kiln/gpu_access.h"
#include "kiln/gpu_enum.h"
#include "kiln/module.h"
#include "kiln/result.h"
#include "kiln/step.h"
#include "kiln/textutil.h"

static bool gpu_membw_available(char *why, size_t n) {
  return kiln_cuda_gpus_available(why, n);
}

#if KILN_HAVE_CUDA

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void gpu_membw_run(struct kiln_step *s) {
  const char *bus = kiln_step_target(s);
  double share;
  long min_copies, seed;
  if (!kiln_step_param_share(s, "mem", &share) ||
      !kiln_step_param_long(s, "min_copies", &min_copies) ||
      !kiln_step_param_long(s, "seed", &seed))
    return;
  if (min_copies < 2) {
    kiln_step_error(s, "parameter min_copies = %ld is below 2", min_copies);
    return;
  }
  char why[512];
  struct kiln_gpu_mem_info info;
  struct kiln_gpubw *h = NULL;
  kiln_emit_progress(s, 0);
  int rc =
      kiln_gpubw_open(bus, share, (uint64_t)seed, &h, &info, why, sizeof why);
  if (rc != 0) {
    kiln_step_error(s, "GPU %s: %s", bus, why);
    return;
  }
  kiln_emit_log(s, KILN_SEV_INFO,
                "GPU %s (%s): copying between 2 x %llu MiB (%.0f%% of %llu "
                "MiB free)",
                bus, info.name, (unsigned long long)(info.bytes >> 21),
                share * 100, (unsigned long long)(info.free_bytes >> 20));
  size_t cap = 1024, nrates = 0;
  double *rates = kiln_xcalloc(cap, sizeof *rates);
  double d = kiln_step_duration(s), start = kiln_monotonic_now(), last = start,
         moved = 0, gpu_ms = 0;
  while (nrates < (size_t)min_copies || kiln_step_time_left(s)) {
    double bytes, ms;
    if (kiln_gpubw_copy(h, &bytes, &ms, why, sizeof why)) {
      kiln_step_error(s, "GPU %s: %s", bus, why);
      break;
    }
    if (nrates == cap) {
      double *r = kiln_xcalloc(cap * 2, sizeof *r);
      memcpy(r, rates, cap * sizeof *r);
      free(rates);
      rates = r;
      cap *= 2;
    }
    rates[nrates++] = ms > 0 ? bytes / (ms / 1e3) / 1e9 : 0;
    kiln_emit_running(s, "bandwidth_gbps", rates[nrates - 1], bus);
    moved += bytes;
    gpu_ms += ms;
    double now = kiln_monotonic_now();
    if (now - last >= 0.25) {
      double f = d > 0 ? (now - start) / d : 1;
      kiln_emit_progress(s, f > 1 ? 1 : f);
      last = now;
    }
  }
  if (!kiln_step_ended(s)) {
    uint64_t errors = 0, addr = 0;
    struct gpat_error first;
    if (kiln_gpubw_verify(h, &errors, &first, &addr, why, sizeof why)) {
      kiln_step_error(s, "GPU %s: %s", bus, why);
    } else {
      if (errors) {
        uint64_t x = first.expected ^ first.actual;
        int bits = __builtin_popcountll(x);
        kiln_emit_diagnosis(
            s, KILN_DIAG_FAIL, "gpu-memory-miscompare", bus,
            "GPU %s (%s): after %zu copies, word at device address 0x%llx "
            "read 0x%016llx, expected 0x%016llx (xor 0x%016llx, %d bit%s); "
            "%llu wrong words in all",
            bus, info.name, nrates, (unsigned long long)addr,
            (unsigned long long)first.actual,
            (unsigned long long)first.expected, (unsigned long long)x, bits,
            bits == 1 ? "" : "s", (unsigned long long)errors);
      }
      qsort(rates, nrates, sizeof *rates, cmp_double);
      double median = rates[nrates / 2];
      kiln_emit_measurement(s, "bandwidth_gbps", median, bus);
      kiln_emit_measurement(s, "tested_bytes", (double)info.bytes, bus);
      kiln_emit_measurement(s, "errors", (double)errors, bus);
      kiln_emit_log(s, KILN_SEV_INFO,
                    "GPU %s: %zu copies, %.1f GB moved in %.3f s of kernel "
                    "time; per copy min %.1f, median %.1f, max %.1f GB/s",
                    bus, nrates, moved / 1e9, gpu_ms / 1e3, rates[0], median,
                    rates[nrates - 1]);
      kiln_emit_progress(s, 1.0);
    }
  }
  free(rates);
  kiln_gpubw_close(h);
}

#else

static void gpu_membw_run(struct kiln_step *s) {
  /* Planned only for a GPU on the bus, which this build cannot drive. */
  kiln_step_error(s, "this kiln was built without CUDA");
}

#endif

static const struct kiln_param_spec params[] = {
    {"mem", "90%",
     "share of the GPU's free memory for the two copy buffers (90%, 0.9)",
     .kind = KILN_PARAM_SHARE},
    {"min_copies", "20", "timed copies at least, however short the step",
     .kind = KILN_PARAM_INTEGER, .min = 2, .max = INFINITY},
    {"seed", "1", "seed of the data copied", .kind = KILN_PARAM_INTEGER},
    {0},
};

static const struct kiln_measurement_spec measurements[] = {
    {"bandwidth_gbps", "GB/s",
     "device memory bytes read plus written per second (median copy); set "
     "bandwidth_gbps.min from the SKU"},
    {"tested_bytes", "B", "device memory the copies span"},
    {"errors", "", "words the copies did not move intact"},
    {NULL, NULL, NULL},
};

const struct kiln_module kiln_module_gpu_membw = {
    .name = "gpu.membw",
    .summary = "device memory bandwidth of each GPU (copy kernel over most "
               "of free memory)",
    .targets = KILN_TARGETS_GPU,
    .gpu_needs = KILN_GPU_NEEDS_DRIVER | KILN_GPU_NEEDS_CUDA,
    .stress = true,
    .params = params,
    .measurements = measurements,
    .key_measurement = "bandwidth_gbps",
    .available = gpu_membw_available,
    .run = gpu_membw_run,
};
