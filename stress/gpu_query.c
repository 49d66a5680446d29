/* gpu.query: each GPU answers the CUDA runtime and runs a check kernel.
 * The trivial GPU module that proves the CUDA build path; the real GPU
 * stress modules build on the same layout (host .c + kernels in .cu). */
#include <stdio.h>
#include <string.h>

#include "gpu.h"
#include "kiln/gpu_access.h"
#include "kiln/gpu_enum.h"
#include "kiln/module.h"
#include "kiln/result.h"
#include "kiln/step.h"

static bool gpu_query_available(char *why, size_t n) {
  return kiln_cuda_gpus_available(why, n);
}

static void gpu_query_run(struct kiln_step *s) {
#if KILN_HAVE_CUDA
  struct kiln_gpu_info info;
  char why[512];
  const char *bus = kiln_step_target(s);
  int rc = kiln_cuda_query(bus, &info, why, sizeof why);
  if (rc == 1) {
    kiln_step_error(s, "GPU %s: %s", bus, why);
    return;
  }
  if (rc == -1) {
    kiln_step_error(s, "%s", why);
    return;
  }
  if (rc == -2) {
    kiln_emit_diagnosis(s, KILN_DIAG_FAIL, "gpu-kernel-miscompare", bus,
                        "GPU %s (%s): %s", bus, info.name, why);
    return;
  }
  kiln_emit_log(s, KILN_SEV_INFO,
                "GPU %s: %s, compute capability %d.%d, %d SMs, driver %d, "
                "runtime %d",
                bus, info.name, info.cc_major, info.cc_minor, info.sm_count,
                info.driver_version, info.runtime_version);
  kiln_emit_measurement(s, "memory_total_gib", info.mem_total_gib, bus);
  kiln_emit_measurement(s, "memory_free_gib", info.mem_free_gib, bus);
  kiln_emit_measurement(s, "sm_count", info.sm_count, bus);
  kiln_emit_measurement(s, "kernel_ms", info.kernel_ms, bus);
  kiln_emit_progress(s, 1.0);
#else
  /* Planned only for a GPU on the bus, which this build cannot drive. */
  kiln_step_error(s, "this kiln was built without CUDA");
#endif
}

static const struct kiln_measurement_spec gpu_query_measurements[] = {
    {"memory_total_gib", "GiB", "device memory the runtime reports"},
    {"memory_free_gib", "GiB", "free device memory"},
    {"sm_count", "SMs", "streaming multiprocessors"},
    {"kernel_ms", "ms", "round trip of the check kernel"},
    {NULL, NULL, NULL},
};

static const struct kiln_param_spec gpu_query_params[] = {{0}};

const struct kiln_module kiln_module_gpu_query = {
    .name = "gpu.query",
    .summary = "each GPU answers CUDA and runs a check kernel",
    .targets = KILN_TARGETS_GPU,
    .gpu_needs = KILN_GPU_NEEDS_DRIVER | KILN_GPU_NEEDS_CUDA,
    .stress = false,
    .params = gpu_query_params,
    .measurements = gpu_query_measurements,
    .available = gpu_query_available,
    .run = gpu_query_run,
};
